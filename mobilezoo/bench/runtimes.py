"""Benchmark a model in one runtime: export (verified), load, first run, timed runs, peak memory.

Runtimes: eager (PyTorch), torchscript, ptl (lite interpreter), onnxruntime, executorch, tflite.
Each applies the requested thread count in its own way and reports the count it really used.
"""

from __future__ import annotations

import datetime as dt
import platform
import resource
import tempfile
import time
from dataclasses import dataclass, fields
from importlib import metadata
from typing import Any, Callable

import torch
from torch import nn

from ..errors import InvalidInputError
from .timing import LatencyStats, measure

from ..export.formats import RUNTIMES


@dataclass
class Prepared:
    run: Callable[[], Any]
    load_seconds: float
    threads_used: int


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def host_cpu() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _set_torch_threads(threads: int) -> int:
    torch.set_num_threads(threads)
    return torch.get_num_threads()


def prepare(runtime: str, model: nn.Module, x: torch.Tensor, threads: int, work_dir: str, export_kwargs: dict) -> Prepared:
    """Export (if needed) and load the model for ``runtime``; returns a zero-argument runner."""
    if runtime not in RUNTIMES:
        raise InvalidInputError(f"unknown runtime '{runtime}'; use one of {', '.join(RUNTIMES)} or all")
    if runtime == "eager":
        used = _set_torch_threads(threads)
        started = time.perf_counter()
        model.eval()

        def run_eager() -> Any:
            with torch.no_grad():
                return model(x)

        return Prepared(run_eager, time.perf_counter() - started, used)
    from ..export import export
    from ..export.api import open_artifact

    fmt = RUNTIMES[runtime]
    batch = "dynamic" if fmt.dynamic_batch else x.shape[0]
    result = export(model, fmt.name, work_dir, input_size=tuple(x.shape[1:]), batch=batch, threads=threads, seed=0,
                    **export_kwargs)
    used = fmt.apply_threads(threads)
    started = time.perf_counter()
    runner = open_artifact(result.path, fmt.name, threads, dynamic_batch=batch == "dynamic")
    load_seconds = time.perf_counter() - started
    return Prepared(lambda: runner(x), load_seconds, used)


def benchmark(
    model: nn.Module,
    runtime: str,
    input_shape: tuple[int, ...],
    threads: int = 1,
    batch: int = 1,
    warmup: int = 10,
    iters: int = 50,
    name: str = "",
    macs: int | None = None,
    params: int | None = None,
    int8: bool = False,
) -> dict[str, Any]:
    """One JSON-able record: load and first-inference time, latency statistics, peak RSS, context."""
    x = torch.randn((batch, *input_shape), generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as work:
        prepared = prepare(runtime, model, x, threads, work, {"int8": int8} if int8 else {})
        started = time.perf_counter()
        prepared.run()
        first_ms = (time.perf_counter() - started) * 1e3
        stats: LatencyStats = measure(prepared.run, warmup=warmup, iters=iters)
    record = BenchRecord(
        model=name or getattr(model, "pretrained_cfg", {}).get("architecture", type(model).__name__),
        weights=getattr(getattr(model, "pretrained_cfg", None), "weights", "unknown (not a zoo model)"),
        runtime=runtime,
        format=RUNTIMES[runtime].name if RUNTIMES[runtime] else "pytorch",
        precision="int8" if int8 else "fp32",
        runtime_version=_version(RUNTIMES[runtime].runtime_package if RUNTIMES[runtime] else "torch"),
        threads_requested=threads,
        threads_used=prepared.threads_used,
        input_shape=[batch, *input_shape],
        macs=macs,
        params=params,
        load_ms=round(prepared.load_seconds * 1e3, 3),
        first_ms=round(first_ms, 3),
        warmup=warmup,
        stats=stats,
        # achieved arithmetic rate: 2 FLOPs per multiply-add, the whole batch, at the median latency
        gflops_per_s=round(2 * macs * batch / (stats.p50_ms * 1e-3) / 1e9, 3) if macs else None,
        peak_rss_mb=round(peak_rss_mb(), 1),
        host_cpu=host_cpu(),
        host={"machine": platform.machine(), "system": platform.platform(), "python": platform.python_version()},
        date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    return record.to_dict()


@dataclass
class BenchRecord:
    """One benchmark measurement: what ran where, its load and first-inference times, the latency statistics, the
    achieved rate and the machine. ``to_dict`` is the JSON record (``RECORD_KEYS`` order, the statistics inline)."""

    model: str
    weights: Any  # the model's WeightsSource (a str), or a note for a model that is not the zoo's
    runtime: str
    format: str
    precision: str
    runtime_version: str
    threads_requested: int
    threads_used: int
    input_shape: list[int]
    macs: int | None
    params: int | None
    load_ms: float
    first_ms: float
    warmup: int
    stats: LatencyStats
    gflops_per_s: float | None
    peak_rss_mb: float
    host_cpu: str
    host: dict[str, str]
    date: str

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "stats":
                data.update(value.to_dict())  # iters, mean_ms ... max_ms, where the record has always had them
            else:
                data[item.name] = value
        return data


#: the keys of a bench record, in order
RECORD_KEYS = tuple(key for item in fields(BenchRecord)
                    for key in ([f.name for f in fields(LatencyStats)] if item.name == "stats" else [item.name]))

"""Time one module (a block or a whole network) in a deployment runtime, as the latency table needs it.

The table measures hundreds of small blocks, so this path is lean: no verification, no manifest. ONNX Runtime
gets the legacy TorchScript exporter (~50x faster than torch.export for small blocks) and the same exact
channel padding ``mobilezoo export`` applies; ExecuTorch and LiteRT go through their export format classes
(:mod:`mobilezoo.export.formats`), so a table predicts what the exported artifact runs like.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from ..errors import InvalidInputError
from .timing import measure

#: runtimes a latency table can be built for (names as in ``mobilezoo bench --runtime``)
TABLE_RUNTIMES = ("onnxruntime", "executorch", "tflite")


def check_table_runtime(runtime: str) -> str:
    if runtime not in TABLE_RUNTIMES:
        raise InvalidInputError(f"latency tables are built for {', '.join(TABLE_RUNTIMES)}, not '{runtime}'; "
                                f"pass --runtime with one of them")
    return runtime


def _onnxruntime_runner(module: nn.Module, x: torch.Tensor, threads: int) -> Callable[[], Any]:
    import onnxruntime as ort

    from ..export.channel_padding import PAD_MULTIPLE, pad_channels

    buffer = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(pad_channels(module.eval(), PAD_MULTIPLE, x), (x,), buffer, dynamo=False, input_names=["x"],
                          opset_version=17)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    return lambda: session.run(None, feed)


def _format_runner(runtime: str, module: nn.Module, x: torch.Tensor, threads: int) -> Callable[[], Any]:
    from ..export.format_base import ExportContext
    from ..export.formats import RUNTIMES

    fmt = RUNTIMES[runtime]
    fmt.require()
    ctx = ExportContext(fmt, dynamic_batch=False, cfg=None, threads=threads)
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"block{fmt.suffix}"
        fmt.export(module.eval(), x, path, ctx)
        fmt.apply_threads(threads)
        run = fmt.load_runner(path, ctx)  # the runtimes read the file when it is opened
    return lambda: run(x)


def runtime_runner(runtime: str, module: nn.Module, x: torch.Tensor, threads: int = 1) -> Callable[[], Any]:
    """A zero-argument callable running ``module`` on ``x`` in ``runtime``."""
    check_table_runtime(runtime)
    if runtime == "onnxruntime":
        return _onnxruntime_runner(module, x, threads)
    return _format_runner(runtime, module, x, threads)


#: timed rounds per measurement; the quietest round's median is kept (see measure_in_runtime)
ROUNDS = 5


def measure_in_runtime(module: nn.Module, input_shape: tuple[int, ...], runtime: str = "onnxruntime", threads: int = 1,
                       warmup: int = 10, iters: int = 40, rounds: int = ROUNDS) -> float:
    """Latency (ms) of ``module`` in ``runtime`` on a seeded random input of ``input_shape``.

    ``rounds`` rounds of ``iters`` calls each; the lowest round median is returned. A shared machine (a VM, a
    phone's other apps) slows some rounds for a few milliseconds at a time; one such burst moved a held-out
    network's single-round median 2x (1.56 vs 0.72 ms) and alone cost the ExecuTorch table 0.07 Spearman. The
    table's blocks and the networks it is validated on use the same estimator.
    """
    x = torch.randn(input_shape, generator=torch.Generator().manual_seed(0))
    run = runtime_runner(runtime, module, x, threads)
    medians = [measure(run, warmup=warmup if r == 0 else 0, iters=iters).p50_ms for r in range(max(1, rounds))]
    return min(medians)


def measure_interleaved(runs: Mapping[str, Callable[[], Any]], passes: int = 7, warmup: int = 10, iters: int = 40,
                        clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Latency (ms) of several prepared runners, each the lowest of its ``passes`` round medians, rounds interleaved.

    :func:`measure_in_runtime` takes its rounds back to back, so a burst on a shared machine lasting longer than
    its five rounds (seconds) slows every one of them: in the search_pareto study one network measured 0.155 ms
    once and 0.096 ms later. Here each pass runs one round of every network in turn, so a burst covers a few
    networks' rounds in one pass and the other passes, spread over the whole run, still see the quiet machine.
    """
    if passes < 1 or iters < 1:
        raise InvalidInputError(f"passes and iters must be >= 1, got {passes} and {iters}")
    for run in runs.values():
        for _ in range(warmup):
            run()
    best = {name: float("inf") for name in runs}
    for _ in range(passes):
        for name, run in runs.items():
            best[name] = min(best[name], measure(run, warmup=0, iters=iters, clock=clock).p50_ms)
    return best

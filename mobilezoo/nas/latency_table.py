"""FBNet-style latency lookup table: measure each distinct block once, predict a network as the sum.

A block is keyed by everything that sets its cost: op, input shape, channels, stride, expansion,
kernel, activation, SE, and the builder options that change its layers. A table belongs to one runtime
(ONNX Runtime, ExecuTorch or LiteRT) and thread count. Each block runs as its own program in that
runtime, so every entry includes one call's overhead; the table stores that overhead (measured on a
near-empty graph) and a prediction counts it once: ``overhead + sum(entry - overhead)``. Used as the
latency cost of architecture search.

A block run as its own program also pays for what the near-empty graph does not show (its input and output
crossing the program boundary, a cold start on each call), and a runtime may run a whole network's kernels
faster or slower than one at a time. A table can carry a :class:`Calibration` fitted on whole networks:
each block then costs ``scale * (entry - overhead) + shift``. The fit uses networks of its own, never the ones
a table is validated on (benchmarks/lut_validation.py). Below the smallest network it was fitted on, a whole
network's prediction fades from the calibrated one to the exact sum (:meth:`Calibration.weight`): a per-block
shift fitted on ~1 ms networks can otherwise predict a 0.04 ms network below zero.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

from ..errors import MobileZooError
from ..fileio import write_json_atomic
from ..bench.block_timing import check_table_runtime, measure_in_runtime


class LatencyLookupError(MobileZooError):
    """The table has no entry for a block of the network."""


@dataclass
class Block:
    name: str
    key: str
    module: nn.Module
    input_shape: tuple[int, ...]


def block_key(module: nn.Module, input_shape: tuple[int, ...], spec: Any | None = None, options: dict | None = None) -> str:
    """A stable description of a block's cost-relevant configuration."""
    shape = "x".join(str(s) for s in input_shape[1:])
    if spec is not None:
        opts = options or {}
        return (f"{spec.op}|in{shape}|out{spec.out_channels}|s{spec.stride}|e{spec.expansion:g}"
                f"|div{opts.get('width_divisor', 8)}|bias{int(bool(opts.get('bias')))}"
                f"|lse{int(bool(opts.get('less_se_channels')))}|pad{spec.dw_padding}")
    return f"{type(module).__name__}|in{shape}"


class _WholeBlock(nn.Module):
    """An ``ir_pool`` block as one unit (expand, pool, 1x1 conv), as the table keys it."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block.whole(x)


def fbnet_blocks(model: nn.Module, input_size: tuple[int, ...]) -> list[Block]:
    """The blocks of an FBNet-family model (each backbone block, then the classifier head)."""
    from ..models.fbnet import FBNet, IRPoolBlock

    if not isinstance(model, FBNet):
        raise MobileZooError(f"latency tables cover FBNet-family models; {type(model).__name__} is not one")
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [module.register_forward_pre_hook(lambda m, a, n=name: shapes.__setitem__(n, tuple(a[0].shape)))
             for name, module in model.backbone.stages.named_children()]
    # the classifier head's input: after the pooled head's block (ir_pool) when there is one
    hooks.append(model.head.avg_pool.register_forward_pre_hook(lambda m, a: shapes.__setitem__("head", tuple(a[0].shape))))
    model.eval()
    with torch.no_grad():
        model(torch.zeros((1, *input_size)))
    for hook in hooks:
        hook.remove()
    options = getattr(model, "options", {})
    blocks = []
    for spec in model.blocks_spec:
        module = model.backbone.stages.get_submodule(spec.name)
        if isinstance(module, IRPoolBlock):
            module = _WholeBlock(module)  # its pool and last conv run in the model's head; time them with it
        blocks.append(Block(spec.name, block_key(module, shapes[spec.name], spec, options), module, shapes[spec.name]))
    head_key = f"head|in{'x'.join(map(str, shapes['head'][1:]))}|classes{model.num_classes}"
    blocks.append(Block("head", head_key, model.head, shapes["head"]))
    return blocks


class _Overhead(nn.Module):
    """A near-empty graph: one tiny 1x1 conv, so its latency is the cost of one call into the runtime, including
    entering its accelerated kernels (ExecuTorch runs a graph with no convolution outside XNNPACK)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@dataclass(frozen=True)
class Calibration:
    """Each block costs ``scale * (entry - overhead) + shift_ms``; the default (fitted on no network) is exact sums."""

    scale: float = 1.0
    shift_ms: float = 0.0
    networks: int = 0  # whole networks the fit used (0: not calibrated)
    min_block_sum_ms: float = 0.0  # the smallest fit network's sum of (entry - overhead); 0: not recorded

    def weight(self, block_sum_ms: Any) -> Any:
        """How much of the calibration a network with this block sum gets: 1 inside the fit's range, falling
        linearly to 0 (the exact sum) below the smallest network fitted, where the fit says nothing. A tensor of
        sums gets a tensor of weights (differentiable: a search's expected latency goes through it)."""
        if self.min_block_sum_ms <= 0:
            return 1.0
        if isinstance(block_sum_ms, torch.Tensor):
            return torch.clamp(block_sum_ms / self.min_block_sum_ms, 0.0, 1.0)
        return min(1.0, max(0.0, block_sum_ms / self.min_block_sum_ms))

    def apply(self, share_ms: float) -> float:
        """A block's calibrated share from its exact one (entry - overhead)."""
        return self.scale * share_ms + self.shift_ms

    @classmethod
    def fit(cls, block_sums_ms: Iterable[float], block_counts: Iterable[int], excess_ms: Iterable[float]) -> "Calibration":
        """Least squares in relative error: ``excess ~ scale * block_sum + shift * block_count``.

        ``block_sums_ms``: each network's sum of (entry - overhead); ``excess_ms``: its measured time - overhead.
        """
        sums, counts, excess = (np.asarray(list(v), float) for v in (block_sums_ms, block_counts, excess_ms))
        if len(excess) < 3:
            raise MobileZooError(f"a calibration needs at least 3 measured networks, got {len(excess)}")
        weight = 1.0 / excess  # every network's relative error counts alike, not the slow ones' milliseconds
        (scale, shift), *_ = np.linalg.lstsq(np.stack([sums, counts], 1) * weight[:, None], excess * weight, rcond=None)
        if not scale > 0:
            raise MobileZooError(f"calibration fit gave scale {scale:.3g}: the networks' times do not grow with their "
                                 "blocks' (measure them again on an idle machine)")
        return cls(float(scale), float(shift), int(len(excess)), float(sums.min()))


@dataclass
class LatencyTable:
    runtime: str = "onnxruntime"
    threads: int = 1
    host_cpu: str = ""
    overhead_ms: float = 0.0
    entries: dict[str, float] = field(default_factory=dict)
    calibration: Calibration = field(default_factory=Calibration)

    def exact_share(self, key: str) -> float:
        """One block's entry less the call overhead (ms), never below 0: a block cannot take less than nothing, and an
        entry under the overhead is timing noise (a tiny block measured while the overhead's run was slowed)."""
        return max(0.0, self.entries[key] - self.overhead_ms)

    def block_ms(self, key: str) -> float:
        """One block's share of a network's latency (ms): its exact share, calibrated (inside the calibration's
        range; search cost tables sum these, see :meth:`predict` for a network below the range)."""
        return self.calibration.apply(self.exact_share(key))

    def exact_shares(self, blocks: Iterable[Block], model: str = "NAME", path: str = "FILE") -> list[float]:
        """Each block's exact share (:meth:`exact_share`), uncalibrated; a missing block is an error naming a fix."""
        shares = []
        for block in blocks:
            if block.key not in self.entries:
                raise LatencyLookupError(
                    f"latency table has no entry for block '{block.name}' ({block.key}); "
                    f"measure it with `mobilezoo latency {model} --lut {path} --build-lut`"
                )
            shares.append(self.exact_share(block.key))
        return shares

    def block_sum(self, blocks: Iterable[Block], model: str = "NAME", path: str = "FILE") -> float:
        """Sum of (entry - overhead) over ``blocks``, uncalibrated."""
        return sum(self.exact_shares(blocks, model, path))

    def block_shares(self, blocks: Iterable[Block], model: str = "NAME", path: str = "FILE") -> list[float]:
        """Each block's share (ms) of the network it belongs to: calibrated, faded towards its exact share when the
        whole network is smaller than any the calibration was fitted on (:meth:`Calibration.weight`)."""
        exact = self.exact_shares(blocks, model, path)
        weight = self.calibration.weight(sum(exact))
        return [weight * self.calibration.apply(r) + (1.0 - weight) * r for r in exact]

    def predict(self, blocks: Iterable[Block], model: str = "NAME", path: str = "FILE") -> float:
        """Predicted latency (ms): the overhead once, plus every block's share (:meth:`block_shares`)."""
        return self.overhead_ms + sum(self.block_shares(blocks, model, path))

    def calibrate(self, networks: Iterable[list[Block]], measured_ms: Iterable[float]) -> Calibration:
        """Fit (and keep) the calibration on whole networks' measured latencies; returns it."""
        networks = [list(blocks) for blocks in networks]
        measured = list(measured_ms)
        self.calibration = Calibration.fit([self.block_sum(b) for b in networks], [len(b) for b in networks],
                                           [m - self.overhead_ms for m in measured])
        return self.calibration

    def __post_init__(self) -> None:
        check_table_runtime(self.runtime)

    def add(self, blocks: Iterable[Block], warmup: int = 10, iters: int = 40, progress: Any = None) -> int:
        """Measure every block whose key is not in the table yet; returns how many were measured."""
        if not self.entries and not self.overhead_ms:
            self.overhead_ms = measure_in_runtime(_Overhead(), (1, 8, 1, 1), self.runtime, self.threads, warmup, iters * 2)
        measured = 0
        for block in blocks:
            if block.key in self.entries:
                continue
            self.entries[block.key] = measure_in_runtime(block.module, block.input_shape, self.runtime, self.threads,
                                                         warmup, iters)
            measured += 1
            if progress is not None:
                progress(block)
        return measured

    def save(self, path: str | os.PathLike) -> None:
        write_json_atomic(path, {"runtime": self.runtime, "threads": self.threads, "host_cpu": self.host_cpu,
                                 "overhead_ms": self.overhead_ms, "calibration": dataclasses.asdict(self.calibration),
                                 "entries": dict(sorted(self.entries.items()))})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LatencyTable":
        """Read a table saved by :meth:`save`; every field is checked (type, finite, in range) so a hostile or
        damaged file is a one-line error naming the file and the field, never a NaN or negative prediction."""
        from ..fileio import read_json_file

        if not os.path.lexists(path):
            raise LatencyLookupError(f"latency table '{path}' does not exist; build one with --build-lut")
        data = read_json_file(path, "latency table", LatencyLookupError)
        fields = _TableFields(path, data)
        calibration = fields.mapping("calibration", optional=True)  # tables saved before calibrations: exact sums
        table = cls(fields.text("runtime"), fields.count("threads", 1, 1024), fields.text("host_cpu", optional=True),
                    fields.number("overhead_ms", 0.0, MAX_TABLE_MS),
                    {key: fields.number(f"entries.{key}", 0.0, MAX_TABLE_MS, value)
                     for key, value in fields.mapping("entries").items()},
                    Calibration(fields.number("calibration.scale", 1e-3, 1e3, calibration.get("scale", 1.0)),
                                fields.number("calibration.shift_ms", -MAX_TABLE_MS, MAX_TABLE_MS, calibration.get("shift_ms", 0.0)),
                                fields.count("calibration.networks", 0, 10**6, calibration.get("networks", 0)),
                                fields.number("calibration.min_block_sum_ms", 0.0, MAX_TABLE_MS,
                                              calibration.get("min_block_sum_ms", 0.0))))
        return table


#: no block or network of a phone model takes longer than this (ms); larger values are damage, not data
MAX_TABLE_MS = 1e6


class _TableFields:
    """Typed reads of a latency table's JSON with one-line errors naming the file and the field."""

    _MISSING = object()

    def __init__(self, path: str | os.PathLike, data: Any) -> None:
        self.path, self.data = path, data
        if not isinstance(data, dict):
            self.fail("top level", f"must be a JSON object, got {type(data).__name__}")

    def fail(self, field: str, problem: str) -> None:
        raise LatencyLookupError(f"latency table '{self.path}': {field} {problem}; rebuild it with --build-lut")

    def _get(self, key: str, value: Any, optional: bool = False) -> Any:
        if value is self._MISSING:
            value = self.data.get(key, self._MISSING)
        if value is self._MISSING and not optional:
            self.fail(key, "is missing")
        return value

    def text(self, key: str, optional: bool = False) -> str:
        value = self._get(key, self._MISSING, optional)
        if value is self._MISSING:
            return ""
        if not isinstance(value, str) or len(value) > 1000:
            self.fail(key, f"must be a short text, got {type(value).__name__}")
        return value

    def mapping(self, key: str, optional: bool = False) -> dict[str, Any]:
        value = self._get(key, self._MISSING, optional)
        if value is self._MISSING or (optional and value is None):
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be an object, got {type(value).__name__}")
        return value

    def number(self, key: str, low: float, high: float, value: Any = _MISSING) -> float:
        value = self._get(key, value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(key, f"must be a finite number, got {value!r}"[:200])
        if not low <= value <= high:
            self.fail(key, f"must be in [{low:g}, {high:g}], got {value!r}")
        return float(value)

    def count(self, key: str, low: int, high: int, value: Any = _MISSING) -> int:
        value = self._get(key, value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"must be a whole number in [{low}, {high}], got {value!r}"[:200])
        return value


def spearman(a: Iterable[float], b: Iterable[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""

    def ranks(values: np.ndarray) -> np.ndarray:
        order = values.argsort()
        result = np.empty(len(values))
        result[order] = np.arange(len(values))
        for value in np.unique(values):  # average the ranks of tied values
            tied = values == value
            result[tied] = result[tied].mean()
        return result

    x, y = ranks(np.asarray(list(a), float)), ranks(np.asarray(list(b), float))
    return float(np.corrcoef(x, y)[0, 1])


def prediction_quality(predicted: list[float], measured: list[float]) -> dict[str, float]:
    """Spearman, RMSPE (%) and the share of networks predicted within +-10%."""
    p, m = np.asarray(predicted), np.asarray(measured)
    errors = (p - m) / m
    return {"spearman": spearman(p, m), "rmspe_pct": float(np.sqrt(np.mean(errors**2)) * 100),
            "within_10pct": float(np.mean(np.abs(errors) <= 0.10)), "networks": int(len(m))}

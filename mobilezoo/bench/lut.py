"""FBNet-style latency lookup table: measure each distinct block once, predict a network as the sum.

A block is keyed by everything that sets its cost: op, input shape, channels, stride, expansion,
kernel, activation, SE, and the builder options that change its layers. Each block runs as its own
ONNX Runtime session, so every entry includes one session call's overhead; the table stores that
overhead (measured on a near-empty graph) and a prediction counts it once:
``overhead + sum(entry - overhead)``. Used as the latency cost of architecture search.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

from ..errors import MobileZooError
from ..fileio import write_json_atomic
from .timing import measure


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


def _onnx_session(module: nn.Module, x: torch.Tensor, threads: int):
    import onnxruntime as ort

    buffer = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        # the legacy exporter: ~50x faster than torch.export for the hundreds of small blocks a table needs
        torch.onnx.export(module.eval(), (x,), buffer, dynamo=False, input_names=["x"], opset_version=17)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])


def measure_onnxruntime(module: nn.Module, input_shape: tuple[int, ...], threads: int = 1, warmup: int = 10, iters: int = 40) -> float:
    """Median latency (ms) of ``module`` in ONNX Runtime on a random input of ``input_shape``."""
    x = torch.randn(input_shape, generator=torch.Generator().manual_seed(0))
    session = _onnx_session(module, x, threads)
    feed = {"x": x.numpy()}
    return measure(lambda: session.run(None, feed), warmup=warmup, iters=iters).p50_ms


class _Overhead(nn.Module):
    """A near-empty graph: one tiny op, so its latency is the cost of a session call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1, :1, :1] * 2.0


@dataclass
class LatencyTable:
    runtime: str = "onnxruntime"
    threads: int = 1
    host_cpu: str = ""
    overhead_ms: float = 0.0
    entries: dict[str, float] = field(default_factory=dict)

    def predict(self, blocks: Iterable[Block], model: str = "NAME", path: str = "FILE") -> float:
        """Predicted latency (ms); a missing block is an error whose hint is a command that measures it."""
        total = self.overhead_ms
        for block in blocks:
            if block.key not in self.entries:
                raise LatencyLookupError(
                    f"latency table has no entry for block '{block.name}' ({block.key}); "
                    f"measure it with `mobilezoo latency {model} --lut {path} --build-lut`"
                )
            total += self.entries[block.key] - self.overhead_ms
        return total

    def add(self, blocks: Iterable[Block], warmup: int = 10, iters: int = 40, progress: Any = None) -> int:
        """Measure every block whose key is not in the table yet; returns how many were measured."""
        if not self.entries and not self.overhead_ms:
            self.overhead_ms = measure_onnxruntime(_Overhead(), (1, 8, 8, 8), self.threads, warmup, iters * 2)
        measured = 0
        for block in blocks:
            if block.key in self.entries:
                continue
            self.entries[block.key] = measure_onnxruntime(block.module, block.input_shape, self.threads, warmup, iters)
            measured += 1
            if progress is not None:
                progress(block)
        return measured

    def save(self, path: str | os.PathLike) -> None:
        write_json_atomic(path, {"runtime": self.runtime, "threads": self.threads, "host_cpu": self.host_cpu,
                                 "overhead_ms": self.overhead_ms, "entries": dict(sorted(self.entries.items()))})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LatencyTable":
        try:
            with open(path) as handle:
                data = json.load(handle)
            return cls(data["runtime"], int(data["threads"]), data.get("host_cpu", ""), float(data["overhead_ms"]),
                       {k: float(v) for k, v in data["entries"].items()})
        except FileNotFoundError:
            raise LatencyLookupError(f"latency table '{path}' does not exist; build one with --build-lut") from None
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
            raise LatencyLookupError(f"'{path}' is not a latency table ({type(exc).__name__}: {exc})") from None


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

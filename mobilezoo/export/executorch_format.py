"""ExecuTorch (.pte): torch.export -> XNNPACK partitioner -> program; verified in executorch.runtime.

int8 uses the PT2E flow with ExecuTorch's XNNPACK quantizer (symmetric, per-channel weights),
calibrated on real samples.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..quiet import native_stderr_filtered, quiet_third_party_logs
from .format_base import ExportContext, ExportFormat, Runner


@contextlib.contextmanager
def _quiet():
    logging.getLogger("torch").setLevel(logging.ERROR)
    quiet_third_party_logs()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), native_stderr_filtered():
        warnings.simplefilter("ignore")
        yield


def _quantized(model: nn.Module, example: torch.Tensor, ctx: ExportContext) -> nn.Module:
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    graph = torch.export.export(model, (example,)).module()
    quantizer = XNNPACKQuantizer()
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        for sample in ctx.calibration:
            prepared(sample[None].expand(example.shape[0], *sample.shape))
    return convert_pt2e(prepared)


def _export(model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.devtools.backend_debug import get_delegation_info
    from executorch.exir import to_edge_transform_and_lower

    with _quiet():
        source = _quantized(model, example, ctx) if ctx.int8 else model
        program = torch.export.export(source, (example,))
        edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
        delegation = get_delegation_info(edge.exported_program().graph_module)
        path.write_bytes(edge.to_executorch().buffer)
    delegated, other = delegation.num_delegated_nodes, delegation.num_non_delegated_nodes
    info: dict[str, Any] = {
        "delegate": "XNNPACK",
        "delegated_nodes": delegated,
        "non_delegated_nodes": other,
        "delegated_share": round(delegated / max(1, delegated + other), 4),
        "delegated_subgraphs": delegation.num_delegated_subgraphs,
    }
    if ctx.int8:
        info["int8"] = {"scheme": "PT2E XNNPACKQuantizer, symmetric, per-channel weights",
                        "calibration_samples": int(ctx.calibration.shape[0])}
    return info


def _open(path: Path, ctx: ExportContext) -> Runner:
    with _quiet():  # the runtime's threadpool probes /sys for an ARM register and logs each miss natively
        from executorch.runtime import Runtime

        method = Runtime.get().load_program(str(path)).load_method("forward")

    def run(x: torch.Tensor) -> np.ndarray:
        return method.execute([x.contiguous()])[0].detach().numpy()

    return run


class ExecuTorchFormat(ExportFormat):
    """An ExecuTorch program, XNNPACK-delegated, run with ``executorch.runtime``; int8 through PT2E."""

    name, suffix, runtime, runtime_name = "executorch", ".pte", "executorch.runtime", "executorch"
    description = "ExecuTorch program, XNNPACK-delegated (Android/iOS)"
    requires, extra, runtime_package = ("executorch",), "executorch", "executorch"
    int8 = True
    unsupported_families = {
        "s3d": "the ExecuTorch pip runtime has no kernels for the 3D pooling operators "
               "aten::max_pool3d_with_indices.out and aten::avg_pool3d.out, so the program would not load",
    }

    def export(self, model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
        return _export(model, example, path, ctx)

    def load_runner(self, path: Path, ctx: ExportContext) -> Runner:
        return _open(path, ctx)

    def apply_threads(self, threads: int) -> int:
        with _quiet():
            from executorch.extension.pybindings import portable_lib

            portable_lib._unsafe_reset_threadpool(threads)
            return int(portable_lib._threadpool_get_thread_count())

"""ONNX export (torch.export based), ONNX Runtime verification, and int8 QDQ static quantization."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .format_base import ExportContext, ExportFormat, Runner


def _export(model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
    fp32_path = path.with_name(path.stem + ".fp32.onnx") if ctx.int8 else path
    dynamic_shapes = ({0: torch.export.Dim("batch", min=1, max=4096)},) if ctx.dynamic_batch else None
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (example,), str(fp32_path), dynamo=True, input_names=[ctx.input_name],
            output_names=[ctx.output_name], dynamic_shapes=dynamic_shapes, opset_version=ctx.opset,
            external_data=False, verbose=False,
        )
    import onnx

    proto = onnx.load(str(fp32_path))
    onnx.checker.check_model(proto, full_check=True)
    info: dict[str, Any] = {
        "opset": next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None),
        "ir_version": proto.ir_version,
        "checker": "onnx.checker.check_model(full_check=True) passed",
    }
    if ctx.int8:
        info["int8"] = _quantize(fp32_path, path, ctx)
        fp32_path.unlink()
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return info


class _Calibration:
    """ONNX Runtime CalibrationDataReader over real samples, one at a time."""

    def __init__(self, name: str, samples: torch.Tensor) -> None:
        self._items = iter([{name: s[None].numpy()} for s in samples])

    def get_next(self):
        return next(self._items, None)


def _quantize(fp32_path: Path, path: Path, ctx: ExportContext) -> dict[str, Any]:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = fp32_path.with_name(fp32_path.stem + ".prep.onnx")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        quant_pre_process(str(fp32_path), str(prepared))
        quantize_static(
            str(prepared), str(path), _Calibration(ctx.input_name, ctx.calibration),
            quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
        )
    prepared.unlink(missing_ok=True)
    return {"scheme": "ONNX Runtime static QDQ, per-channel int8 weights, uint8 activations, MinMax",
            "calibration_samples": int(ctx.calibration.shape[0])}


def _open(path: Path, ctx: ExportContext) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = ctx.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> np.ndarray:
        return session.run(None, {name: x.numpy()})[0]

    return run


class OnnxFormat(ExportFormat):
    """ONNX through torch.export, checked with onnx.checker and run in ONNX Runtime; int8 as static QDQ.

    fp32 networks whose channel counts are not multiples of 8 are exported with exact zero channel padding
    (:mod:`mobilezoo.export.channel_padding`): ONNX Runtime's blocked conv kernels need it (DMaskingNAS: 2.2x).
    """

    name, suffix, runtime, runtime_name = "onnx", ".onnx", "onnxruntime", "onnxruntime"
    description = "ONNX (torch.export based), checked with onnx.checker and ONNX Runtime"
    requires, extra, runtime_package = ("onnx", "onnxruntime", "onnxscript"), "onnx", "onnxruntime"
    dynamic_batch = int8 = True

    def export(self, model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
        from .channel_padding import PAD_MULTIPLE, needs_padding, pad_channels

        padded = model if ctx.int8 or not needs_padding(model, PAD_MULTIPLE) else pad_channels(model, PAD_MULTIPLE, example)
        if padded is model:
            return _export(model, example, path, ctx)
        info = _export(padded, example, path, ctx)
        info["channel_padding"] = (f"inner channels zero-padded to multiples of {PAD_MULTIPLE} for ONNX Runtime's "
                                   "blocked conv kernels; outputs unchanged (verified below)")
        return info

    def load_runner(self, path: Path, ctx: ExportContext) -> Runner:
        return _open(path, ctx)  # intra_op_num_threads = ctx.threads

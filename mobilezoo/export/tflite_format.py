"""LiteRT / TFLite (.tflite) via litert-torch, verified with the ai_edge_litert Interpreter."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..quiet import native_stderr_filtered
from .format_base import ExportContext, ExportFormat, Runner


def _export(model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_filtered():  # absl I0000 lines from the bundled converter, written by native code
        import litert_torch

    logging.getLogger("absl").setLevel(logging.ERROR)
    with (warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()),
          native_stderr_filtered()):
        warnings.simplefilter("ignore")
        converted = litert_torch.convert(model.eval(), (example,))
        converted.export(str(path))
    return {"converter": "litert_torch.convert", "batch": int(example.shape[0])}


def _open(path: Path, ctx: ExportContext) -> Runner:
    with native_stderr_filtered():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path), num_threads=ctx.threads)
        interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]

    def run(x: torch.Tensor) -> np.ndarray:
        interpreter.set_tensor(source["index"], x.numpy().astype(np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(target["index"]).copy()

    return run


class TFLiteFormat(ExportFormat):
    """LiteRT (TFLite) flatbuffer via litert-torch, run with the ai_edge_litert Interpreter."""

    name, suffix, runtime, runtime_name = "tflite", ".tflite", "ai_edge_litert Interpreter", "tflite"
    description = "LiteRT (TFLite) flatbuffer"
    requires, extra, runtime_package = ("litert_torch", "ai_edge_litert"), "litert", "ai-edge-litert"

    def export(self, model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
        return _export(model, example, path, ctx)

    def load_runner(self, path: Path, ctx: ExportContext) -> Runner:
        return _open(path, ctx)  # the Interpreter takes ctx.threads when it is created

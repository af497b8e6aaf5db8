"""``mobilezoo.export``: export a model to one format, verify it in its own runtime, record a manifest."""

from __future__ import annotations

import contextlib
import copy
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from ..errors import InvalidInputError, MobileZooError
from ..fileio import output_folder, scratch_path, sha256_of, size_of
from ..inputs import MAX_BATCH, MAX_THREADS, check_count, resolve_input_shape
from .context import ExportContext
from .formats import get_format, implementation, require
from .labels import class_labels
from .manifest import library_versions, replace_artifact
from .support import check_supported
from .verify import FP32_RTOL, run_checks

PREPROCESSING_KEYS = ("input_size", "resize", "resize_mode", "crop_pct", "crop_mode", "interpolation", "mean", "std", "antialias")


class ExportVerificationError(MobileZooError):
    """The exported artifact does not reproduce eager PyTorch; nothing was written."""


class MissingRealData(MobileZooError):
    """int8 calibration needs real samples and none could be loaded."""


@dataclass
class ExportResult:
    path: Path
    manifest: Path
    entry: dict[str, Any]

    @property
    def checks(self) -> list[dict[str, Any]]:
        return self.entry["checks"]


def open_artifact(path: str | os.PathLike, fmt: str, threads: int = 1, dynamic_batch: bool | None = None):
    """A callable running an exported artifact in its runtime (None for Core ML off macOS)."""
    spec = get_format(fmt)
    dynamic = spec.dynamic_batch if dynamic_batch is None else dynamic_batch
    context = ExportContext(spec=spec, dynamic_batch=dynamic, cfg={}, threads=threads)
    return implementation(spec).load_runner(Path(path), context)


def cfg_for_shape(cfg: dict[str, Any], shape: Sequence[int]) -> dict[str, Any]:
    """The pretrained cfg adjusted to another input size (same crop ratio)."""
    cfg = copy.deepcopy(cfg)
    if tuple(shape) != tuple(cfg["input_size"]):
        crop_pct = cfg.get("crop_pct") or 0.875
        cfg["input_size"] = tuple(shape)
        cfg["resize"] = int(round(shape[-1] / crop_pct))
    return cfg


def _batch_plan(spec_dynamic: bool, fmt: str, batch: int | str | None) -> tuple[bool, int]:
    """(dynamic?, example batch). Dynamic exports use a batch-2 example so no axis freezes at 1."""
    if batch is None:
        return (True, 2) if spec_dynamic else (False, 1)
    if batch == "dynamic":
        if not spec_dynamic:
            raise InvalidInputError(f"format '{fmt}' has static shapes; give --batch N instead of dynamic")
        return True, 2
    try:
        size = int(batch)
    except (TypeError, ValueError):
        raise InvalidInputError(f"batch must be 'dynamic' or a whole number >= 1, got {batch!r}") from None
    return False, check_count(size, "batch", 1, MAX_BATCH)


def _model_config(model: nn.Module) -> dict[str, Any]:
    cfg = getattr(model, "pretrained_cfg", {})
    config: dict[str, Any] = {"architecture": cfg.get("architecture"), "tag": cfg.get("tag")}
    if cfg.get("definition_file"):
        config["definition_file"] = cfg["definition_file"]
    wiring = getattr(model, "wiring", None)
    if callable(wiring):
        config["wiring"] = wiring()  # RandWire: the exported graph is exactly this wiring
    return config


def _real_inputs(cfg: dict[str, Any], count: int, warnings: list[str]) -> torch.Tensor | None:
    from ..data.samples import real_inputs

    try:
        return real_inputs(cfg, count)
    except MobileZooError as exc:
        warnings.append(f"real-input check skipped: {exc}")
        return None


def export(
    model_or_name: nn.Module | str,
    format: str,
    out_dir: str | os.PathLike = "export_out",
    *,
    int8: bool = False,
    input_size: str | int | Sequence[int] | None = None,
    batch: int | str | None = None,
    pretrained: bool = False,
    checkpoint_path: str | os.PathLike | None = None,
    name: str | None = None,
    opset: int = 20,
    threads: int = 1,
    calibration_samples: int = 32,
    seed: int | None = None,
) -> ExportResult:
    """Export a model (or a registered name) to ``format``, verify the artifact, update ``manifest.json``.

    Formats: torchscript, ptl, onnx, coreml, executorch, tflite. ``batch=None`` means dynamic where the
    format allows it (exported with a batch-2 example, checked at batch 1 and 3), else a fixed batch of 1.
    ``int8`` (onnx, executorch) calibrates post-training static quantization on real images or clips.
    The artifact is written to a temporary path, verified, and only then renamed into place.
    ``seed`` pins the random verification inputs (default: fresh ones, recorded in the manifest).
    """
    spec = get_format(format)
    check_count(threads, "threads", 1, MAX_THREADS)
    require(spec)
    if isinstance(model_or_name, str):
        from ..factory import create_model

        model = create_model(model_or_name, pretrained=pretrained, checkpoint_path=checkpoint_path)
        name = name or model_or_name
    else:
        model = model_or_name
        name = name or getattr(model, "pretrained_cfg", {}).get("architecture") or type(model).__name__
    cfg = dict(getattr(model, "pretrained_cfg", {}) or {})
    check_supported(cfg.get("family", ""), spec.name, int8)
    shape = resolve_input_shape(model, input_size, name)
    dynamic, example_batch = _batch_plan(spec.dynamic_batch, spec.name, batch)
    with output_folder(out_dir) as directory:  # a folder this call created is removed again if it fails
        return _export_into(directory, model, name, spec, cfg, shape, dynamic, example_batch, int8=int8, opset=opset,
                            threads=threads, calibration_samples=calibration_samples, seed=seed)


def _export_into(directory: Path, model: nn.Module, name: str, spec: Any, cfg: dict[str, Any], shape: tuple[int, ...],
                 dynamic: bool, example_batch: int, *, int8: bool, opset: int, threads: int, calibration_samples: int,
                 seed: int | None) -> ExportResult:
    cfg = cfg_for_shape(cfg or {"input_size": shape, "mean": (0.5,) * shape[0], "std": (0.5,) * shape[0]}, shape)
    model.eval()
    num_classes = int(getattr(model, "num_classes", 0) or cfg.get("num_classes", 0))
    warnings: list[str] = []
    real = _real_inputs(cfg, calibration_samples if int8 else 1, warnings)
    if int8 and real is None:
        raise MissingRealData(f"int8 calibration needs real samples: {warnings[-1]}")
    ctx = ExportContext(
        spec=spec, dynamic_batch=dynamic, cfg=cfg, opset=opset, int8=int8, calibration=real,
        labels=class_labels(cfg, num_classes) if num_classes else None, threads=threads, warnings=warnings,
    )
    seed = secrets.randbits(31) if seed is None else seed  # fresh random inputs unless pinned; recorded
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn((example_batch, *shape), generator=generator)
    file_name = f"{name.replace('/', '_').replace('.', '_')}{'_int8' if int8 else ''}{spec.suffix}"
    target = directory / file_name
    module = implementation(spec)
    started = time.perf_counter()
    static = getattr(model, "static_shapes", None)  # models with size-dependent ops fix them while exporting
    with scratch_path(target) as temporary:
        with static(example) if callable(static) else contextlib.nullcontext():
            info = module.export_artifact(model, example, temporary, ctx)
        exported_seconds = time.perf_counter() - started
        runner = module.load_runner(temporary, ctx)
        checks = []
        if runner is not None:
            batches = (1, 3) if dynamic else (example_batch,)
            inputs = [(f"random batch {b}", torch.randn((b, *shape), generator=generator)) for b in batches]
            if real is not None:
                n = 1 if dynamic else example_batch
                inputs.append((f"real batch {n}", real[:1].expand(n, *real.shape[1:]).contiguous()))
            if int8 and real is not None and dynamic:
                inputs.append((f"real batch {len(real)} (calibration set)", real))
            checks = run_checks(model, runner, inputs, tolerance=None if int8 else FP32_RTOL)
            if int8:
                from .accuracy import labelled_accuracy

                accuracy = labelled_accuracy(model, runner, cfg, None if dynamic else example_batch)
                info.setdefault("int8", {})["accuracy"] = accuracy or "no labelled data set for this model here: top-1 agreement only"
            failed = [c for c in checks if c.passed is False]
            if failed:
                worst = max(failed, key=lambda c: c.max_rel)
                raise ExportVerificationError(
                    f"{spec.name} artifact of {name} differs from eager PyTorch on {worst.name}: relative error "
                    f"{worst.max_rel:.2e} >= {FP32_RTOL:g}; nothing was written"
                )
        digest, size = sha256_of(temporary), size_of(temporary)
        status = info.get("status") or ("verified" if checks else "not verified")
        entry = {
            "file": file_name,
            "model": name,
            "format": spec.name,
            "description": spec.description,
            "precision": "int8" if int8 else "fp32",
            "status": status,
            "sha256": digest,
            "size_bytes": size,
            "input": {"name": "image" if spec.name == "coreml" and len(shape) == 3 else ctx.input_name,
                      "shape": [None if dynamic else example_batch, *shape], "dtype": "float32",
                      "batch": "dynamic" if dynamic else example_batch,
                      "layout": "NCTHW" if len(shape) == 4 else "NCHW"},
            "output": {"name": ", ".join(o["name"] for o in info["outputs"]) if "outputs" in info else ctx.output_name,
                       "num_classes": num_classes},
            "preprocessing": {k: cfg[k] for k in PREPROCESSING_KEYS if k in cfg},
            "class_labels": {"count": num_classes, "first": (ctx.labels or [])[:3]},
            "model_config": _model_config(model),
            "checks": [c.to_dict() for c in checks],
            "tolerance": None if int8 else {"max_rel": FP32_RTOL, "definition": "max|artifact - eager| / max|eager|"},
            "random_seed": seed,
            "runtime": spec.runtime,
            "export_info": info,
            "export_seconds": round(exported_seconds, 2),
            "versions": library_versions(),
            "warnings": warnings,
        }
        manifest = replace_artifact(temporary, directory, entry)
    return ExportResult(target, manifest, entry)

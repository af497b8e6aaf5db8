"""``mobilezoo.export``: export a model to one format, verify it in its own runtime, record a manifest."""

from __future__ import annotations

import contextlib
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
from ..inputs import MAX_BATCH, MAX_THREADS, check_count, model_input_size, resolve_input_shape
from ..models.base import ZooModel
from ..pretrained_cfg import PretrainedCfg, WeightsSource, adapt_cfg_channels
from .format_base import ExportContext
from .formats import get_format, require
from .labels import class_labels
from .manifest import library_versions, replace_artifact
from .manifest_entry import ArtifactInput, ArtifactOutput, ManifestEntry
from .support import check_supported
from .verify import FP32_RTOL, FP64_SLACK, Check, run_checks



class ExportVerificationError(MobileZooError):
    """The exported artifact does not reproduce eager PyTorch; nothing was written."""


class MissingRealData(MobileZooError):
    """int8 calibration needs real samples and none could be loaded."""


@dataclass
class ExportResult:
    path: Path  # the verified artifact
    manifest: Path  # the folder's manifest.json, which now records it
    entry: ManifestEntry  # what the manifest says of it

    @property
    def checks(self) -> list[Check]:
        return self.entry.checks


def open_artifact(path: str | os.PathLike, fmt: str, threads: int = 1, dynamic_batch: bool | None = None):
    """A callable running an exported artifact in its runtime (None for Core ML off macOS)."""
    spec = get_format(fmt)
    dynamic = spec.dynamic_batch if dynamic_batch is None else dynamic_batch
    context = ExportContext(spec=spec, dynamic_batch=dynamic, cfg={}, threads=threads)
    return spec.load_runner(Path(path), context)


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


def _model_config(model: nn.Module, cfg: PretrainedCfg) -> dict[str, Any]:
    """What the artifact is: architecture, the weights inside (tag only when they were loaded), family config."""
    config: dict[str, Any] = {"architecture": cfg.architecture or type(model).__name__,
                              "tag": cfg.tag if holds_tagged_weights(cfg) else None, "weights": cfg.weights}
    if cfg.definition_file:
        config["definition_file"] = cfg.definition_file
    if isinstance(model, ZooModel):
        config.update(model.export_config())  # e.g. RandWire: the exported graph is exactly this wiring
    return config


def holds_tagged_weights(cfg: PretrainedCfg) -> bool:
    """True when the model carries the weights its tag names (not a random init under a tagged cfg)."""
    source = WeightsSource.of(cfg.weights)
    return bool(cfg.tag) and source.kind == "tag" and source.label == f"{cfg.architecture}.{cfg.tag}"


def _real_inputs(cfg: dict[str, Any], count: int, warnings: list[str], split: str = "calibration") -> torch.Tensor | None:
    from ..data.samples import real_inputs

    try:
        return real_inputs(cfg, count, split=split)
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
    pretrained: bool | None = None,
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

    A tagged name (``resnext50_32x4d.tv_in1k``) loads its weights unless ``pretrained=False``; an artifact is
    only named after a tag when it holds that tag's weights, and its manifest says where its weights came from.
    """
    spec = get_format(format)
    check_count(threads, "threads", 1, MAX_THREADS)
    require(spec)
    if isinstance(model_or_name, str):
        from ..factory import create_model
        from ..registry import names_weights

        loads = names_weights(model_or_name) if pretrained is None else pretrained
        model = create_model(model_or_name, pretrained=loads, checkpoint_path=checkpoint_path)
    else:
        model = model_or_name
    cfg = getattr(model, "pretrained_cfg", None)
    if not isinstance(cfg, PretrainedCfg):
        cfg = PretrainedCfg.build(tuple(model_input_size(model)), architecture=type(model).__name__, mean=(0.5,) * 3,
                                  std=(0.5,) * 3)
    name = name or (f"{cfg.architecture}.{cfg.tag}" if holds_tagged_weights(cfg) else cfg.architecture)
    check_supported(cfg.family, spec.name, int8)
    shape = resolve_input_shape(model, input_size, name)
    dynamic, example_batch = _batch_plan(spec.dynamic_batch, spec.name, batch)
    with output_folder(out_dir) as directory:  # a folder this call created is removed again if it fails
        return _export_into(directory, model, name, spec, cfg, shape, dynamic, example_batch, int8=int8, opset=opset,
                            threads=threads, calibration_samples=calibration_samples, seed=seed)


def _export_into(directory: Path, model: nn.Module, name: str, spec: Any, cfg: PretrainedCfg, shape: tuple[int, ...],
                 dynamic: bool, example_batch: int, *, int8: bool, opset: int, threads: int, calibration_samples: int,
                 seed: int | None) -> ExportResult:
    model_config = _model_config(model, cfg)
    cfg = cfg.for_input_size(shape)
    if len(cfg.mean) != shape[0]:
        adapt_cfg_channels(cfg, shape[0])
    model.eval()
    num_classes = int(getattr(model, "num_classes", 0) or cfg.num_classes)
    warnings: list[str] = []
    if cfg.tag and not holds_tagged_weights(cfg):
        warnings.append(f"weights: {cfg.weights}, not the {cfg.architecture}.{cfg.tag} weights its cfg names")
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
    started = time.perf_counter()
    with scratch_path(target) as temporary:
        # models fix size-dependent ops for this input (S3D's shrinking pools), fold masks (relational layers)
        with model.export_view(example) if isinstance(model, ZooModel) else contextlib.nullcontext():
            info = spec.export(model, example, temporary, ctx)
        exported_seconds = time.perf_counter() - started
        runner = spec.load_runner(temporary, ctx)
        checks = []
        if runner is not None:
            batches = (1, 3) if dynamic else (example_batch,)
            inputs = [(f"random batch {b}", torch.randn((b, *shape), generator=generator)) for b in batches]
            if real is not None:
                n = 1 if dynamic else example_batch
                inputs.append((f"real batch {n}", real[:1].expand(n, *real.shape[1:]).contiguous()))
            held_out = _real_inputs(cfg, len(real), warnings, "held_out") if int8 and real is not None and dynamic else None
            if held_out is not None:  # what int8 changed, on images the calibration never saw
                inputs.append((f"held-out real batch {len(held_out)} (not calibrated on)", held_out))
            checks = run_checks(model, runner, inputs, tolerance=None if int8 else FP32_RTOL)
            if int8:
                from ..data.samples import real_inputs_source
                from .accuracy import labelled_accuracy

                info.setdefault("int8", {}).update(calibration_images=real_inputs_source(cfg, "calibration"),
                                                   held_out_images=real_inputs_source(cfg, "held_out"))

                accuracy = labelled_accuracy(model, runner, cfg, None if dynamic else example_batch)
                info.setdefault("int8", {})["accuracy"] = accuracy or "no labelled data set for this model here: top-1 agreement only"
            failed = [c for c in checks if c.passed is False]
            if failed:
                worst = max(failed, key=lambda c: c.max_rel)
                raise ExportVerificationError(
                    f"{spec.name} artifact of {name} differs from eager PyTorch on {worst.name}: relative error "
                    f"{worst.max_rel:.2e} >= {worst.tolerance:.2g}; nothing was written"
                )
        digest, size = sha256_of(temporary), size_of(temporary)
        status = info.get("status") or ("verified" if checks else "not verified")
        entry = ManifestEntry(
            file=file_name, model=name, format=spec.name, description=spec.description,
            precision="int8" if int8 else "fp32", status=status, sha256=digest, size_bytes=size,
            input=ArtifactInput.of(spec.input_name(shape), shape, dynamic, example_batch),
            output=ArtifactOutput(", ".join(o["name"] for o in info["outputs"]) if "outputs" in info else ctx.output_name,
                                  num_classes),
            weights=cfg.weights, preprocessing=cfg.preprocessing(),
            class_labels={"count": num_classes, "first": (ctx.labels or [])[:3]}, model_config=model_config,
            checks=checks,
            tolerance=None if int8 else {
                "max_rel": FP32_RTOL, "definition": "max|artifact - eager| / max|eager|",
                "widened_to": f"{FP64_SLACK:g} x eager's fp32-vs-fp64 error, only where that is larger (see checks)"},
            random_seed=seed, runtime=spec.runtime, export_info=info, export_seconds=round(exported_seconds, 2),
            versions=library_versions(), warnings=warnings,
        )
        manifest = replace_artifact(temporary, directory, entry)
    return ExportResult(target, manifest, entry)

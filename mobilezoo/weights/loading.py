"""Read checkpoints safely and load them strictly, with errors that name the tensor at fault.

Only ``torch.load(weights_only=True)`` and safetensors are used: a pickle that tries to run code is
refused before any of it runs.
"""

from __future__ import annotations

import os
import re
import zipfile
from typing import Any, Mapping

import torch
from torch import nn

from ..errors import CheckpointError, MobileZooError
from ..fileio import check_regular_file

TRAINING_CHECKPOINT = "last.pt"  # the file a training run writes and resumes from (train/engine.py)

#: container keys of common training frameworks, tried in order (mobile-vision prefers the EMA)
CONTAINER_KEYS = ("model_ema", "state_dict", "model", "module")
PREFIXES = ("module.", "_orig_mod.")  # DDP and torch.compile wrappers


def read_checkpoint(path: str | os.PathLike) -> Any:
    """Read a ``.pth``/``.pt`` (weights only) or ``.safetensors`` file without unpickling code."""
    path = os.fspath(path)
    try:
        check_regular_file(path, "checkpoint file")
    except MobileZooError as exc:
        raise CheckpointError(str(exc)) from None
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        try:
            return load_file(path, device="cpu")
        except Exception as exc:  # safetensors raises several types for corrupt headers
            raise CheckpointError(f"'{path}' is not a valid safetensors file ({_first_line(exc)}); re-download it")
    _refuse_compressed_records(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc)
        if "GLOBAL" in text or "Unsupported global" in text:  # the unpickler met code it will not run
            blocked = re.search(r"GLOBAL ([\w.]+)", text)
            what = f" ({blocked.group(1)})" if blocked else ""
            raise CheckpointError(
                f"'{path}' holds pickled code or objects{what}, not only tensors; refusing to load it "
                "(re-save it as a plain state_dict or safetensors)"
            )
        raise CheckpointError(f"'{path}' is corrupt, truncated or not a checkpoint; re-download or re-save it")


def _refuse_compressed_records(path: str) -> None:
    """Refuse a zip checkpoint with compressed records: torch.save never writes them, and a small file of
    deflated zeros would expand to gigabytes in memory before any other check could run."""
    if not zipfile.is_zipfile(path):
        return  # the legacy (pre-1.6) format: plain pickle and raw storage, nothing expands
    try:
        with zipfile.ZipFile(path) as archive:
            packed = [info.filename for info in archive.infolist() if info.compress_type != zipfile.ZIP_STORED]
    except (zipfile.BadZipFile, OSError, ValueError):
        raise CheckpointError(f"'{path}' is corrupt, truncated or not a checkpoint; re-download or re-save it") from None
    if packed:
        raise CheckpointError(f"'{path}' has compressed records ({packed[0]}), which torch.save never writes; "
                              "refusing to expand them (re-save it with torch.save or as safetensors)")


def read_training_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A run's ``last.pt``, read with the zoo's safe checkpoint reader; a one-line error for anything else."""
    state = read_checkpoint(path)
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict) or "model" not in state:
        raise CheckpointError(f"'{path}' is not a mobilezoo training checkpoint (no model and config); pass a run's {TRAINING_CHECKPOINT}")
    weights, config = state["model"], state["config"]
    if not isinstance(weights, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                for k, v in weights.items()):
        raise CheckpointError(f"'{path}': its model is not a state dict of tensors; pass a run's own {TRAINING_CHECKPOINT}")
    if not isinstance(config.get("model"), str) or not isinstance(config.get("model_kwargs") or {}, dict):
        raise CheckpointError(f"'{path}': its config has no model name or its model_kwargs are not a mapping; "
                              f"pass a run's own {TRAINING_CHECKPOINT}")
    return state


def extract_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    """Unwrap training containers (``model_ema``, ``state_dict``, ...) and strip DDP prefixes."""
    if isinstance(obj, Mapping):
        for key in CONTAINER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping):
                return extract_state_dict(inner)
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            "checkpoint holds no state_dict of tensors (looked for keys "
            f"{', '.join(CONTAINER_KEYS)} and for a flat name->tensor mapping)"
        )
    state = dict(obj)
    for prefix in PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def check_compatible(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Raise a one-line :class:`CheckpointError` naming the first missing, extra or mis-shaped tensor."""
    expected = model.state_dict()
    for key, tensor in state.items():
        if key in expected and tuple(expected[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"checkpoint tensor '{key}' has shape {tuple(tensor.shape)} but the model expects "
                f"{tuple(expected[key].shape)}; the checkpoint is for a different variant or num_classes"
            )
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(f"checkpoint lacks tensor '{missing[0]}'{more}; it is for a different architecture")
    if unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        raise CheckpointError(
            f"checkpoint has tensor '{unexpected[0]}'{more} that the model does not; it is for a different architecture"
        )
    for key, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"checkpoint tensor '{key}' contains NaN or Inf values; the file is damaged")


def adapt_input_conv(model: nn.Module, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Fit pretrained stem weights to a model built with other input channels (timm's rule).

    One channel: the weight summed over the input channels, so a grey image gives what its replicated RGB
    gave. N channels: the weight repeated along the input channels and scaled by old/N, so activations
    keep their scale.
    """
    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
    name = next((n for n, m in model.named_modules() if isinstance(m, convs)), None)
    key = f"{name}.weight"
    expected = model.state_dict().get(key)
    weight = state.get(key)
    if expected is None or weight is None or weight.shape == expected.shape or weight.shape[2:] != expected.shape[2:]:
        return dict(state)
    old, new = weight.shape[1], expected.shape[1]
    if new == 1:
        adapted = weight.float().sum(dim=1, keepdim=True)
    else:
        repeats = -(-new // old)
        adapted = weight.float().repeat(1, repeats, *([1] * (weight.dim() - 2)))[:, :new] * (old / new)
    return {**state, key: adapted.to(weight.dtype)}


def load_state_dict_strict(model: nn.Module, checkpoint: str | os.PathLike | Mapping[str, Any]) -> nn.Module:
    """Load a checkpoint file or dict into ``model`` strictly.

    Upstream layouts (mobile-vision, torchvision) need no key mapping: the zoo keeps their keys, and
    :func:`extract_state_dict` unwraps their containers and DDP prefixes.
    """
    obj = read_checkpoint(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else checkpoint
    state = extract_state_dict(obj)
    validate = getattr(model, "check_checkpoint", None)  # family-specific checks first (e.g. RandWire wiring)
    if validate is not None:
        validate(state)
    expected = model.state_dict()
    state = {k: v.to(expected[k].dtype) if k in expected and v.is_floating_point() else v for k, v in state.items()}
    check_compatible(model, state)
    model.load_state_dict(state, strict=True)
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__

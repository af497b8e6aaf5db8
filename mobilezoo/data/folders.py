"""Folder-per-class data sets for users' own images and clips (``root/<class>/<file>``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import InvalidInputError
from ..pretrained_cfg import PretrainedCfg
from .transforms import preprocess_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def folder_classes(root: Path) -> list[str]:
    if not root.is_dir():
        raise InvalidInputError(f"image folder '{root}' does not exist; expected one sub-folder per class")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise InvalidInputError(f"'{root}' has no class sub-folders")
    return classes


def folder_cfg(model_cfg: PretrainedCfg, size: int, root: Path) -> PretrainedCfg:
    """The model's cfg at ``size`` px (its crop ratio kept) with the classes of an image folder."""
    classes = folder_classes(root)
    cfg = model_cfg.for_input_size((model_cfg.input_size[0], size, size))
    return cfg.replace(class_names=classes, num_classes=len(classes), dataset=f"image folder {root.parent.name}")


class ClassFolder(torch.utils.data.Dataset):
    """Files in ``root/<class>/<file>`` with one of ``suffixes``; subclasses say how to load one file."""

    suffixes: tuple[str, ...] = ()
    kind = "files"

    def __init__(self, root: Path, cfg: dict[str, Any], limit: int = 0) -> None:
        classes = folder_classes(root)
        self.cfg = cfg
        self.samples = [(p, i) for i, c in enumerate(classes) for p in sorted((root / c).iterdir())
                        if p.suffix.lower() in self.suffixes]
        if limit:
            self.samples = self.samples[:limit]
        if not self.samples:
            raise InvalidInputError(f"'{root}' holds no {self.kind} ({', '.join(self.suffixes)})")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> torch.Tensor:
        """The class index of every sample, without loading a file (samplers, long-tail cuts)."""
        return torch.tensor([label for _, label in self.samples], dtype=torch.long)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        return self.load(path), label

    def load(self, path: Path) -> torch.Tensor:
        raise NotImplementedError


class ImageFolder(ClassFolder):
    suffixes = IMAGE_SUFFIXES
    kind = "images"

    def load(self, path: Path) -> torch.Tensor:
        from PIL import Image

        with Image.open(path) as image:
            mode = "L" if self.cfg["input_size"][0] == 1 else "RGB"
            return preprocess_image(image.convert(mode), self.cfg)


def image_folder(root: Path, cfg: dict[str, Any], limit: int = 0) -> ImageFolder:
    return ImageFolder(root, cfg, limit)



class ClipFolder(ClassFolder):
    """Video clips, decoded with PyAV and preprocessed as the video model's cfg says."""

    suffixes = VIDEO_SUFFIXES
    kind = "clips"

    def load(self, path: Path) -> torch.Tensor:
        from .transforms import preprocess_video
        from .video import read_clip

        return preprocess_video(read_clip(path, int(self.cfg["input_size"][1])), self.cfg)


def clip_folder(root: Path, cfg: dict[str, Any], limit: int = 0) -> ClipFolder:
    return ClipFolder(root, cfg, limit)


def clip_folder_cfg(model_cfg: PretrainedCfg, size: int, frames: int, root: Path) -> PretrainedCfg:
    """The video model's cfg for ``frames`` x ``size`` px clips (crop ratio kept) and a clip folder's classes."""
    classes = folder_classes(root)
    cfg = model_cfg.for_input_size((model_cfg.input_size[0], frames, size, size))
    return cfg.replace(class_names=classes, num_classes=len(classes), dataset=f"clip folder {root.parent.name}")

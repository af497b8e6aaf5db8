"""Two random views of each image, as MoCo trains on them (arXiv 1911.05722, v2: arXiv 2003.04297).

Built from torchvision's transforms, applied per image (each view its own crop, flip, jitter, blur):

- random resized crop to the input size, scale (0.2, 1), aspect (3/4, 4/3);
- horizontal flip, p = 0.5;
- colour jitter (brightness, contrast, saturation, hue), applied with probability ``jitter_p`` (v1: always, 0.4 each;
  v2 "aug+": p = 0.8, hue 0.1);
- random greyscale, p = ``grey_p`` (0.2);
- Gaussian blur with sigma ~ U(``blur_sigma``), p = ``blur_p`` (v2: 0.5 at 224 px; the kernel is the odd size
  nearest 10 % of the image, as SimCLR's).

On grey images (Fashion-MNIST: one channel replicated to three) saturation, hue and greyscale are no-ops: a grey
pixel has no saturation to scale and no hue to rotate, and it already is its own greyscale. They are skipped there
(``GREY_NO_OPS``); brightness, contrast, crop, flip and blur still change the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torchvision.transforms import v2 as T

from ..errors import InvalidInputError

#: augmentations that leave a grey image unchanged (skipped for grey data)
GREY_NO_OPS = ("saturation", "hue", "greyscale")


@dataclass(frozen=True)
class ViewAugmentation:
    """The augmentation of one view; ``v1()`` and ``v2()`` are the papers' settings."""

    scale: tuple[float, float] = (0.2, 1.0)
    flip_p: float = 0.5
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    jitter_p: float = 0.8
    grey_p: float = 0.2
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)

    @classmethod
    def v1(cls) -> "ViewAugmentation":
        return cls(hue=0.4, jitter_p=1.0, blur_p=0.0)

    @classmethod
    def v2(cls) -> "ViewAugmentation":
        return cls()

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: "ViewAugmentation") -> "ViewAugmentation":
        fields = {**base.__dict__}
        for key, value in data.items():
            if key not in fields:
                raise InvalidInputError(f"unknown augmentation option '{key}'; options: {', '.join(fields)}")
            if key in ("scale", "blur_sigma"):
                if not (isinstance(value, (list, tuple)) and len(value) == 2 and 0 < float(value[0]) <= float(value[1])):
                    raise InvalidInputError(f"augmentation {key} must be [low, high] with 0 < low <= high, got {value!r}")
                value = (float(value[0]), float(value[1]))
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= (0.5 if key == "hue" else 1):
                    top = 0.5 if key == "hue" else 1
                    raise InvalidInputError(f"augmentation {key} must be a number in [0, {top}], got {value!r}")
                value = float(value)
            fields[key] = value
        if fields["scale"][1] > 1:
            raise InvalidInputError(f"augmentation scale must lie in (0, 1], got {fields['scale']}")
        return cls(**fields)

    def transform(self, size: int, grey: bool) -> T.Compose:
        """The per-image transform for float images in [0, 1], (C, H, W)."""
        steps: list[Any] = [T.RandomResizedCrop(size, scale=self.scale, antialias=True)]
        if self.flip_p:
            steps.append(T.RandomHorizontalFlip(self.flip_p))
        jitter = (T.ColorJitter(self.brightness, self.contrast) if grey
                  else T.ColorJitter(self.brightness, self.contrast, self.saturation, self.hue))
        if self.jitter_p and (self.brightness or self.contrast or (not grey and (self.saturation or self.hue))):
            steps.append(T.RandomApply([jitter], p=self.jitter_p))
        if self.grey_p and not grey:
            steps.append(T.RandomGrayscale(self.grey_p))
        if self.blur_p:
            kernel = max(3, int(0.1 * size) // 2 * 2 + 1)
            steps.append(T.RandomApply([T.GaussianBlur(kernel, sigma=self.blur_sigma)], p=self.blur_p))
        return T.Compose(steps)


class TwoViews:
    """Batch of images in [0, 1] -> two independently augmented batches (query view, key view)."""

    def __init__(self, augmentation: ViewAugmentation, size: int, grey: bool) -> None:
        self.grey = grey
        self.augment = augmentation.transform(size, grey)

    def _view(self, images: torch.Tensor) -> torch.Tensor:
        source = images[:, :1] if self.grey else images  # grey: augment the one channel, replicate after
        views = torch.stack([self.augment(image) for image in source]).clamp_(0, 1)
        return views.expand(-1, images.shape[1], -1, -1) if self.grey else views

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._view(images), self._view(images)

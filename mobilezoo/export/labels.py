"""Class labels to embed in exported classifiers (Core ML) and record in manifests."""

from __future__ import annotations

from typing import Any, Mapping


def class_labels(cfg: Mapping[str, Any], num_classes: int) -> list[str]:
    """The cfg's own class names, else ImageNet-1k / Kinetics-400 names by class count, else class_<i>."""
    names = cfg.get("class_names")
    if names and len(names) == num_classes:
        return list(names)
    try:
        from torchvision.models._meta import _IMAGENET_CATEGORIES, _KINETICS400_CATEGORIES
    except ImportError:  # private in torchvision; fall back to plain names
        _IMAGENET_CATEGORIES, _KINETICS400_CATEGORIES = [], []
    if num_classes == 1000 and len(_IMAGENET_CATEGORIES) == 1000:
        return list(_IMAGENET_CATEGORIES)
    if num_classes == 400 and len(_KINETICS400_CATEGORIES) == 400:
        return list(_KINETICS400_CATEGORIES)
    return [f"class_{i}" for i in range(num_classes)]

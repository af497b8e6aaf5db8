"""Accuracy of an exported artifact on labelled real data, next to eager fp32 (for int8 exports).

Available when the model was trained on a data set that installs offline (Fashion-MNIST); other models
get top-1 agreement only, and the manifest says so.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..errors import MobileZooError


def labelled_accuracy(model: nn.Module, run: Callable[[torch.Tensor], np.ndarray], cfg: dict[str, Any],
                      batch: int | None, samples: int = 1000) -> dict[str, Any] | None:
    """fp32 eager and artifact top-1 on ``samples`` labelled test images, or None when no labelled set fits."""
    if cfg.get("dataset") != "Fashion-MNIST":
        return None
    from ..data.fashion_mnist import fashion_mnist

    try:
        data = fashion_mnist("test", cfg, limit=samples)
    except MobileZooError:
        return None
    images = torch.stack([data[i][0] for i in range(len(data))])
    labels = data.labels[: len(data)]
    step = batch or 100  # static-shape artifacts run at their fixed batch
    usable = len(labels) - len(labels) % step
    images, labels = images[:usable], labels[:usable]
    with torch.no_grad():
        eager = torch.cat([model(chunk).argmax(1) for chunk in images.split(256)])
    artifact = torch.cat([torch.as_tensor(np.asarray(run(chunk))).reshape(len(chunk), -1).argmax(1) for chunk in images.split(step)])
    fp32 = 100.0 * (eager == labels).float().mean().item()
    exported = 100.0 * (artifact == labels).float().mean().item()
    return {"dataset": "Fashion-MNIST test", "samples": int(usable), "fp32_eager_top1": round(fp32, 2),
            "artifact_top1": round(exported, 2), "change": round(exported - fp32, 2)}

"""The classifier interface every zoo model shares (timm conventions).

A family subclass lays out its modules in the upstream key layout and tells the base class three
things: ``feature_sequence()`` (the modules ``forward_features`` applies in order), ``feature_info``
(which of those produce multi-scale feature maps) and how its head is built. The base class then
provides ``forward_head``, ``get_classifier``, ``reset_classifier`` and ``features_only``.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..errors import InvalidInputError


class ZooModel(nn.Module):
    """Base of all zoo classifiers: ``forward = forward_head(forward_features(x))``."""

    #: per feature level: {"module": dotted name, "num_chs": channels, "reduction": stride}
    feature_info: list[dict[str, Any]]
    #: the pretrained cfg (input size, mean/std, ...) set by :func:`mobilezoo.create_model`
    pretrained_cfg: dict[str, Any]
    #: dotted name of the final classifier module
    classifier_name: str = "fc"
    #: channels that reach the classifier
    num_features: int = 0
    num_classes: int = 0
    #: input channels the stem expects (checked by profiling and export before tracing)
    in_chans: int = 3

    def feature_sequence(self) -> list[str]:
        """Dotted names of the modules ``forward_features`` applies one after another."""
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.feature_sequence():
            x = self.get_submodule(name)(x)
        return x

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Global pooling before the classifier; families override to keep their own layout."""
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pool(x)
        if pre_logits:
            return x
        return self.get_classifier()(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    @property
    def default_cfg(self) -> dict[str, Any]:
        """Legacy timm alias of :attr:`pretrained_cfg`."""
        return self.pretrained_cfg

    def get_classifier(self) -> nn.Module:
        return self.get_submodule(self.classifier_name)

    def make_classifier(self, num_classes: int) -> nn.Module:
        """A fresh classifier for ``num_classes`` (0 gives pooled features)."""
        return nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier; ``num_classes=0`` makes ``forward`` return pooled features."""
        if num_classes < 0:
            raise InvalidInputError(f"num_classes must be >= 0, got {num_classes}")
        parent_name, _, attr = self.classifier_name.rpartition(".")
        parent = self.get_submodule(parent_name) if parent_name else self
        setattr(parent, attr, self.make_classifier(num_classes))
        self.num_classes = num_classes


class FeatureListNet(nn.Module):
    """Wraps a :class:`ZooModel` to return the feature maps at ``out_indices`` (``features_only``).

    It runs the same modules as ``forward_features`` and stops after the deepest requested level, so
    no head or unused stage is computed. Weights stay under ``model.*``.
    """

    def __init__(self, model: ZooModel, out_indices: Sequence[int] | None = None) -> None:
        super().__init__()
        levels = model.feature_info
        out_indices = tuple(range(len(levels))) if out_indices is None else tuple(out_indices)
        for i in out_indices:
            if not -len(levels) <= i < len(levels):
                raise InvalidInputError(
                    f"out_indices entry {i} is out of range; this model has {len(levels)} feature levels"
                )
        out_indices = tuple(sorted(i % len(levels) for i in out_indices))
        self.model = model
        self.out_indices = out_indices
        self.feature_info = [levels[i] for i in out_indices]
        sequence = model.feature_sequence()
        taps = {levels[i]["module"] for i in out_indices}
        last = max(sequence.index(levels[i]["module"]) for i in out_indices)
        self._sequence = sequence[: last + 1]
        self._taps = [name in taps for name in self._sequence]
        self.pretrained_cfg = getattr(model, "pretrained_cfg", {})

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for name, tap in zip(self._sequence, self._taps):
            x = self.model.get_submodule(name)(x)
            if tap:
                outputs.append(x)
        return outputs

"""``linear`` and ``knn`` evaluation of a frozen backbone on a labelled data set, with the frozen-weights check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import InvalidInputError
from .features import changed_weights, extract_features, weights_fingerprint
from .knn import knn_accuracy
from .linear_probe import LR_GRID, linear_probe

PROTOCOLS = ("linear", "knn")


@dataclass
class FrozenEvaluation:
    protocol: str
    top1: float
    train_samples: int  # labelled images the classifier (or the kNN bank) used
    test_samples: int
    details: dict[str, Any] = field(default_factory=dict)
    classifier: nn.Linear | None = field(default=None, repr=False)  # the linear probe's layer

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("classifier")
        return record


def evaluate_frozen(backbone: nn.Module, protocol: str, train_set: torch.utils.data.Dataset,
                    test_set: torch.utils.data.Dataset, num_classes: int, *, seed: int = 0, epochs: int = 100,
                    lrs: tuple[float, ...] = LR_GRID, knn_k: int = 200, knn_t: float = 0.1,
                    device: torch.device | str = "cpu", show_progress: bool = False) -> FrozenEvaluation:
    """Top-1 of ``protocol`` on ``test_set``; raises if any backbone tensor changed while evaluating."""
    if protocol not in PROTOCOLS:
        raise InvalidInputError(f"protocol must be linear or knn, got {protocol!r}")
    before = weights_fingerprint(backbone)
    train_features, train_labels = extract_features(backbone, train_set, device=device, show_progress=show_progress)
    test_features, test_labels = extract_features(backbone, test_set, device=device, show_progress=show_progress)
    if protocol == "knn":
        top1 = knn_accuracy(test_features, test_labels, train_features, train_labels, num_classes, knn_k, knn_t)
        result = FrozenEvaluation("knn", top1, len(train_labels), len(test_labels), {"k": knn_k, "t": knn_t})
    else:
        probe = linear_probe(train_features, train_labels, test_features, test_labels, num_classes, lrs, epochs, seed)
        result = FrozenEvaluation("linear", probe.top1, len(train_labels), len(test_labels),
                                  {"lr": probe.lr, "validation_top1_by_lr": probe.validation_top1, "epochs": epochs},
                                  probe.classifier)
    changed = changed_weights(backbone, before)
    if changed:  # the protocol's sanity check: a frozen backbone stays frozen
        raise RuntimeError(f"{len(changed)} backbone tensors changed during a frozen evaluation (e.g. {changed[0]})")
    result.details["backbone_unchanged"] = True
    return result


def classifier_as_linear(classifier: nn.Module) -> nn.Linear:
    """A zoo classifier as an ``nn.Linear`` on the pre-logits features: a linear layer (plain or after dropout) as
    is, a 1x1 convolution (FBNet's mobile-vision head) as a copy of its weights."""
    layer = next((m for m in classifier.modules() if isinstance(m, (nn.Linear, nn.Conv2d))), None)
    if isinstance(layer, nn.Linear):
        return layer
    if isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1) and layer.groups == 1:
        linear = nn.Linear(layer.in_channels, layer.out_channels, bias=layer.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(layer.weight.flatten(1))
            if layer.bias is not None:
                linear.bias.copy_(layer.bias)
        return linear
    raise InvalidInputError(f"the classifier {type(classifier).__name__} is not a linear layer or 1x1 convolution")


def attach_classifier(model: nn.Module, layer: nn.Linear) -> nn.Module:
    """``model`` with a fresh classifier holding ``layer``'s weights (a full classifier to package)."""
    model.reset_classifier(layer.out_features)
    target = next(m for m in model.get_classifier().modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    with torch.no_grad():
        target.weight.copy_(layer.weight.view_as(target.weight))
        target.bias.copy_(layer.bias)
    model.num_classes = layer.out_features
    return model

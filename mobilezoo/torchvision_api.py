"""torchvision's model API over the zoo: ``get_model``, ``get_model_weights``, ``get_weight`` and a weights enum per
architecture whose members carry ``url``, ``transforms`` and ``meta``, as ``torchvision.models`` has them.

``get_model_weights("fbnetv2_f1")`` is the enum ``FBNETV2_F1_Weights``: one member per weight tag (``FMNIST``,
``FMNIST_MOCO``, ``MV_IN1K``) and ``DEFAULT``, an alias of the architecture's default tag. A member's
``transforms()`` is the preprocessing of the weights' pretrained cfg (resize, crop, normalisation, channels) as a
module; on a PIL image, an HxWxC / HxW uint8 array or a CxHxW tensor it gives exactly what
:func:`mobilezoo.data.transforms.preprocess_image` gives (the zoo's data sets and exports use that function).
``meta`` holds torchvision's keys: ``categories``, ``num_params``, ``min_size``, ``_metrics`` (per data set,
``acc@1``), ``recipe``, ``_docs``, and the zoo's own (``tag``, ``dataset``, ``sha256``, ``license``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Callable

import torch
from torch import nn

from .errors import InvalidInputError
from .registry import get_model_entry, get_pretrained_cfg, resolve


class ImageClassification(nn.Module):
    """The preprocessing of one pretrained cfg as a module (torchvision's ``transforms()`` result); a batch of
    (B, C, H, W) tensors is mapped image by image."""

    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, image: Any) -> torch.Tensor:
        """A PIL image or HxWxC / HxW array, or (as torchvision) a CxHxW tensor (uint8, or float in [0, 1]) or a
        batch of them."""
        from .data.transforms import preprocess_image

        if isinstance(image, torch.Tensor) and image.ndim == 4:
            return torch.stack([self(one) for one in image])
        if isinstance(image, torch.Tensor) and image.dtype == torch.uint8 and image.ndim == 3:
            image = image.permute(1, 2, 0)  # torchvision's tensors are CxHxW; the zoo reads uint8 as HxWxC
        return preprocess_image(image, self.cfg)

    def extra_repr(self) -> str:
        cfg = self.cfg
        return (f"resize={cfg.resize}, crop={tuple(cfg.input_size[1:])}, interpolation={cfg.interpolation}, "
                f"mean={tuple(cfg.mean)}, std={tuple(cfg.std)}")


@dataclass(frozen=True, eq=False)
class Weights:
    """torchvision's ``Weights``: where they are, how to preprocess for them, what they are."""

    url: str | None
    transforms: Callable[..., nn.Module]
    meta: dict[str, Any] = field(default_factory=dict)


class WeightsEnum(enum.Enum):
    """Base of every architecture's weights enum (torchvision's ``WeightsEnum``)."""

    @property
    def url(self) -> str | None:
        return self.value.url

    @property
    def transforms(self) -> Callable[..., nn.Module]:
        return self.value.transforms

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta

    def get_state_dict(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        """The weights themselves (offline for packaged ones; a download is hash-checked)."""
        from .factory import create_model

        return create_model(self.meta["name"], pretrained=True).state_dict()


def _weights(name: str, tag: str) -> Weights:
    entry = get_model_entry(name)
    weight = entry.weights[tag]
    cfg = get_pretrained_cfg(f"{name}.{tag}")
    from .factory import create_model

    params = sum(p.numel() for p in create_model(name, num_classes=weight.num_classes,
                                                 **weight.model_kwargs).parameters())
    metrics = {k.replace("top1", "acc@1").replace("top5", "acc@5"): v for k, v in weight.metrics.items()
               if k in ("top1", "top5")}
    meta = {"categories": list(weight.class_names) if weight.class_names else None, "num_params": params,
            "min_size": tuple(cfg.input_size[-2:]), "_metrics": {weight.dataset: metrics}, "recipe": weight.recipe,
            "_docs": weight.notes or weight.source, "name": f"{name}.{tag}", "tag": tag, "dataset": weight.dataset,
            "sha256": weight.sha256, "license": weight.license}
    return Weights(weight.url, partial(ImageClassification, cfg), meta)


@lru_cache(maxsize=None)
def get_model_weights(name: str) -> type[WeightsEnum]:
    """The weights enum of an architecture (``name`` or ``name.tag``): members per tag and ``DEFAULT``."""
    entry, _ = resolve(name)
    if not entry.weights:
        raise InvalidInputError(f"'{entry.name}' has no registered weights; pretrained architectures: "
                                "mobilezoo.list_models(pretrained=True)")
    members = {tag.upper(): _weights(entry.name, tag) for tag in entry.weights}
    if entry.default_tag is not None:
        members["DEFAULT"] = members[entry.default_tag.upper()]  # the same value: an alias, as torchvision's
    return WeightsEnum(f"{entry.name.upper()}_Weights", members)  # type: ignore[return-value]


def get_weight(name: str) -> WeightsEnum:
    """A member by its full name, ``'FBNETV2_F1_Weights.FMNIST'`` (torchvision's ``get_weight``)."""
    enum_name, _, member = name.partition(".")
    if not enum_name.endswith("_Weights") or not member:
        raise InvalidInputError(f"'{name}' is not 'ARCH_Weights.TAG' (e.g. 'FBNETV2_F1_Weights.FMNIST')")
    weights = get_model_weights(enum_name[: -len("_Weights")].lower())
    if member not in weights.__members__:
        raise InvalidInputError(f"{enum_name} has no member '{member}'; members: {', '.join(weights.__members__)}")
    return weights[member]


def get_model(name: str, weights: WeightsEnum | str | None = None, **kwargs: Any) -> nn.Module:
    """torchvision's ``get_model``: ``weights`` a member, its tag (``'FMNIST'``, ``'DEFAULT'``) or ``None``."""
    from .factory import create_model

    if weights is None:
        return create_model(name, **kwargs)
    if isinstance(weights, str):
        table = get_model_weights(name)
        key = weights.rpartition(".")[2].upper()
        if key not in table.__members__:
            raise InvalidInputError(f"'{name}' has no weights '{weights}'; choose from {', '.join(table.__members__)}")
        weights = table[key]
    return create_model(weights.meta["name"], pretrained=True, **kwargs)

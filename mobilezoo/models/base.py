"""The classifier interface every zoo model shares (timm's conventions), and the hooks the tools call.

A family subclass lays out its modules in the upstream key layout and writes two plain methods that
TorchScript and torch.fx can compile: ``forward_features`` (the unpooled feature map) and ``forward_head``
(global pooling, the head's hidden layers, the classifier). It also declares:

- ``feature_info``: one dict per multi-scale level (``module``, ``num_chs``, ``reduction``), from which
  ``features_only`` builds a :class:`FeatureListNet` with timm's :class:`FeatureInfo`;
- ``feature_sequence()``: the modules ``forward_features`` applies in order (the profiler's rows, the
  feature extractor's path);
- ``num_features`` (channels of ``forward_features``), ``head_hidden_size`` (width of ``pre_logits``),
  ``classifier_name`` and ``make_classifier``.

The hooks below have harmless defaults here, so tools call them on any model without ``getattr``.
"""

import contextlib
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..errors import InvalidInputError

GLOBAL_POOLS = ("avg", "")  # timm's names: average pooling, or none (forward returns the spatial map)


class ZooModel(nn.Module):
    """Base of all zoo classifiers: ``forward = forward_head(forward_features(x))``."""

    # Python-side metadata, not model state: TorchScript must not try to type these
    __jit_ignored_attributes__ = ["feature_info", "pretrained_cfg", "default_cfg"]
    __jit_unused_properties__ = ["default_cfg"]

    #: dotted name of the final classifier module
    classifier_name = "fc"

    def __init__(self) -> None:
        super().__init__()
        self.in_chans = 3  # input channels the stem expects (checked before tracing or profiling)
        self.num_features = 0  # channels of forward_features
        self.head_hidden_size = 0  # width of forward_head(pre_logits=True); num_features unless the head adds layers
        self.num_classes = 0
        self.global_pool = "avg"

    # --- what families provide --------------------------------------------------------------------

    def feature_sequence(self) -> List[str]:
        """Dotted names of the modules ``forward_features`` applies one after another."""
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The unpooled feature map (``num_features`` channels)."""
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global pooling (unless ``global_pool=''``), the head's hidden layers, then the classifier."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def make_classifier(self, num_classes: int) -> nn.Module:
        """A fresh classifier for ``num_classes`` (0 gives the pre-logits features)."""
        return nn.Linear(self.head_hidden_size, num_classes) if num_classes > 0 else nn.Identity()

    # --- hooks the tools call (defaults do nothing) -------------------------------------------------

    @contextlib.contextmanager
    def static_shapes(self, example: torch.Tensor) -> Iterator["ZooModel"]:
        """Fix size-dependent ops for ``example``'s shape while an exporter traces (S3D's shrinking pools)."""
        yield self

    def feature_taps(self, x: torch.Tensor, sequence: List[str], taps: List[bool]) -> List[torch.Tensor]:
        """Run the modules of ``sequence`` one after another; return the outputs where ``taps`` is set.

        Families whose stages take more than the previous output (DARTS cells take two states) override it.
        """
        outputs = []
        for name, tap in zip(sequence, taps):
            x = self.get_submodule(name)(x)
            if tap:
                outputs.append(x)
        return outputs

    @contextlib.contextmanager
    def export_view(self, example: torch.Tensor) -> Iterator["ZooModel"]:
        """The form an exporter traces: :meth:`static_shapes` by default; relational networks also fold their masks."""
        with self.static_shapes(example):
            yield self

    def check_checkpoint(self, state: Dict[str, torch.Tensor]) -> None:
        """Family checks on a state dict before any shape check (RandWire: the wiring must match)."""

    def feature_map_size(self, input_size: Sequence[int]) -> Tuple[int, ...]:
        """Spatial size of ``forward_features`` for an input of spatial size ``input_size`` (timm's ``pool_size``).

        Default: every downsampling halves with rounding up (stride-2 convs and pools padded by k // 2).
        """
        reduction = self.feature_info[-1]["reduction"]
        return tuple(-(-int(side) // reduction) for side in input_size)

    def export_config(self) -> Dict[str, Any]:
        """Configuration an exported artifact must record to be rebuilt (RandWire: its wiring)."""
        return {}

    # --- the classifier API (timm) -----------------------------------------------------------------

    @property
    def default_cfg(self) -> Any:
        """Legacy timm alias of :attr:`pretrained_cfg`."""
        return self.pretrained_cfg

    def get_classifier(self) -> nn.Module:
        return self.get_submodule(self.classifier_name)

    def set_global_pool(self, global_pool: str) -> None:
        """``'avg'`` (default) or ``''``: no pooling, ``forward`` returns the spatial map (timm)."""
        if global_pool not in GLOBAL_POOLS:
            raise InvalidInputError(f"global_pool must be 'avg' or '' (none), got {global_pool!r}")
        if global_pool == "" and self.num_classes > 0 and isinstance(self.get_classifier(), nn.Linear):
            raise InvalidInputError("global_pool='' needs num_classes=0 here: a linear classifier needs pooled features")
        self.global_pool = global_pool

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        """Replace the classifier; ``num_classes=0`` makes ``forward`` return the pre-logits features.

        ``global_pool`` (``'avg'`` or ``''``) changes the pooling as in timm; ``None`` keeps it.
        """
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise InvalidInputError(f"num_classes must be a whole number >= 0, got {num_classes!r}")
        parent_name, _, attr = self.classifier_name.rpartition(".")
        parent = self.get_submodule(parent_name) if parent_name else self
        setattr(parent, attr, self.make_classifier(num_classes))
        self.num_classes = num_classes
        if global_pool is not None:
            self.set_global_pool(global_pool)


class TorchvisionResNetLayout(ZooModel):
    """torchvision's ResNet module layout (``conv1 bn1 relu maxpool layer1..layer4 avgpool fc``), shared by the
    families that keep it so their checkpoints load with torchvision's keys (ResNeXt, relational ResNets)."""

    classifier_name = "fc"

    def feature_sequence(self) -> List[str]:
        return ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "avg":
            x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.fc(x)


class FeatureInfo:
    """timm's ``FeatureInfo``: the levels a feature extractor returns, with their channels and strides.

    ``channels()``, ``reduction()`` and ``module_name()`` answer for the returned levels (``out_indices``);
    an index (or list of indices) into all levels may be given instead. Indexing and iteration give the
    levels' dicts.
    """

    def __init__(self, levels: Sequence[Dict[str, Any]], out_indices: Sequence[int]) -> None:
        self.info = [dict(level) for level in levels]
        self.out_indices = tuple(out_indices)

    def get(self, key: str, idx: Union[int, Sequence[int], None] = None) -> Any:
        if idx is None:
            return [self.info[i][key] for i in self.out_indices]
        if isinstance(idx, (tuple, list)):
            return [self.info[i][key] for i in idx]
        return self.info[idx][key]

    def get_dicts(self, keys: Optional[Sequence[str]] = None, idx: Union[int, Sequence[int], None] = None) -> Any:
        def pick(level: Dict[str, Any]) -> Dict[str, Any]:
            return dict(level) if keys is None else {k: level[k] for k in keys}

        if idx is None:
            return [pick(self.info[i]) for i in self.out_indices]
        if isinstance(idx, (tuple, list)):
            return [pick(self.info[i]) for i in idx]
        return pick(self.info[idx])

    def channels(self, idx: Union[int, Sequence[int], None] = None) -> Any:
        return self.get("num_chs", idx)

    def reduction(self, idx: Union[int, Sequence[int], None] = None) -> Any:
        return self.get("reduction", idx)

    def module_name(self, idx: Union[int, Sequence[int], None] = None) -> Any:
        return self.get("module", idx)

    def __getitem__(self, item: int) -> Dict[str, Any]:
        return self.info[item]

    def __len__(self) -> int:
        return len(self.info)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        return iter(self.info[i] for i in self.out_indices)

    def __repr__(self) -> str:
        return f"FeatureInfo(out_indices={self.out_indices}, channels={self.channels()}, reduction={self.reduction()})"


def resolve_out_indices(levels: int, out_indices: Optional[Sequence[int]]) -> Tuple[int, ...]:
    """timm's rule: None gives every level; negative indices count from the deepest level."""
    if out_indices is None:
        return tuple(range(levels))
    if isinstance(out_indices, int):
        out_indices = (out_indices,)
    resolved = []
    for index in out_indices:
        if isinstance(index, bool) or not isinstance(index, int) or not -levels <= index < levels:
            raise InvalidInputError(f"out_indices entry {index!r} is out of range; this model has {levels} feature levels "
                                    f"(0..{levels - 1}, or -{levels}..-1)")
        resolved.append(index % levels)
    return tuple(sorted(set(resolved)))


class FeatureListNet(nn.Module):
    """Wraps a :class:`ZooModel` to return the feature maps at ``out_indices`` (``features_only``).

    It runs the same modules as ``forward_features`` and stops after the deepest requested level, so
    no head or unused stage is computed. Weights stay under ``model.*``.
    """

    def __init__(self, model: ZooModel, out_indices: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        levels = model.feature_info
        indices = resolve_out_indices(len(levels), out_indices)
        self.model = model
        self.out_indices = indices
        self.feature_info = FeatureInfo(levels, indices)
        sequence = model.feature_sequence()
        taps = {levels[i]["module"] for i in indices}
        last = max(sequence.index(levels[i]["module"]) for i in indices)
        self._sequence = sequence[: last + 1]
        self._taps = [name in taps for name in self._sequence]
        self.pretrained_cfg = getattr(model, "pretrained_cfg", None)

    __jit_ignored_attributes__ = ["feature_info", "pretrained_cfg", "default_cfg"]
    __jit_unused_properties__ = ["default_cfg"]

    @property
    def default_cfg(self) -> Any:
        """timm's legacy alias of ``pretrained_cfg``, as on every timm model and its feature wrapper."""
        return self.pretrained_cfg

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return self.model.feature_taps(x, self._sequence, self._taps)

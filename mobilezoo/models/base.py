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
import functools
import re
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint
from torch import nn

from ..errors import InvalidInputError

GLOBAL_POOLS = ("avg", "")  # timm's names: average pooling, or none (forward returns the spatial map)


class ZooModel(nn.Module):
    """Base of all zoo classifiers: ``forward = forward_head(forward_features(x))``."""

    # Python-side metadata, not model state: TorchScript must not try to type these
    __jit_ignored_attributes__ = ["feature_info", "pretrained_cfg", "default_cfg", "model_args"]
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
        self.drop_rate = 0.0  # dropout before the classifier (timm's drop_rate)
        self.grad_checkpointing = False

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

    def head_dropout(self, x: torch.Tensor) -> torch.Tensor:
        """Dropout at ``drop_rate`` on what the classifier reads (training only); families call it in ``forward_head``."""
        if self.drop_rate > 0.0:
            return nn.functional.dropout(x, self.drop_rate, self.training)
        return x

    # --- timm's training switches --------------------------------------------------------------------

    def set_drop_rate(self, rate: float) -> None:
        """Dropout before the classifier during training (timm's ``drop_rate``)."""
        self.drop_rate = _check_rate(rate, "drop_rate")

    def stochastic_depth_blocks(self) -> List[nn.Module]:
        """The blocks whose residual branch stochastic depth may drop, shallow to deep."""
        return [m for m in self.modules() if m is not self and isinstance(getattr(m, "drop_path_rate", None), float)
                and getattr(m, "use_residual", True)]

    def set_drop_path_rate(self, rate: float) -> None:
        """Stochastic depth as timm schedules it: the rate grows linearly from 0 at the first residual block to
        ``rate`` at the last. Families with another rule (DARTS: one rate in every cell) override this."""
        rate = _check_rate(rate, "drop_path_rate")
        blocks = self.stochastic_depth_blocks()
        if not blocks and rate > 0.0:
            raise InvalidInputError(f"drop_path_rate={rate}: {type(self).__name__} has no residual blocks to drop; "
                                    "use drop_path_rate=0 (drop_rate still applies)")
        for index, block in enumerate(blocks):
            block.drop_path_rate = rate * index / max(len(blocks) - 1, 1)

    def checkpoint_stages(self) -> List[str]:
        """The modules grad checkpointing recomputes: the stages of ``feature_sequence`` by default."""
        return self.feature_sequence()

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each stage's activations in the backward pass instead of keeping them (timm's API).

        It trades compute for memory in training; gradients are unchanged. Every path that runs the stages
        (``forward``, ``forward_features``, ``forward_intermediates``, feature extractors) is checkpointed.
        Turn it off before scripting or FX tracing.
        """
        for name in self.checkpoint_stages():
            module = self.get_submodule(name)
            module.__dict__.pop("forward", None)  # back to the class's forward
            if enable and any(True for _ in module.parameters()):
                module.forward = functools.partial(_checkpointed, type(module).forward.__get__(module))
        self.grad_checkpointing = bool(enable)

    def set_output_stride(self, output_stride: int) -> None:
        """Dilate the last stages so the features stop at ``output_stride`` (timm's); 32 leaves the network as is."""
        if output_stride != 32:
            raise InvalidInputError(f"output_stride={output_stride}: {type(self).__name__} cannot dilate its stages; "
                                    "use 32 (the ResNet-layout families, resnext* and relgraph_resnet*, take 16 and 8)")

    # --- timm's feature API --------------------------------------------------------------------------

    @torch.jit.unused
    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: Union[int, Sequence[int], None] = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """timm's ``forward_intermediates``: the feature levels of ``feature_info`` and the final features.

        Args:
            indices: ``None`` (every level), an int ``n`` (the last ``n`` levels) or level indices (negative from
                the end).
            norm: accepted for timm's callers; no zoo family has a final norm to apply.
            stop_early: stop after the deepest requested level (the returned final features are that level's).
            output_fmt: ``'NCHW'`` (the layout of the model: video levels are ``N, C, T, H, W``).
            intermediates_only: return only the list of levels.
        """
        del norm
        if output_fmt != "NCHW":
            raise InvalidInputError(f"output_fmt={output_fmt!r}: zoo models give their levels as 'NCHW'")
        levels = self.feature_info
        take = take_indices(len(levels), indices)
        sequence = self.feature_sequence()
        wanted = {levels[i]["module"] for i in take}
        last = max(sequence.index(name) for name in wanted) if stop_early else len(sequence) - 1
        sequence = sequence[: last + 1]
        taps = [name in wanted or i == last for i, name in enumerate(sequence)]
        outputs = self.feature_taps(x, sequence, taps)
        intermediates = outputs if sequence[last] in wanted else outputs[:-1]
        if intermediates_only:
            return intermediates
        return outputs[-1], intermediates

    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        """timm's parameter groups, shallow to deep, for layer-wise learning-rate decay.

        ``stem`` holds the modules up to the first feature level; ``blocks`` one group per later stage module
        (``coarse``: one per feature level). Parameters that match none (the head) go last, as timm places them.
        """
        sequence = self.feature_sequence()
        levels = [sequence.index(level["module"]) for level in self.feature_info]
        stem = sequence[: levels[0] + 1]
        rest = sequence[levels[0] + 1:]
        if coarse:
            groups = [sequence[start + 1: end + 1] for start, end in zip(levels, levels[1:])]
            groups[-1] = groups[-1] + sequence[levels[-1] + 1:]
        else:  # a stage that is a plain run of same-kind blocks (ResNet's layer1) splits into its blocks
            groups = [[f"{name}.{child}" if child else name] for name in rest for child in _blocks_of(self.get_submodule(name))]
        return {
            "stem": _prefix_pattern(stem),
            "blocks": [(_prefix_pattern(names), (index,)) for index, names in enumerate(groups) if names],
        }

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


def _check_rate(rate: float, what: str) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise InvalidInputError(f"{what} must be a probability in [0, 1), got {rate!r}")
    return float(rate)


def _checkpointed(forward: Any, *inputs: Any) -> Any:
    """Run ``forward`` under activation checkpointing when gradients flow in training, plainly otherwise."""
    module = forward.__self__
    if module.training and torch.is_grad_enabled():
        return torch.utils.checkpoint.checkpoint(forward, *inputs, use_reentrant=False)
    return forward(*inputs)


def _blocks_of(module: nn.Module) -> List[str]:
    """Child names of a plain ``nn.Sequential`` of blocks of one kind, or ``[""]`` for the module itself."""
    children = list(module.named_children())
    if type(module) is nn.Sequential and len(children) > 1 and len({type(c) for _, c in children}) == 1:
        return [child for child, _ in children]
    return [""]


def _prefix_pattern(names: Sequence[str]) -> str:
    """A regex matching the parameters of the modules ``names`` (``layer1`` matches ``layer1.0.conv1.weight``)."""
    return "^(?:" + "|".join(re.escape(name) for name in names) + r")\."


def take_indices(levels: int, indices: Union[int, Sequence[int], None]) -> List[int]:
    """timm's rule for ``forward_intermediates``: None -> all levels, n -> the last n, a list -> those levels."""
    if indices is None:
        return list(range(levels))
    if isinstance(indices, int) and not isinstance(indices, bool):
        if not 0 < indices <= levels:
            raise InvalidInputError(f"indices={indices}: take the last 1..{levels} levels")
        return list(range(levels - indices, levels))
    return list(resolve_out_indices(levels, indices))


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
        return x if pre_logits else self.fc(self.head_dropout(x))

    def set_output_stride(self, output_stride: int) -> None:
        """torchvision's ``replace_stride_with_dilation``: 16 dilates ``layer4``, 8 ``layer3`` and ``layer4``.

        A dilated stage keeps its weights; its strides become 1 and its spatial convs dilate, the first block's
        at the previous dilation and the rest at the doubled one.
        """
        stages = {32: (), 16: ("layer4",), 8: ("layer3", "layer4")}
        if output_stride not in stages:
            raise InvalidInputError(f"output_stride={output_stride}: {type(self).__name__} takes 8, 16 or 32")
        dilation = 1
        for name in stages[output_stride]:
            previous, dilation = dilation, dilation * 2
            for index, block in enumerate(self.get_submodule(name)):
                for conv in block.modules():
                    if isinstance(conv, nn.Conv2d):
                        conv.stride = (1, 1)
                        if conv.kernel_size[0] > 1:
                            d = previous if index == 0 else dilation
                            conv.dilation = (d, d)
                            conv.padding = (d * (conv.kernel_size[0] - 1) // 2,) * 2
        dilated = set(stages[output_stride])
        self.feature_info = [{**level, "reduction": min(level["reduction"], output_stride)}
                             if level["module"] in dilated else dict(level) for level in self.feature_info]


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

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Checkpoint the wrapped network's stages (timm's feature wrappers take this call too)."""
        self.model.set_grad_checkpointing(enable)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return self.model.feature_taps(x, self._sequence, self._taps)

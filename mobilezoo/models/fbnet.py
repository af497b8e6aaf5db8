"""FBNet, FBNetV2 (DMaskingNAS), FBNetV3 and the MobileNetV3 baseline: one builder over arch defs.

An architecture definition (see :mod:`mobilezoo.models.fbnet_archs`) is data; :func:`build_fbnet`
turns it into a network whose state-dict keys match mobile-vision's checkpoints
(``backbone.stages.xif{S}_{B}.*``, ``head.conv.*``).

The last FBNetV2/V3 block (``ir_pool``) expands, pools globally and applies a 1x1 conv. As in timm, only its
spatial part belongs to ``forward_features`` (the unpooled map, ``num_features`` channels); its pool and
1x1 conv run in ``forward_head`` (``head_hidden_size`` channels), under the same state-dict keys.
"""

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..errors import ArchDefError
from ..registry import ModelEntry, WeightEntry, default_cfg, register_model
from .base import ZooModel
from .blocks import ChannelShuffle, ConvBNAct, SqueezeExcite, drop_path, make_divisible
from .fbnet_archs import ARCHS

OPTION_DEFAULTS: dict[str, Any] = {
    "width_divisor": 8,
    "bias": False,  # bias of the convs inside inverted-residual and ir_pool blocks
    "less_se_channels": False,
    "zero_last_bn_gamma": False,
}
IR_OP = re.compile(r"ir_k(?P<k>[357])(?:_g(?P<g>\d+))?(?P<se>_sehsig)?(?P<hs>_hs)?")
CONV_OP = re.compile(r"conv_k(?P<k>[1357])(?P<hs>_hs)?")
POOL_OP = re.compile(r"ir_pool(?P<hs>_hs)?")
OP_HELP = "conv_k{1,3,5,7}[_hs], ir_k{3,5,7}[_g2][_sehsig][_hs], skip, ir_pool[_hs]"
#: limits on a definition, checked before anything is allocated (the zoo's own definitions reach 1,984 channels,
#: 8 repeats and expansion 6.9; a typo like 10**9 channels would otherwise allocate gigabytes before failing)
MAX_CHANNELS, MAX_REPEAT, MAX_EXPANSION, MAX_PARAMS = 16_384, 64, 64, 500_000_000


@dataclass(frozen=True)
class BlockSpec:
    """One block, after expanding repeats: what the builder instantiates."""

    name: str  # xif{stage}_{index}
    op: str
    in_channels: int
    out_channels: int
    stride: int
    expansion: float
    dw_padding: int | None = None  # None: kernel // 2 ("same"); FBNetV3 overrides a few strided blocks


class IRBlock(nn.Module):
    """Inverted residual: [1x1 pw] -> [shuffle] -> kxk depthwise -> [SE] -> 1x1 pwl (+ residual)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        expansion: float,
        act: str,
        use_se: bool,
        groups: int,
        options: Mapping[str, Any],
        dw_padding: int | None = None,
    ) -> None:
        super().__init__()
        divisor, bias = options["width_divisor"], options["bias"]
        mid = make_divisible(in_channels * expansion, divisor)
        self.pw = (
            ConvBNAct(in_channels, mid, 1, groups=groups, bias=bias, act=act) if mid != in_channels else None
        )
        self.shuffle = ChannelShuffle(groups) if groups > 1 else None  # even without pw, as upstream
        self.dw = ConvBNAct(mid, mid, kernel_size, stride, groups=mid, bias=bias, act=act, padding=dw_padding)
        self.se = None
        if use_se:
            ratio = 0.25 / expansion if options["less_se_channels"] else 0.25
            self.se = SqueezeExcite(mid, make_divisible(int(mid * ratio), divisor), act=act)
        self.pwl = ConvBNAct(mid, out_channels, 1, groups=groups, bias=bias, act="identity")
        self.use_residual = in_channels == out_channels and stride == 1
        self.drop_path_rate = 0.0  # stochastic depth on the residual branch (create_model(drop_path_rate=...))
        if self.use_residual and options["zero_last_bn_gamma"]:
            nn.init.zeros_(self.pwl.bn.weight)  # residual branch starts at zero

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.pw is not None:
            y = self.pw(y)
        if self.shuffle is not None:
            y = self.shuffle(y)
        y = self.dw(y)
        if self.se is not None:
            y = self.se(y)
        y = self.pwl(y)
        return x + drop_path(y, self.drop_path_rate, self.training) if self.use_residual else y


class SkipBlock(nn.Module):
    """Identity, or a 1x1 projection (conv -> BN -> ReLU, even in hswish stages) when shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv = None
        if in_channels != out_channels or stride != 1:
            self.conv = ConvBNAct(in_channels, out_channels, 1, stride, bias=False, act="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.conv is None else self.conv(x)


class IRPoolBlock(nn.Module):
    """The last FBNetV2/V3 block: 1x1 expand -> BN -> act | global pool -> 1x1 conv -> act (no BN).

    ``forward`` is the spatial part (the expansion); :class:`FBNetPooledHead` runs the pool (``dw``) and the
    last conv (``pwl``) in its head, so ``forward_features`` returns an unpooled map.
    """

    def __init__(self, in_channels: int, out_channels: int, expansion: float, act: str, options: Mapping[str, Any]):
        super().__init__()
        mid = make_divisible(in_channels * expansion, options["width_divisor"])
        self.mid_channels = mid
        self.pw = ConvBNAct(in_channels, mid, 1, bias=options["bias"], act=act) if mid != in_channels else None
        self.dw = nn.AdaptiveAvgPool2d(1)
        self.pwl = ConvBNAct(mid, out_channels, 1, bias=options["bias"], use_bn=False, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pw is not None:
            x = self.pw(x)
        return x

    def whole(self, x: torch.Tensor) -> torch.Tensor:
        """The block as one unit, pooled (the latency table measures it this way)."""
        return self.pwl(self.dw(self.forward(x)))


class Backbone(nn.Module):
    def __init__(self, stages: nn.Sequential) -> None:
        super().__init__()
        self.stages = stages

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)


class ClassifierHead(nn.Module):
    """Global average pool -> 1x1 conv with bias (a conv, not a Linear, as in mobile-vision)."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(in_channels, num_classes, 1, bias=True) if num_classes > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.conv(self.avg_pool(x)), 1)


class FBNet(ZooModel):
    """A network of the FBNet family built from an architecture definition (last block not ``ir_pool``)."""

    classifier_name = "head.conv"
    __jit_ignored_attributes__ = ZooModel.__jit_ignored_attributes__ + ["blocks_spec", "options"]

    def __init__(self, blocks: list[BlockSpec], options: Mapping[str, Any], num_classes: int = 1000, in_chans: int = 3):
        super().__init__()
        self.in_chans = in_chans
        self.blocks_spec = blocks
        self.options = dict(options)
        self.backbone = Backbone(nn.Sequential(OrderedDict((b.name, _make_block(b, options)) for b in blocks)))
        last = self.backbone.stages[-1]
        self.num_features = last.mid_channels if isinstance(last, IRPoolBlock) else blocks[-1].out_channels
        self.head_hidden_size = blocks[-1].out_channels
        self.num_classes = num_classes
        self.head = ClassifierHead(self.head_hidden_size, num_classes)
        self.feature_info = _feature_levels(blocks)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        if isinstance(self.head.conv, nn.Conv2d):
            nn.init.normal_(self.head.conv.weight, std=0.01)

    def feature_sequence(self) -> list[str]:
        return [f"backbone.stages.{b.name}" for b in self.blocks_spec]

    def feature_map_size(self, input_size: Sequence[int]) -> tuple[int, ...]:
        """Exact conv arithmetic over the blocks (FBNetV3's depthwise padding overrides shrink some maps)."""
        sizes = [int(s) for s in input_size]
        for block in self.blocks_spec:
            if block.stride == 1 or POOL_OP.fullmatch(block.op):
                continue
            match = CONV_OP.fullmatch(block.op) or IR_OP.fullmatch(block.op)
            kernel = int(match["k"]) if match else 1
            padding = block.dw_padding if block.dw_padding is not None else kernel // 2
            sizes = [(s + 2 * padding - kernel) // block.stride + 1 for s in sizes]
        return tuple(sizes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def head_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Layers between the features and the classifier (none here)."""
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = self.global_pool == "avg"
        x = self.head_hidden(x)
        if pooled:
            x = self.head.avg_pool(x)
        if not pre_logits:
            x = self.head.conv(self.head_dropout(x))  # a 1x1 conv: it also runs on an unpooled map (global_pool='')
        return torch.flatten(x, 1) if pooled else x

    def make_classifier(self, num_classes: int) -> nn.Module:
        return nn.Conv2d(self.head_hidden_size, num_classes, 1, bias=True) if num_classes > 0 else nn.Identity()


class FBNetPooledHead(FBNet):
    """An FBNet whose last block is ``ir_pool``: its pool and 1x1 conv open the head.

    The head pools twice, as upstream does (the block's pool, then the classifier's on the 1x1 map), so
    the multiply-add count equals mobile-vision's ``flops_m`` to the last digit.
    """

    def head_hidden(self, x: torch.Tensor) -> torch.Tensor:
        last = self.backbone.stages[-1]
        if self.global_pool == "avg":
            x = last.dw(x)
        return last.pwl(x)


def _make_block(spec: BlockSpec, options: Mapping[str, Any]) -> nn.Module:
    if spec.op == "skip":
        return SkipBlock(spec.in_channels, spec.out_channels, spec.stride)
    if match := CONV_OP.fullmatch(spec.op):
        act = "hswish" if match["hs"] else "relu"
        # bias=True: the stem and conv_k1 rely on nn.Conv2d's default in mobile-vision
        return ConvBNAct(spec.in_channels, spec.out_channels, int(match["k"]), spec.stride, bias=True, act=act)
    if match := POOL_OP.fullmatch(spec.op):
        return IRPoolBlock(spec.in_channels, spec.out_channels, spec.expansion, "hswish" if match["hs"] else "relu", options)
    match = IR_OP.fullmatch(spec.op)
    return IRBlock(
        spec.in_channels,
        spec.out_channels,
        int(match["k"]),
        spec.stride,
        spec.expansion,
        act="hswish" if match["hs"] else "relu",
        use_se=bool(match["se"]),
        groups=int(match["g"] or 1),
        options=options,
        dw_padding=spec.dw_padding,
    )


def _feature_levels(blocks: list[BlockSpec]) -> list[dict[str, Any]]:
    """One level per resolution: the last block before each downsampling, and the last spatial block."""
    levels, reduction = [], 1
    spatial = [b for b in blocks if not POOL_OP.fullmatch(b.op)]
    for index, block in enumerate(spatial):
        reduction *= block.stride
        following = spatial[index + 1] if index + 1 < len(spatial) else None
        if following is None or following.stride > 1:
            levels.append({"module": f"backbone.stages.{block.name}", "num_chs": block.out_channels, "reduction": reduction})
    return levels


def expand_blocks(arch: Mapping[str, Any], in_chans: int = 3, where: str = "definition") -> list[BlockSpec]:
    """Validate an architecture definition and expand its rows into blocks.

    Errors name the stage and block, e.g. ``stage 3, row 1 (block xif3_0): stride must be 1 or 2``.
    """
    stages = arch.get("stages")
    if not isinstance(stages, (list, tuple)) or not stages:
        raise ArchDefError(f"{where}: 'stages' must be a non-empty list of stages")
    blocks: list[BlockSpec] = []
    channels = in_chans
    for stage_index, stage in enumerate(stages):
        if not isinstance(stage, (list, tuple)) or not stage:
            raise ArchDefError(f"{where}: stage {stage_index} must be a non-empty list of rows")
        block_index = 0
        for row_index, row in enumerate(stage):
            name = f"xif{stage_index}_{block_index}"
            at = f"{where}: stage {stage_index}, row {row_index} (block {name})"
            op, out_channels, stride, repeat, expansion, dw_padding = _parse_row(row, at)
            for repeat_index in range(repeat):
                block_stride = stride if repeat_index == 0 else 1
                block_out = channels if op == "skip" and out_channels == 0 else out_channels
                blocks.append(
                    BlockSpec(
                        f"xif{stage_index}_{block_index}", op, channels, block_out, block_stride, expansion,
                        dw_padding if repeat_index == 0 else None,  # the override belongs to the strided block
                    )
                )
                channels = block_out
                block_index += 1
    if blocks[0].op == "skip":
        raise ArchDefError(f"{where}: stage 0 must start with a conv or an ir block, not a skip")
    pools = [b.name for b in blocks if POOL_OP.fullmatch(b.op)]
    if pools and pools != [blocks[-1].name]:
        raise ArchDefError(f"{where}: block {pools[0]}: ir_pool pools globally, so it can only be the last block")
    return blocks


ROW_OPTIONS = ("e", "dw_padding")


def _parse_row(row: Any, at: str) -> tuple[str, int, int, int, float, int | None]:
    if not isinstance(row, (list, tuple)) or not 4 <= len(row) <= 5:
        raise ArchDefError(f"{at}: a row is [op, out_channels, stride, repeat, {{options}}], got {row!r}")
    op, out_channels, stride, repeat = row[:4]
    extra = row[4] if len(row) == 5 else {}
    if not isinstance(op, str) or not (
        op == "skip" or IR_OP.fullmatch(op) or CONV_OP.fullmatch(op) or POOL_OP.fullmatch(op)
    ):
        raise ArchDefError(f"{at}: unknown op {op!r}; known ops: {OP_HELP}")
    if isinstance(out_channels, bool) or not isinstance(out_channels, int) or not 0 < out_channels <= MAX_CHANNELS:
        raise ArchDefError(f"{at}: out_channels must be a whole number in 1..{MAX_CHANNELS}, got {out_channels!r}")
    if stride not in (1, 2) or isinstance(stride, bool):
        raise ArchDefError(f"{at}: stride must be 1 or 2, got {stride!r}")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise ArchDefError(f"{at}: repeat must be a whole number in 1..{MAX_REPEAT}, got {repeat!r}")
    if not isinstance(extra, Mapping) or set(extra) - set(ROW_OPTIONS):
        raise ArchDefError(f"{at}: row options are 'e' (expansion) and 'dw_padding', got {extra!r}")
    dw_padding = extra.get("dw_padding")
    if dw_padding is not None and (isinstance(dw_padding, bool) or not isinstance(dw_padding, int) or dw_padding < 0):
        raise ArchDefError(f"{at}: dw_padding must be a whole number >= 0, got {dw_padding!r}")
    if dw_padding is not None and not IR_OP.fullmatch(op):
        raise ArchDefError(f"{at}: dw_padding only applies to ir_k* ops, not {op!r}")
    expansion = extra.get("e", 6)
    if isinstance(expansion, bool) or not isinstance(expansion, (int, float)) or not 0 < expansion <= MAX_EXPANSION:
        raise ArchDefError(f"{at}: expansion 'e' must be a number in (0, {MAX_EXPANSION}], got {expansion!r}")
    if (match := IR_OP.fullmatch(op)) and match["g"] and out_channels % int(match["g"]):
        raise ArchDefError(f"{at}: out_channels {out_channels} is not divisible by the group count {match['g']}")
    return op, out_channels, stride, repeat, float(expansion), dw_padding


def scale_widths(arch: Mapping[str, Any], width_ratio: float, divisor: int) -> dict[str, Any]:
    """``arch`` with every row's out_channels times ``width_ratio``, rounded to ``divisor`` (mobile-vision's
    ``width_ratio``: the whole network, stem and head included, the expansions kept)."""
    if isinstance(width_ratio, bool) or not isinstance(width_ratio, (int, float)) or not 0 < width_ratio <= 16:
        raise ArchDefError(f"width_ratio must be a number in (0, 16], got {width_ratio!r}")
    stages = [[[row[0], make_divisible(row[1] * width_ratio, divisor) if isinstance(row[1], (int, float))
                and not isinstance(row[1], bool) else row[1], *row[2:]] if isinstance(row, (list, tuple)) and len(row) >= 2
               else row for row in stage] if isinstance(stage, (list, tuple)) else stage for stage in arch.get("stages", [])]
    return {**arch, "stages": stages}


def build_fbnet(arch: Mapping[str, Any], num_classes: int = 1000, in_chans: int = 3, where: str = "definition",
                width_ratio: float = 1.0) -> FBNet:
    """Build a network from an architecture definition (``input_size``, ``options``, ``stages``); ``width_ratio``
    scales every width (rounded to the definition's ``width_divisor``), as mobile-vision's builder does."""
    options = dict(OPTION_DEFAULTS)
    unknown = set(arch.get("options", {})) - set(OPTION_DEFAULTS)
    if unknown:
        raise ArchDefError(f"{where}: unknown option '{sorted(unknown)[0]}'; options are {', '.join(OPTION_DEFAULTS)}")
    options.update(arch.get("options", {}))
    if not isinstance(options["width_divisor"], int) or options["width_divisor"] < 1:
        raise ArchDefError(f"{where}: width_divisor must be a whole number >= 1")
    if width_ratio != 1.0:
        arch = scale_widths(arch, width_ratio, options["width_divisor"])
    blocks = expand_blocks(arch, in_chans, where)
    estimate = estimate_weight_params(blocks, options["width_divisor"]) + blocks[-1].out_channels * num_classes
    if estimate > MAX_PARAMS:
        raise ArchDefError(f"{where}: the definition has about {estimate:,} weights, over the limit of {MAX_PARAMS:,}; "
                           "check its channel counts, expansions and repeats")
    network = FBNetPooledHead if POOL_OP.fullmatch(blocks[-1].op) else FBNet
    return network(blocks, options, num_classes=num_classes, in_chans=in_chans)


def estimate_weight_params(blocks: list[BlockSpec], width_divisor: int = 8) -> int:
    """Conv weights of the blocks, counted from the specs alone (nothing is allocated); SE is included."""
    total = 0
    for block in blocks:
        if block.op == "skip":
            total += block.in_channels * block.out_channels if block.in_channels != block.out_channels or block.stride > 1 else 0
        elif match := CONV_OP.fullmatch(block.op):
            total += block.in_channels * block.out_channels * int(match["k"]) ** 2
        else:
            mid = make_divisible(block.in_channels * block.expansion, width_divisor)
            kernel = int(match["k"]) if (match := IR_OP.fullmatch(block.op)) else 0
            se = mid * mid // 2 if match and match["se"] else 0
            total += block.in_channels * mid + mid * kernel**2 + se + mid * block.out_channels
    return total


# --- registry entries -------------------------------------------------------------------------------
# From the mobile-vision model-zoo registry (model_info/fbnet_v2/*.json, dmasking at a21b5e2):
# name -> (upstream name, resize, params_m, flops_m, top-1, top-5, checkpoint URL or None).
# params_m counts Conv/Linear weights; flops_m is fvcore MACs without BN. The tests measure both.

_MV = "https://dl.fbaipublicfiles.com/fbnet/models/"
_PUBLISHED: dict[str, tuple[str, int | None, float | None, float | None, float | None, float | None, str | None]] = {
    "fbnetv2_f0": ("FBNetV2_F0", None, None, None, None, None, None),
    "fbnetv2_f1": ("FBNetV2_F1", 151, 5.999408, 56.41056, 68.278, 87.83, "20200325/dktSJh/FBNetV2_F1_f167001958"),
    "fbnetv2_f2": ("FBNetV2_F2", 179, 5.999408, 85.441392, 70.9759, 89.598, "20200318/ezwcZW/FBNetV2_F2_f167001918"),
    "fbnetv2_f3": ("FBNetV2_F3", 208, 6.899504, 121.824, 73.0319, 90.8068, "20200318/ezwcZW/FBNetV2_F3_f167001975"),
    "fbnetv2_f4": ("FBNetV2_F4", 251, 6.994824, 238.351984, 75.818, 92.342, "20200325/dktSJh/FBNetV2_F4_f167001913"),
    "fbnetv2_l1": ("FBNetV2_L1", 256, 8.49652, 326.023008, 77.038, 93.3624, "20200422/ElRAUZ/FBNetV2_L1_f183461678"),
    "fbnetv2_l2": ("FBNetV2_L2", 287, 8.49652, 423.912768, 78.2429, 93.8059, "20200318/NEPKxa/FBNetV2_L2_f167001961"),
    "dmasking_f1": ("dmasking_f1", 146, 5.99297, 56.27495, 68.2961, 87.8099, "20200104/hnYGKi/dmasking_f1_f156819307"),
    "dmasking_f4": ("dmasking_f4", 256, 6.99169, 235.88279, 75.5238, 92.4504, "20200104/hnYGKi/dmasking_f4_f156704077"),
    "dmasking_l2_hs": ("dmasking_l2_hs", 288, 8.49286, 419.06478, 77.6631, 93.736, "20200104/hnYGKi/dmasking_l2_hs_f157689684"),
    "dmasking_l3": ("dmasking_l3", 324, 9.39406, 753.163968, 78.8668, 94.3318, "20200105/melBmS/dmasking_l3_f156819299"),
    # FBNet v1 in the fbnet_v2 builder: figures published, checkpoint address not in the public registry we checked
    "fbnet_a": ("FBNet_a", None, 4.27029, 244.52636, 73.3, 90.92, None),
    "fbnet_b": ("FBNet_b", None, 4.76667, 291.10164, 74.54, 91.78, None),
    "fbnet_c": ("FBNet_c", None, 5.52542, 378.23344, 75.25, 92.29, None),
    "fbnetv3_a": ("FBNetV3_A", 242, 8.542224, 356.59828, 79.574, 94.712, "20201201/GtOtfw/FBNetV3_A_f235707940"),
    "fbnetv3_b": ("FBNetV3_B", 266, 8.542224, 461.550136, 80.206, 94.944, "20201201/GtOtfw/FBNetV3_B_f233607847"),
    "fbnetv3_c": ("FBNetV3_C", 272, 9.907136, 556.969904, 80.826, 95.286, "20201201/GtOtfw/FBNetV3_C_f234529537"),
    "fbnetv3_d": ("FBNetV3_D", 277, 10.237552, 644.420352, 81.042, 95.436, "20201201/GtOtfw/FBNetV3_D_f231225742"),
    "fbnetv3_e": ("FBNetV3_E", 291, 10.699464, 762.046336, 81.254, 95.488, "20201201/GtOtfw/FBNetV3_E_f230158956"),
    "fbnetv3_f": ("FBNetV3_F", 296, 13.803072, 1181.64452, 82.062, 95.874, "20201201/GtOtfw/FBNetV3_F_f230161092"),
    "fbnetv3_g": ("FBNetV3_G", 325, 16.513648, 2129.656384, 82.794, 96.3, "20201201/GtOtfw/FBNetV3_G_f226438997"),
    # MobileNetV3-Large in this builder: the paper reports 5.4M params, 219M MAdds (no mobile-vision checkpoint)
    "mnv3": ("mnv3", None, None, None, None, None, None),
}
_PAPERS = {
    "fbnet_": "arXiv:1812.03443",
    "fbnetv2_": "arXiv:2004.05565",
    "dmasking_": "arXiv:2004.05565",
    "fbnetv3_": "arXiv:2006.02049",
    "mnv3": "arXiv:1905.02244",
}
_LICENSE = "Apache-2.0 (mobile-vision)"
#: the names timm and torchvision users know MobileNetV3-Large by (same layers; their weights use other keys)
EXTRA_ALIASES = {"mnv3": ("mobilenetv3_large_100", "mobilenet_v3_large")}


def _paper(name: str) -> str:
    return next(paper for prefix, paper in sorted(_PAPERS.items(), key=lambda kv: -len(kv[0])) if name.startswith(prefix))


def _fbnet_builder(name: str):
    def build(num_classes: int = 1000, in_chans: int = 3, width_ratio: float = 1.0) -> FBNet:
        return build_fbnet(ARCHS[name], num_classes=num_classes, in_chans=in_chans, where=name, width_ratio=width_ratio)

    build.__doc__ = f"Build {name} from its architecture definition."
    return build


def _register_all() -> None:
    for name, (upstream, resize, params_m, flops_m, top1, top5, path) in _PUBLISHED.items():
        arch = ARCHS[name]
        published: dict[str, Any] = {"upstream_name": upstream, "resolution": arch["input_size"]}
        if params_m is not None:
            published.update(
                weight_params=round(params_m * 1e6), params_m=params_m, flops_m=flops_m, gmacs=flops_m / 1e3,
                top1=top1, top5=top5, macs_convention="fvcore, without batch-norm (mobile-vision flops_m)",
            )
        weights = {}
        if path:
            weights["mv_in1k"] = WeightEntry(
                tag="mv_in1k",
                url=f"{_MV}{path}/model.pth",
                metrics={"top1": top1, "top5": top5},
                source="mobile-vision",
                license=_LICENSE,
                notes="container {'model_ema' or 'state_dict'} with 'module.' prefix; loads strictly",
            )
        register_model(
            ModelEntry(
                name=name,
                builder=_fbnet_builder(name),
                family="fbnet",
                cfg=default_cfg(arch["input_size"], resize=resize, first_conv="backbone.stages.xif0_0.conv",
                                classifier="head.conv"),
                published=published,
                paper=_paper(name),
                aliases=((upstream,) if upstream.lower() != name else ()) + EXTRA_ALIASES.get(name, ()),
                weights=weights,
                description=f"{upstream} ({'2020 DMaskingNAS release' if name.startswith('dmasking') else 'mobile-vision HEAD'} definition)"
                if not name.startswith(("fbnet_", "mnv3")) else f"{upstream} in the FBNet builder",
            )
        )


_register_all()

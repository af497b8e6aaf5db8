"""FBNet-family architecture definitions, as data.

Each definition has ``input_size`` (native resolution), ``options`` (global builder options) and
``stages``: a list of stages, each a list of rows ``(op, out_channels, stride, repeat[, {"e": expansion}])``.
A row with ``repeat`` n expands to n blocks; only the first keeps the stride. Blocks are named
``xif{stage}_{index}`` as in mobile-vision, so checkpoints load without renaming.

Ops (see :mod:`mobilezoo.models.fbnet`): ``conv_k{1,3}[_hs]``, ``ir_k{3,5}[_sehsig][_hs]``,
``ir_k{3,5}_g2`` (grouped pointwise + channel shuffle), ``skip``, ``ir_pool_hs``.

``dw_padding`` overrides the depthwise conv's padding (default ``k // 2``): FBNetV3 A/B/C/E/F use it on
some stride-2 blocks, which shrinks the feature maps (and the published FLOPs) without changing params.

Facts from the mobile-vision model definitions (FBNet, FBNetV2/DMaskingNAS at HEAD and the 2020
``dmasking_*`` release, FBNetV3, the MobileNetV3 baseline), re-expressed in this format.
"""

from __future__ import annotations

import copy
from typing import Any

#: FBNetV2 at mobile-vision HEAD: channels rounded to 8, no bias in inverted-residual convs
V2_HEAD: dict[str, Any] = {"width_divisor": 8, "bias": False, "zero_last_bn_gamma": True}
#: FBNetV3: as V2 HEAD, with SE widths divided by the block's expansion
V3_HEAD: dict[str, Any] = {**V2_HEAD, "less_se_channels": True}
#: the 2020 DMaskingNAS release: no channel rounding, biased inverted-residual convs
DMASKING_2020: dict[str, Any] = {"width_divisor": 1, "bias": True}
#: FBNet v1 (2019): no channel rounding, biased convs (kept at HEAD for checkpoint compatibility)
FBNET_V1: dict[str, Any] = {"width_divisor": 1, "bias": True}
#: MobileNetV3-Large expressed in the same builder (the hand-designed baseline)
MNV3: dict[str, Any] = {"width_divisor": 8, "bias": False}


def at_resolution(arch: dict[str, Any], input_size: int) -> dict[str, Any]:
    """The same network evaluated at another native resolution (FBNetV2 F1/F2, L1/L2)."""
    return {**copy.deepcopy(arch), "input_size": input_size}


ARCHS: dict[str, dict[str, Any]] = {}

ARCHS["fbnetv2_f0"] = {"options": V2_HEAD, "input_size": 224, "stages": [
    [("conv_k3_hs", 8, 2, 1)],
    [("ir_k5_hs", 8, 1, 1, {"e": 1})],
    [("ir_k5_hs", 16, 2, 1, {"e": 4}), ("ir_k5_hs", 16, 1, 1, {"e": 3})],
    [("ir_k5_sehsig", 24, 2, 1, {"e": 4}), ("ir_k5_sehsig", 24, 1, 1, {"e": 3})],
    [("ir_k5_sehsig_hs", 48, 2, 1, {"e": 4}), ("ir_k3_sehsig_hs", 48, 1, 1, {"e": 3}), ("ir_k5_sehsig_hs", 64, 1, 1, {"e": 3}), ("ir_k5_sehsig_hs", 64, 1, 1, {"e": 2})],
    [("ir_k3_sehsig_hs", 128, 2, 1, {"e": 3}), ("ir_k5_sehsig_hs", 160, 1, 1, {"e": 3}), ("skip", 192, 1, 1)],
    [("ir_pool_hs", 1280, 1, 1, {"e": 4})],
]}
ARCHS["fbnetv2_f1"] = {"options": V2_HEAD, "input_size": 128, "stages": [
    [("conv_k3_hs", 8, 2, 1)],
    [("ir_k5", 8, 1, 1, {"e": 1})],
    [("ir_k5", 24, 2, 1, {"e": 5.4566}), ("ir_k5", 24, 1, 1, {"e": 4.7912})],
    [("ir_k5_sehsig", 32, 2, 1, {"e": 5.3501}), ("ir_k5_sehsig", 24, 1, 1, {"e": 4.5379})],
    [("ir_k5_hs", 56, 2, 1, {"e": 5.7133}), ("ir_k3_hs", 56, 1, 1, {"e": 4.1212}), ("ir_k3_sehsig_hs", 56, 1, 1, {"e": 5.1246}), ("skip", 80, 1, 1), ("ir_k5_sehsig_hs", 80, 1, 1, {"e": 4.507}), ("ir_k5_sehsig_hs", 80, 1, 1, {"e": 1.7712})],
    [("ir_k3_sehsig_hs", 144, 2, 1, {"e": 4.5685}), ("ir_k5_sehsig_hs", 144, 1, 1, {"e": 5.84}), ("ir_k5_sehsig_hs", 144, 1, 1, {"e": 6.8754}), ("skip", 224, 1, 1)],
    [("ir_pool_hs", 1600, 1, 1, {"e": 6})],
]}
# FBNetV2_F2: the network of fbnetv2_f1 at 160px
ARCHS["fbnetv2_f2"] = at_resolution(ARCHS["fbnetv2_f1"], 160)
ARCHS["fbnetv2_f3"] = {"options": V2_HEAD, "input_size": 192, "stages": [
    [("conv_k3_hs", 8, 2, 1)],
    [("ir_k5", 8, 1, 1, {"e": 1})],
    [("ir_k5", 24, 2, 1, {"e": 5.4566}), ("ir_k5", 24, 1, 1, {"e": 4.7912})],
    [("ir_k5_sehsig", 32, 2, 1, {"e": 5.3501}), ("ir_k5_sehsig", 24, 1, 1, {"e": 4.5379})],
    [("ir_k5_hs", 56, 2, 1, {"e": 5.7133}), ("ir_k3_hs", 56, 1, 1, {"e": 4.1212}), ("ir_k3_sehsig_hs", 56, 1, 1, {"e": 5.1246}), ("skip", 80, 1, 1), ("ir_k5_sehsig_hs", 80, 1, 1, {"e": 4.507}), ("ir_k5_sehsig_hs", 80, 1, 1, {"e": 1.7712})],
    [("ir_k3_sehsig_hs", 144, 2, 1, {"e": 4.5685}), ("ir_k5_sehsig_hs", 144, 1, 1, {"e": 5.84}), ("ir_k5_sehsig_hs", 144, 1, 1, {"e": 6.8754}), ("skip", 224, 1, 1)],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["fbnetv2_f4"] = {"options": V2_HEAD, "input_size": 224, "stages": [
    [("conv_k3_hs", 16, 2, 1)],
    [("ir_k3_hs", 16, 1, 1, {"e": 1})],
    [("ir_k5_hs", 24, 2, 1, {"e": 5.4566}), ("ir_k5_hs", 24, 1, 2, {"e": 1.7912})],
    [("ir_k5_sehsig", 32, 2, 1, {"e": 5.3501}), ("ir_k5_sehsig", 32, 1, 1, {"e": 3.5379}), ("ir_k5_sehsig", 32, 1, 2, {"e": 4.5379})],
    [("ir_k5_hs", 64, 2, 1, {"e": 5.7133}), ("ir_k3_hs", 64, 1, 1, {"e": 2.1212}), ("skip", 64, 1, 1), ("ir_k3_hs", 104, 1, 1, {"e": 5.0333}), ("ir_k5_sehsig_hs", 104, 1, 1, {"e": 2.507}), ("ir_k5_sehsig_hs", 104, 1, 1, {"e": 1.7712}), ("ir_k5_sehsig_hs", 112, 1, 1, {"e": 3.7712})],
    [("ir_k3_sehsig_hs", 184, 2, 1, {"e": 5.5685}), ("ir_k5_sehsig_hs", 184, 1, 1, {"e": 2.84}), ("ir_k5_sehsig_hs", 184, 1, 1, {"e": 4.8754}), ("skip", 224, 1, 1)],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["fbnetv2_l1"] = {"options": V2_HEAD, "input_size": 224, "stages": [
    [("conv_k3_hs", 16, 2, 1)],
    [("ir_k3_hs", 16, 1, 1, {"e": 1})],
    [("ir_k5_hs", 24, 2, 1, {"e": 5.4566}), ("ir_k5_hs", 24, 1, 1, {"e": 1.7912}), ("ir_k3_hs", 24, 1, 1, {"e": 1.7912}), ("ir_k5_hs", 24, 1, 1, {"e": 1.7912})],
    [("ir_k5_sehsig_hs", 40, 2, 1, {"e": 5.3501}), ("ir_k5_sehsig_hs", 32, 1, 1, {"e": 3.5379}), ("ir_k5_sehsig_hs", 32, 1, 2, {"e": 4.5379})],
    [("ir_k5_hs", 64, 2, 1, {"e": 5.7133}), ("ir_k3_hs", 64, 1, 1, {"e": 2.1212}), ("skip", 64, 1, 1), ("ir_k3_hs", 64, 1, 1, {"e": 3.1246}), ("ir_k3_hs", 112, 1, 1, {"e": 5.0333}), ("ir_k5_sehsig_hs", 112, 1, 1, {"e": 2.507}), ("ir_k5_sehsig_hs", 112, 1, 1, {"e": 1.7712}), ("ir_k5_sehsig_hs", 112, 1, 1, {"e": 2.7712}), ("ir_k5_sehsig_hs", 112, 1, 2, {"e": 3.7712})],
    [("ir_k3_sehsig_hs", 184, 2, 1, {"e": 5.5685}), ("ir_k5_sehsig_hs", 184, 1, 2, {"e": 2.84}), ("ir_k5_sehsig_hs", 184, 1, 2, {"e": 4.8754}), ("skip", 224, 1, 1)],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
# FBNetV2_L2: the network of fbnetv2_l1 at 256px
ARCHS["fbnetv2_l2"] = at_resolution(ARCHS["fbnetv2_l1"], 256)
ARCHS["fbnet_a"] = {"options": FBNET_V1, "input_size": 224, "stages": [
    [("conv_k3", 16, 2, 1)],
    [("skip", 16, 1, 1)],
    [("ir_k3", 24, 2, 1, {"e": 3}), ("ir_k3", 24, 1, 1, {"e": 1}), ("skip", 24, 1, 2)],
    [("ir_k5", 32, 2, 1, {"e": 6}), ("ir_k3", 32, 1, 1, {"e": 3}), ("ir_k5", 32, 1, 1, {"e": 1}), ("ir_k3", 32, 1, 1, {"e": 3})],
    [("ir_k5", 64, 2, 1, {"e": 6}), ("ir_k5", 64, 1, 1, {"e": 3}), ("ir_k5_g2", 64, 1, 1, {"e": 1}), ("ir_k5", 64, 1, 1, {"e": 6}), ("ir_k3", 112, 1, 1, {"e": 6}), ("ir_k5_g2", 112, 1, 1, {"e": 1}), ("ir_k5", 112, 1, 1, {"e": 3}), ("ir_k3_g2", 112, 1, 1, {"e": 1})],
    [("ir_k5", 184, 2, 2, {"e": 6}), ("ir_k5", 184, 1, 1, {"e": 3}), ("ir_k5", 184, 1, 1, {"e": 6}), ("ir_k5", 352, 1, 1, {"e": 6})],
    [("conv_k1", 1504, 1, 1)],
]}
ARCHS["fbnet_b"] = {"options": FBNET_V1, "input_size": 224, "stages": [
    [("conv_k3", 16, 2, 1)],
    [("ir_k3", 16, 1, 1, {"e": 1})],
    [("ir_k3", 24, 2, 1, {"e": 6}), ("ir_k5", 24, 1, 1, {"e": 1}), ("ir_k3", 24, 1, 2, {"e": 1})],
    [("ir_k5", 32, 2, 1, {"e": 6}), ("ir_k5", 32, 1, 1, {"e": 3}), ("ir_k3", 32, 1, 1, {"e": 6}), ("ir_k5", 32, 1, 1, {"e": 6})],
    [("ir_k5", 64, 2, 2, {"e": 6}), ("skip", 64, 1, 1), ("ir_k5", 64, 1, 1, {"e": 3}), ("ir_k5", 112, 1, 1, {"e": 6}), ("ir_k3", 112, 1, 1, {"e": 1}), ("ir_k5", 112, 1, 1, {"e": 1}), ("ir_k5", 112, 1, 1, {"e": 3})],
    [("ir_k5", 184, 2, 1, {"e": 6}), ("ir_k5", 184, 1, 1, {"e": 1}), ("ir_k5", 184, 1, 2, {"e": 6}), ("ir_k3", 352, 1, 1, {"e": 6})],
    [("conv_k1", 1984, 1, 1)],
]}
ARCHS["fbnet_c"] = {"options": FBNET_V1, "input_size": 224, "stages": [
    [("conv_k3", 16, 2, 1)],
    [("ir_k3", 16, 1, 1, {"e": 1})],
    [("ir_k3", 24, 2, 1, {"e": 6}), ("skip", 24, 1, 1), ("ir_k3", 24, 1, 2, {"e": 1})],
    [("ir_k5", 32, 2, 1, {"e": 6}), ("ir_k5", 32, 1, 1, {"e": 3}), ("ir_k5", 32, 1, 1, {"e": 6}), ("ir_k3", 32, 1, 1, {"e": 6})],
    [("ir_k5", 64, 2, 1, {"e": 6}), ("ir_k5", 64, 1, 1, {"e": 3}), ("ir_k5", 64, 1, 2, {"e": 6}), ("ir_k5", 112, 1, 3, {"e": 6}), ("ir_k5", 112, 1, 1, {"e": 3})],
    [("ir_k5", 184, 2, 4, {"e": 6}), ("ir_k3", 352, 1, 1, {"e": 6})],
    [("conv_k1", 1984, 1, 1)],
]}
ARCHS["fbnetv3_a"] = {"options": V3_HEAD, "input_size": 224, "stages": [
    [("conv_k3_hs", 16, 2, 1)],
    [("ir_k3_hs", 16, 1, 2, {"e": 1})],
    [("ir_k5_hs", 24, 2, 1, {"e": 4}), ("ir_k5_hs", 24, 1, 3, {"e": 2})],
    [("ir_k5_sehsig_hs", 40, 2, 1, {"e": 5}), ("ir_k5_sehsig_hs", 40, 1, 4, {"e": 3})],
    [("ir_k5_hs", 72, 2, 1, {"e": 5, "dw_padding": 1}), ("ir_k3_hs", 72, 1, 4, {"e": 3}), ("ir_k3_sehsig_hs", 120, 1, 1, {"e": 5}), ("ir_k5_sehsig_hs", 120, 1, 5, {"e": 3})],
    [("ir_k3_sehsig_hs", 184, 2, 1, {"e": 6, "dw_padding": 0}), ("ir_k5_sehsig_hs", 184, 1, 5, {"e": 4}), ("ir_k5_sehsig_hs", 224, 1, 1, {"e": 6})],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
# FBNetV3_B: the network of fbnetv3_a at 248px
ARCHS["fbnetv3_b"] = at_resolution(ARCHS["fbnetv3_a"], 248)
ARCHS["fbnetv3_c"] = {"options": V3_HEAD, "input_size": 248, "stages": [
    [("conv_k3_hs", 16, 2, 1)],
    [("ir_k3_hs", 16, 1, 2, {"e": 1})],
    [("ir_k5_hs", 24, 2, 1, {"e": 5}), ("ir_k3_hs", 24, 1, 4, {"e": 3})],
    [("ir_k5_sehsig_hs", 48, 2, 1, {"e": 5}), ("ir_k5_sehsig_hs", 48, 1, 4, {"e": 2})],
    [("ir_k5_hs", 88, 2, 1, {"e": 4, "dw_padding": 1}), ("ir_k3_hs", 88, 1, 4, {"e": 3}), ("ir_k3_sehsig_hs", 120, 1, 1, {"e": 4}), ("ir_k5_sehsig_hs", 120, 1, 5, {"e": 3})],
    [("ir_k5_sehsig_hs", 216, 2, 1, {"e": 5, "dw_padding": 1}), ("ir_k5_sehsig_hs", 216, 1, 5, {"e": 5}), ("ir_k5_sehsig_hs", 216, 1, 1, {"e": 6})],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["fbnetv3_d"] = {"options": V3_HEAD, "input_size": 248, "stages": [
    [("conv_k3_hs", 24, 2, 1)],
    [("ir_k3_hs", 16, 1, 2, {"e": 1})],
    [("ir_k3_hs", 24, 2, 1, {"e": 5}), ("ir_k3_hs", 24, 1, 5, {"e": 2})],
    [("ir_k5_sehsig_hs", 40, 2, 1, {"e": 4}), ("ir_k3_sehsig_hs", 40, 1, 4, {"e": 3})],
    [("ir_k3_hs", 72, 2, 1, {"e": 5}), ("ir_k3_hs", 72, 1, 4, {"e": 3}), ("ir_k3_sehsig_hs", 128, 1, 1, {"e": 5}), ("ir_k5_sehsig_hs", 128, 1, 6, {"e": 3})],
    [("ir_k3_sehsig_hs", 208, 2, 1, {"e": 6}), ("ir_k5_sehsig_hs", 208, 1, 5, {"e": 5}), ("ir_k5_sehsig_hs", 240, 1, 1, {"e": 6})],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["fbnetv3_e"] = {"options": V3_HEAD, "input_size": 264, "stages": [
    [("conv_k3_hs", 24, 2, 1)],
    [("ir_k3_hs", 16, 1, 3, {"e": 1})],
    [("ir_k5_hs", 24, 2, 1, {"e": 4}), ("ir_k5_hs", 24, 1, 4, {"e": 2})],
    [("ir_k5_sehsig_hs", 48, 2, 1, {"e": 4}), ("ir_k5_sehsig_hs", 48, 1, 4, {"e": 3})],
    [("ir_k5_hs", 80, 2, 1, {"e": 5, "dw_padding": 1}), ("ir_k3_hs", 80, 1, 4, {"e": 3}), ("ir_k3_sehsig_hs", 128, 1, 1, {"e": 5}), ("ir_k5_sehsig_hs", 128, 1, 7, {"e": 3})],
    [("ir_k3_sehsig_hs", 216, 2, 1, {"e": 6}), ("ir_k5_sehsig_hs", 216, 1, 5, {"e": 5}), ("ir_k5_sehsig_hs", 240, 1, 1, {"e": 6})],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["fbnetv3_f"] = {"options": V3_HEAD, "input_size": 272, "stages": [
    [("conv_k3_hs", 24, 2, 1)],
    [("ir_k3_hs", 24, 1, 3, {"e": 1})],
    [("ir_k5_hs", 32, 2, 1, {"e": 4}), ("ir_k5_hs", 32, 1, 4, {"e": 2})],
    [("ir_k5_sehsig_hs", 56, 2, 1, {"e": 4}), ("ir_k5_sehsig_hs", 56, 1, 4, {"e": 3})],
    [("ir_k5_hs", 88, 2, 1, {"e": 5}), ("ir_k3_hs", 88, 1, 4, {"e": 3}), ("ir_k3_sehsig_hs", 144, 1, 1, {"e": 5}), ("ir_k5_sehsig_hs", 144, 1, 8, {"e": 3})],
    [("ir_k3_sehsig_hs", 248, 2, 1, {"e": 6, "dw_padding": 0}), ("ir_k5_sehsig_hs", 248, 1, 6, {"e": 5}), ("ir_k5_sehsig_hs", 272, 1, 1, {"e": 6})],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["fbnetv3_g"] = {"options": V3_HEAD, "input_size": 320, "stages": [
    [("conv_k3_hs", 32, 2, 1)],
    [("ir_k3_hs", 24, 1, 3, {"e": 1})],
    [("ir_k5_hs", 40, 2, 1, {"e": 4}), ("ir_k5_hs", 40, 1, 4, {"e": 2})],
    [("ir_k5_sehsig_hs", 56, 2, 1, {"e": 4}), ("ir_k5_sehsig_hs", 56, 1, 4, {"e": 3})],
    [("ir_k5_hs", 104, 2, 1, {"e": 5}), ("ir_k3_hs", 104, 1, 4, {"e": 3}), ("ir_k3_sehsig_hs", 160, 1, 1, {"e": 5}), ("ir_k5_sehsig_hs", 160, 1, 8, {"e": 3})],
    [("ir_k3_sehsig_hs", 264, 2, 1, {"e": 6}), ("ir_k5_sehsig_hs", 264, 1, 6, {"e": 5}), ("ir_k5_sehsig_hs", 288, 1, 2, {"e": 6})],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["mnv3"] = {"options": MNV3, "input_size": 224, "stages": [
    [("conv_k3_hs", 16, 2, 1)],
    [("ir_k3", 16, 1, 1, {"e": 1})],
    [("ir_k3", 24, 2, 1, {"e": 4}), ("ir_k3", 24, 1, 1, {"e": 3})],
    [("ir_k5_sehsig", 40, 2, 3, {"e": 3})],
    [("ir_k3_hs", 80, 2, 1, {"e": 6}), ("ir_k3_hs", 80, 1, 1, {"e": 2.5}), ("ir_k3_hs", 80, 1, 2, {"e": 2.3}), ("ir_k3_sehsig_hs", 112, 1, 2, {"e": 6})],
    [("ir_k5_sehsig_hs", 160, 2, 3, {"e": 6})],
    [("ir_pool_hs", 1280, 1, 1, {"e": 6})],
]}
# dmasking_f1: the rows of FBNetV2_F1 with the 2020 options (no rounding, biased convs): a separate network
ARCHS["dmasking_f1"] = {**at_resolution(ARCHS["fbnetv2_f1"], 128), "options": DMASKING_2020}
ARCHS["dmasking_f4"] = {"options": DMASKING_2020, "input_size": 224, "stages": [
    [("conv_k3_hs", 16, 2, 1)],
    [("ir_k3", 16, 1, 1, {"e": 1})],
    [("ir_k5", 24, 2, 1, {"e": 5.4566}), ("ir_k5", 24, 1, 2, {"e": 1.7912})],
    [("ir_k5_sehsig", 32, 2, 1, {"e": 5.3501}), ("ir_k5_sehsig", 32, 1, 1, {"e": 3.5379}), ("ir_k5_sehsig", 32, 1, 2, {"e": 4.5379})],
    [("ir_k5_hs", 64, 2, 1, {"e": 5.7133}), ("ir_k3_hs", 64, 1, 1, {"e": 2.1212}), ("skip", 64, 1, 1), ("ir_k3_hs", 104, 1, 1, {"e": 5.0333}), ("ir_k5_sehsig_hs", 104, 1, 1, {"e": 2.507}), ("ir_k5_sehsig_hs", 104, 1, 1, {"e": 1.7712}), ("ir_k5_sehsig_hs", 112, 1, 1, {"e": 3.7712})],
    [("ir_k3_sehsig_hs", 184, 2, 1, {"e": 5.5685}), ("ir_k5_sehsig_hs", 184, 1, 1, {"e": 2.84}), ("ir_k5_sehsig_hs", 184, 1, 1, {"e": 4.8754}), ("skip", 224, 1, 1)],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["dmasking_l2_hs"] = {"options": DMASKING_2020, "input_size": 256, "stages": [
    [("conv_k3_hs", 16, 2, 1)],
    [("ir_k3_hs", 16, 1, 1, {"e": 1})],
    [("ir_k5_hs", 24, 2, 1, {"e": 5.4566}), ("ir_k5_hs", 24, 1, 1, {"e": 1.7912}), ("ir_k3_hs", 24, 1, 1, {"e": 1.7912}), ("ir_k5_hs", 24, 1, 1, {"e": 1.7912})],
    [("ir_k5_sehsig", 40, 2, 1, {"e": 5.3501}), ("ir_k5_sehsig", 32, 1, 1, {"e": 3.5379}), ("ir_k5_sehsig", 32, 1, 2, {"e": 4.5379})],
    [("ir_k5_hs", 64, 2, 1, {"e": 5.7133}), ("ir_k3_hs", 64, 1, 1, {"e": 2.1212}), ("skip", 64, 1, 1), ("ir_k3_hs", 64, 1, 1, {"e": 3.1246}), ("ir_k3_hs", 112, 1, 1, {"e": 5.0333}), ("ir_k5_sehsig_hs", 112, 1, 1, {"e": 2.507}), ("ir_k5_sehsig_hs", 112, 1, 1, {"e": 1.7712}), ("ir_k5_sehsig_hs", 112, 1, 1, {"e": 2.7712}), ("ir_k5_sehsig_hs", 112, 1, 2, {"e": 3.7712})],
    [("ir_k3_sehsig_hs", 184, 2, 1, {"e": 5.5685}), ("ir_k5_sehsig_hs", 184, 1, 2, {"e": 2.84}), ("ir_k5_sehsig_hs", 184, 1, 2, {"e": 4.8754}), ("skip", 224, 1, 1)],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}
ARCHS["dmasking_l3"] = {"options": DMASKING_2020, "input_size": 288, "stages": [
    [("conv_k3_hs", 24, 2, 1)],
    [("ir_k3", 24, 1, 1, {"e": 1})],
    [("ir_k5", 32, 2, 1, {"e": 5.4566}), ("ir_k5", 32, 1, 1, {"e": 1.7912}), ("ir_k3", 32, 1, 1, {"e": 1.7912}), ("ir_k5", 32, 1, 1, {"e": 1.7912})],
    [("ir_k5_sehsig", 48, 2, 1, {"e": 5.3501}), ("ir_k5_sehsig", 40, 1, 1, {"e": 3.5379}), ("ir_k5_sehsig", 40, 1, 2, {"e": 4.5379})],
    [("ir_k5_hs", 72, 2, 1, {"e": 5.7133}), ("ir_k3_hs", 72, 1, 1, {"e": 2.1212}), ("skip", 72, 1, 1), ("ir_k3_hs", 72, 1, 1, {"e": 3.1246}), ("ir_k3_hs", 120, 1, 1, {"e": 5.0333}), ("ir_k5_sehsig_hs", 120, 1, 1, {"e": 2.507}), ("ir_k5_sehsig_hs", 120, 1, 1, {"e": 1.7712}), ("ir_k5_sehsig_hs", 120, 1, 1, {"e": 2.7712}), ("ir_k5_sehsig_hs", 120, 1, 3, {"e": 3.7712})],
    [("ir_k3_sehsig_hs", 192, 2, 1, {"e": 5.5685}), ("ir_k5_sehsig_hs", 192, 1, 2, {"e": 2.84}), ("ir_k5_sehsig_hs", 192, 1, 2, {"e": 4.8754}), ("skip", 240, 1, 1)],
    [("ir_pool_hs", 1984, 1, 1, {"e": 6})],
]}

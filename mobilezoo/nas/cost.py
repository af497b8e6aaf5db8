"""The differentiable cost of a supernet: expected MACs (or latency) under the architecture distribution.

Effective-shape propagation (FBNetV2 Sec. 3.3) charges each layer with effective widths ``sum_i g_i c_i`` flowing
from layer to layer; for a layer whose cost is bilinear in its input and output widths that is exactly the
expectation of its cost when the choices are independent. We compute that expectation directly, which also
covers the terms that are not bilinear (a stage's own width on both sides of a residual block, the head's
``e * width`` expansion, the 1x1 expansion that disappears when mid == in): for every block a table holds the
exact cost of each combination of its choices (op x input width x mid width x output width x resolution), and
the cost is the table contracted with the choice probabilities. With one-hot probabilities that is the exact
cost of the derived network (the tests check it against fvcore); with soft ones it is differentiable in every
architecture parameter.

MACs follow the zoo's convention: fvcore's conv and pooling counts without batch-norm (mobile-vision's ``flops_m``).
A latency cost fills the same tables from a latency lookup table built in one runtime.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Mapping

import torch

from ..models.blocks import make_divisible
from ..models.fbnet import CONV_OP
from .space import BlockSlot, SearchSpace, op_parts


def _down(size: int, stride: int) -> int:
    return -(-size // stride)  # convs padded k // 2: ceil(size / stride)


def stem_macs(space: SearchSpace, resolution: int, in_chans: int = 3) -> int:
    kernel = int(CONV_OP.fullmatch(space.stem_op)["k"])
    side = _down(resolution, space.stem_stride)
    return in_chans * space.stem_channels * kernel * kernel * side * side


def block_macs(op: str, c_in: int, mid: int, c_out: int, stride: int, side_in: int) -> int:
    """MACs of one block as the FBNet builder makes it (width_divisor 1): conv and pooling, no BN."""
    if op == "skip":
        return 0 if c_in == c_out and stride == 1 else c_in * c_out * _down(side_in, stride) ** 2
    kernel, se, _ = op_parts(op)
    side_out = _down(side_in, stride)
    total = c_in * mid * side_in * side_in if mid != c_in else 0  # no 1x1 expansion when mid == in
    total += mid * kernel * kernel * side_out * side_out  # depthwise
    if se:
        squeeze = make_divisible(int(mid * 0.25), 1)
        total += mid * side_out * side_out + 2 * mid * squeeze  # pool, two 1x1 convs on the pooled map
    return total + mid * c_out * side_out * side_out


def head_mid(space: SearchSpace, c_in: int) -> int:
    return make_divisible(c_in * space.head_expansion, 1)


def head_macs(space: SearchSpace, c_in: int, side: int, num_classes: int) -> int:
    """ir_pool (1x1 expand, pool, 1x1 conv) and the classifier (second pool on 1x1, 1x1 conv)."""
    mid = head_mid(space, c_in)
    expand = c_in * mid * side * side if mid != c_in else 0
    return expand + mid * side * side + mid * space.head_channels + space.head_channels + space.head_channels * num_classes


def slot_sides(space: SearchSpace, resolution: int) -> list[int]:
    """Input side of every slot at ``resolution``."""
    side = _down(resolution, space.stem_stride)
    sides = []
    for slot in space.slots:
        sides.append(side)
        side = _down(side, slot.stride)
    return sides


def final_side(space: SearchSpace, resolution: int) -> int:
    side = _down(resolution, space.stem_stride)
    for slot in space.slots:
        side = _down(side, slot.stride)
    return side


def _identity(total):
    return total


@dataclass
class CostTables:
    """Per-slot cost tables and the fixed parts (stem by resolution, head by last width and resolution).

    ``readout`` turns a network's table sum into its cost: the identity for MACs; for latency, the lookup table's
    overhead and calibration with its fade below the calibrated range (:class:`.lut_tables.LatencyReadout`), which
    is not a per-block sum. It is increasing in the sum (for any calibration whose total shift over a network's
    blocks is smaller than the smallest fitted sum, as every fitted one here), so ``minimum`` stays exact.
    """

    space: SearchSpace
    stem: torch.Tensor  # [res]
    slots: list[torch.Tensor]  # each [op, in, mid, out, res]; in has size 1 when fixed or tied to out
    head: torch.Tensor  # [last out, res]
    unit: str = "MACs"
    readout: Callable = _identity

    def expected(self, probs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The expected cost under independent categorical choices ``probs[var]`` (each summing to 1); for a
        latency readout, the readout of the expected table sum (exact for one-hot choices)."""
        return self.readout(self._expected_sum(probs))

    def _expected_sum(self, probs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        res = probs["res"]
        total = (self.stem * res).sum()
        for slot, table in zip(self.space.slots, self.slots):
            p_op = probs[f"op{slot.name[3:]}"]
            p_in = probs[slot.in_var] if slot.in_var is not None and slot.index == 0 else torch.ones(1)
            total = total + torch.einsum("oimcr,o,i,m,c,r->", table, p_op, p_in, probs[slot.mid_var],
                                         probs[slot.out_var], res)
        last = self.space.slots[-1].out_var
        return total + torch.einsum("cr,c,r->", self.head, probs[last], res)

    def exact(self, choice: Mapping[str, int]) -> float:
        """The cost of one network (var -> option index): the tables read at its choices (what ``expected``
        gives for one-hot probabilities, without the contraction)."""
        return float(self.readout(self._exact_sum(choice)))

    def _exact_sum(self, choice: Mapping[str, int]) -> float:
        r = choice.get("res", 0)
        total = float(self.stem[r])
        for slot, table in zip(self.space.slots, self.slots):
            i = choice.get(slot.in_var, 0) if slot.in_var is not None and slot.index == 0 else 0
            total += float(table[choice.get(f"op{slot.name[3:]}", 0), i, choice.get(slot.mid_var, 0),
                                 choice.get(slot.out_var, 0), r])
        return total + float(self.head[choice.get(self.space.slots[-1].out_var, 0), r])

    def exact_many(self, choices: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The costs of many networks at once: ``choices[var]`` holds one option index per network (what
        ``exact`` gives for each, as a float64 tensor)."""
        r = choices["res"]
        total = self.stem[r]
        for slot, table in zip(self.space.slots, self.slots):
            zero = torch.zeros_like(r)
            i = choices[slot.in_var] if slot.in_var is not None and slot.index == 0 else zero
            total = total + table[choices.get(f"op{slot.name[3:]}", zero), i, choices.get(slot.mid_var, zero),
                                  choices.get(slot.out_var, zero), r]
        return self.readout(total + self.head[choices[self.space.slots[-1].out_var], r])

    def minimum(self) -> float:
        """The cost of the cheapest network: every resolution and stage width tried, each block's own choices
        (op, mid width) minimised given them (they touch no other block, so this is exact)."""
        out_vars = list(dict.fromkeys(slot.out_var for slot in self.space.slots))
        options = {slot.out_var: len(slot.out_options) for slot in self.space.slots}
        best = math.inf
        for r in range(len(self.space.resolutions)):
            for picks in itertools.product(*(range(options[v]) for v in out_vars)):
                chosen = dict(zip(out_vars, picks))
                total = float(self.stem[r]) + float(self.head[chosen[self.space.slots[-1].out_var], r])
                for slot, table in zip(self.space.slots, self.slots):
                    i = chosen[slot.in_var] if slot.in_var is not None and slot.index == 0 else 0
                    total += float(table[:, i, :, chosen[slot.out_var], r].min())
                best = min(best, total)
        return float(self.readout(best))


def _tables(space: SearchSpace, cell: Callable[[BlockSlot, str, int, int, int, int], float],
            stem: Callable[[int], float], head: Callable[[int, int], float], unit: str,
            readout: Callable = _identity) -> CostTables:
    slots = []
    for slot in space.slots:
        tied = slot.index > 0  # a non-first block reads its own stage's width
        ins = (None,) if tied or slot.in_var is None else slot.in_options
        table = torch.zeros(len(slot.ops), len(ins), len(slot.mid_options), len(slot.out_options), len(space.resolutions),
                            dtype=torch.float64)
        for (o, op), (i, c_in), (m, mid), (c, out), (r, res) in itertools.product(
                enumerate(slot.ops), enumerate(ins), enumerate(slot.mid_options), enumerate(slot.out_options),
                enumerate(space.resolutions)):
            width_in = out if tied else (slot.in_options[0] if c_in is None else c_in)
            table[o, i, m, c, r] = cell(slot, op, width_in, mid, out, res)
        slots.append(table)
    last = space.slots[-1]
    head_table = torch.tensor([[head(c, r) for r in space.resolutions] for c in last.out_options], dtype=torch.float64)
    stem_table = torch.tensor([stem(r) for r in space.resolutions], dtype=torch.float64)
    return CostTables(space, stem_table, slots, head_table, unit, readout)


def mac_tables(space: SearchSpace, num_classes: int = 10, in_chans: int = 3) -> CostTables:
    """Exact MACs of every block choice."""
    sides = {r: slot_sides(space, r) for r in space.resolutions}
    index = {slot.name: n for n, slot in enumerate(space.slots)}

    def cell(slot: BlockSlot, op: str, c_in: int, mid: int, out: int, res: int) -> float:
        return float(block_macs(op, c_in, mid, out, slot.stride, sides[res][index[slot.name]]))

    return _tables(space, cell, lambda r: float(stem_macs(space, r, in_chans)),
                   lambda c, r: float(head_macs(space, c, final_side(space, r), num_classes)), "MACs")

"""The DMaskingNAS supernet: every block built once at its largest widths; choices are masks and mixtures.

- **Channels** (paper eq. 3): a block's output is multiplied by ``M = sum_i g_i 1_i``, where ``1_i`` keeps the
  first ``c_i`` channels and ``g`` are the Gumbel-softmax weights of the width options. One feature map, whatever
  the number of options. The same holds for the mid (expansion) width, masked after the depthwise conv (so the
  squeeze-excite and the 1x1 projection see only the chosen channels) and for the squeeze width of SE.
- **Ops** (FBNet's DNAS): a Gumbel-weighted sum of the candidate ops of a block, each with its own weights.
- **Resolution** (Fig. 4): for a subsampling factor ``f`` the input keeps every f-th pixel, the spatial part of
  the network runs on that small map, and its output is put back on the full-size grid with zeros in between
  (zero-interleaving). Choice made by us where the paper is silent: the branch wraps the whole spatial part
  (stem, blocks, head expansion) and is scaled by ``f**2``, so the global pooling that follows sees the mean of
  the small map; the branches are summed with the Gumbel weights of the resolution options.
- **Residuals**: a block adds its input when its input and output widths are equal (as the FBNet builder does);
  in the supernet the residual is weighted by the probability of that event (1 inside a stage).

Masked channels are exactly zero everywhere (masks follow each activation, and ReLU / hard-swish keep zeros), so
with one-hot weights the supernet computes a network of the derived shape.
"""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidInputError
from ..models.blocks import ConvBNAct, make_activation, make_divisible
from ..models.fbnet import CONV_OP
from .cost import final_side, head_mid
from .space import BlockSlot, SearchSpace, op_parts


def prefix_masks(widths: tuple[int, ...], size: int) -> torch.Tensor:
    """[options, size] with row i = 1 for the first ``widths[i]`` channels: the ``1_i`` of eq. 3."""
    return (torch.arange(size)[None, :] < torch.tensor(widths)[:, None]).float()


def apply_mask(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x * mask.view(1, -1, 1, 1)


def squeeze_width(mid: int) -> int:
    return make_divisible(int(mid * 0.25), 1)


class MaskedIR(nn.Module):
    """One inverted-residual candidate at the block's largest widths (no residual: the block adds it)."""

    def __init__(self, op: str, c_in: int, mid: int, c_out: int, stride: int, has_pw: bool) -> None:
        super().__init__()
        kernel, se, hs = op_parts(op)
        act = "hswish" if hs else "relu"
        self.pw = ConvBNAct(c_in, mid, 1, act=act) if has_pw else None
        self.dw = ConvBNAct(mid, mid, kernel, stride, groups=mid, act=act)
        self.se = None
        if se:
            squeeze = squeeze_width(mid)
            self.se_pool = nn.AdaptiveAvgPool2d(1)
            self.se_reduce = nn.Conv2d(mid, squeeze, 1, bias=True)
            self.se_act = make_activation(act)
            self.se = nn.Conv2d(squeeze, mid, 1, bias=True)
            self.se_gate = make_activation("hsigmoid")
        self.pwl = ConvBNAct(mid, c_out, 1, act="identity")

    def forward(self, x: torch.Tensor, mid_mask: torch.Tensor, squeeze_mask: torch.Tensor, out_mask: torch.Tensor) -> torch.Tensor:
        h = self.pw(x) if self.pw is not None else x
        h = apply_mask(self.dw(h), mid_mask)
        if self.se is not None:
            s = apply_mask(self.se_act(self.se_reduce(self.se_pool(h))), squeeze_mask)
            h = h * self.se_gate(self.se(s))
        return apply_mask(self.pwl(h), out_mask)


class SearchBlock(nn.Module):
    """A searchable block: its candidate ops, width masks and (weighted) residual."""

    def __init__(self, slot: BlockSlot) -> None:
        super().__init__()
        self.slot = slot
        c_in, mid, c_out = max(slot.in_options), max(slot.mid_options), max(slot.out_options)
        self.candidates = nn.ModuleList(
            nn.Identity() if op == "skip" else MaskedIR(op, c_in, mid, c_out, slot.stride, slot.has_pw) for op in slot.ops)
        self.register_buffer("mid_masks", prefix_masks(slot.mid_options, mid), persistent=False)
        self.register_buffer("squeeze_masks", prefix_masks(tuple(squeeze_width(m) for m in slot.mid_options),
                                                           squeeze_width(mid)), persistent=False)
        self.register_buffer("out_masks", prefix_masks(slot.out_options, c_out), persistent=False)
        # P(in width == out width) as a bilinear form: equal[i, c] = 1 when option i of the input equals option c
        equal = torch.tensor([[float(a == b) for b in slot.out_options] for a in slot.in_options])
        self.register_buffer("equal", equal, persistent=False)

    def forward(self, x: torch.Tensor, g: Mapping[str, torch.Tensor]) -> torch.Tensor:
        slot = self.slot
        g_op, g_mid, g_out = g[f"op{slot.name[3:]}"], g[slot.mid_var], g[slot.out_var]
        mid_mask, squeeze_mask, out_mask = g_mid @ self.mid_masks, g_mid @ self.squeeze_masks, g_out @ self.out_masks
        if slot.index > 0:
            residual = x.new_ones(())  # inside a stage the input has the stage's own width
        elif slot.stride == 1:
            g_in = g[slot.in_var] if slot.in_var is not None else x.new_ones(1)
            residual = g_in @ self.equal @ g_out
        else:
            residual = None  # a strided block has no residual
        y = 0
        for weight, candidate, op in zip(g_op, self.candidates, slot.ops):
            if _unused(weight):
                continue
            if op == "skip":
                y = y + weight * x
                continue
            branch = candidate(x, mid_mask, squeeze_mask, out_mask)
            if residual is not None:
                branch = branch + residual * _fit(x, out_mask.numel())
            y = y + weight * branch
        return y


def _unused(weight: torch.Tensor) -> bool:
    """A branch whose weight is exactly zero outside autograd (a one-hot evaluation): skipping it is exact."""
    return not torch.is_grad_enabled() and not bool(weight)


def _fit(x: torch.Tensor, channels: int) -> torch.Tensor:
    """``x`` zero-padded or cut to ``channels`` (a residual between different option sets; only the equal-width
    case is ever weighted, where the extra channels are zero)."""
    if x.shape[1] == channels:
        return x
    if x.shape[1] > channels:
        return x[:, :channels]
    return F.pad(x, (0, 0, 0, 0, 0, channels - x.shape[1]))


def subsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Every ``factor``-th pixel (nearest-neighbour subsampling, Fig. 4)."""
    return x[..., ::factor, ::factor]


def zero_interleave(y: torch.Tensor, factor: int) -> torch.Tensor:
    """``y`` placed on every ``factor``-th pixel of a map ``factor`` times larger, zeros in between."""
    if factor == 1:
        return y
    n, c, h, w = y.shape
    out = y.new_zeros(n, c, h * factor, w * factor)
    out[..., ::factor, ::factor] = y
    return out


class MaskedSupernet(nn.Module):
    """All networks of a :class:`SearchSpace` in one module; ``forward(x, g)`` takes one weight vector per choice."""

    def __init__(self, space: SearchSpace, num_classes: int = 10, in_chans: int = 3) -> None:
        super().__init__()
        self.space = space
        full = space.full_resolution
        self.factors = tuple(full // r for r in space.resolutions)
        side = final_side(space, full)
        for r, f in zip(space.resolutions, self.factors):
            if final_side(space, r) * f != side:
                raise InvalidInputError(f"{space.source}: resolution {r} gives a {final_side(space, r)}-pixel final map, "
                                        f"which does not interleave into the full size's {side}; use resolutions whose "
                                        "maps divide evenly through every stride")
        self.variables = space.variables()
        # one parameter vector per choice with options to choose from (a single option is a constant 1)
        self.arch = nn.ParameterDict({var: nn.Parameter(torch.zeros(n)) for var, n in self.variables.items() if n > 1})
        match = CONV_OP.fullmatch(space.stem_op)
        self.stem = ConvBNAct(in_chans, space.stem_channels, int(match["k"]), space.stem_stride, bias=True,
                              act="hswish" if match["hs"] else "relu")
        self.blocks = nn.ModuleList(SearchBlock(slot) for slot in space.slots)
        last = space.slots[-1]
        act = "hswish" if space.head_op.endswith("_hs") else "relu"
        mids = tuple(head_mid(space, c) for c in last.out_options)
        self.head_pw = ConvBNAct(max(last.out_options), max(mids), 1, act=act)
        self.register_buffer("head_masks", prefix_masks(mids, max(mids)), persistent=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head_pwl = ConvBNAct(max(mids), space.head_channels, 1, bias=True, use_bn=False, act=act)
        self.classifier = nn.Conv2d(space.head_channels, num_classes, 1, bias=True)

    # --- architecture parameters ------------------------------------------------------------------

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.arch.values())

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.arch.values()}
        return [p for p in self.parameters() if id(p) not in arch]

    def _fixed(self) -> dict[str, torch.Tensor]:
        device = self.classifier.weight.device
        return {var: torch.ones(1, device=device) for var, n in self.variables.items() if n == 1}

    def probabilities(self) -> dict[str, torch.Tensor]:
        return {**self._fixed(), **{var: F.softmax(theta, dim=0) for var, theta in self.arch.items()}}

    def gumbel_weights(self, temperature: float, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Gumbel-softmax samples of every choice (soft, differentiable in the architecture parameters)."""
        weights = self._fixed()
        for var, theta in self.arch.items():
            uniform = torch.rand(theta.shape, generator=generator).clamp_(1e-9, 1 - 1e-9)
            weights[var] = F.softmax((theta - torch.log(-torch.log(uniform.to(theta.device)))) / temperature, dim=0)
        return weights

    def uniform_path(self, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """One network drawn uniformly from the space, as one-hot weights: single-path training (SPOS, and
        one-shot LaNAS's supernet) trains every network alike, independent of the architecture parameters."""
        weights = self._fixed()
        for var, theta in self.arch.items():
            pick = int(torch.randint(len(theta), (1,), generator=generator))
            weights[var] = F.one_hot(torch.tensor(pick), len(theta)).float().to(theta.device)
        return weights

    def argmax_choice(self) -> dict[str, int]:
        return {var: int(self.arch[var].argmax()) if var in self.arch else 0 for var in self.variables}

    # --- forward ----------------------------------------------------------------------------------

    def spatial(self, x: torch.Tensor, g: Mapping[str, torch.Tensor]) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x, g)
        head_mask = g[self.space.slots[-1].out_var] @ self.head_masks
        return apply_mask(self.head_pw(x), head_mask)

    def forward(self, x: torch.Tensor, g: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        g = self.probabilities() if g is None else g
        mixed = 0
        for weight, factor in zip(g["res"], self.factors):
            if _unused(weight):
                continue
            branch = zero_interleave(self.spatial(subsample(x, factor), g), factor) * float(factor * factor)
            mixed = mixed + weight * branch
        return torch.flatten(self.classifier(self.head_pwl(self.pool(mixed))), 1)

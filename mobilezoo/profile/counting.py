"""Parameter, multiply-add and activation counts with fvcore, elementwise ops kept visible.

Conventions (so figures compare with published ones):
- ``macs`` is what fvcore counts: one per multiply-add of conv/linear/matmul, plus pooling and
  normalisation at one per element.
- ``macs_without_bn`` drops batch-norm: torchvision's ``_ops`` and mobile-vision's ``flops_m``.
- fvcore skips activations, residual adds and SE scaling; we count them (one per output element)
  in a separate ``elementwise`` figure that is never folded into ``macs``.
- ``params_conv_linear_weights`` counts Conv/Linear weight tensors only: mobile-vision's ``params_m``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from collections import Counter
from typing import Any, Sequence

import torch
from torch import nn

from ..errors import InvalidInputError
from .result import ModuleRow, ProfileResult

ELEMENTWISE_OPS = tuple(
    f"aten::{op}{suffix}"
    for op in ("add", "sub", "mul", "div", "relu", "hardswish", "hardsigmoid", "sigmoid", "hardtanh", "silu", "clamp")
    for suffix in ("", "_")
)
ELEMENTWISE_NOTE = (
    "elementwise ops (activations, residual adds, SE scaling: one per output element) are counted "
    "separately and are not part of MACs; fvcore would skip them"
)


def _elementwise_handle(inputs: list[Any], outputs: list[Any]) -> Counter:
    shape = outputs[0].type().sizes()
    return Counter({"elementwise": math.prod(shape) if shape else 0})


def count_params(model: nn.Module) -> tuple[int, int]:
    """(all parameters, Conv/Linear weight parameters only)."""
    total = sum(p.numel() for p in model.parameters())
    weights = sum(
        m.weight.numel()
        for m in model.modules()
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)) and m.weight is not None
    )
    return total, weights


def _default_rows(model: nn.Module) -> list[str]:
    sequence = getattr(model, "feature_sequence", None)
    rows = list(sequence()) if callable(sequence) else [n for n, _ in model.named_children()]
    classifier = getattr(model, "classifier_name", None)
    if classifier and classifier not in rows:
        rows.append(classifier)
    return rows


def _rows_at_depth(model: nn.Module, depth: int) -> list[str]:
    return [name for name, _ in model.named_modules() if name and name.count(".") == depth - 1]


def profile_model(
    model: nn.Module,
    input_shape: Sequence[int],
    name: str = "",
    depth: int | None = None,
) -> ProfileResult:
    """Profile ``model`` on one random input of per-sample ``input_shape`` (batch 1, eval mode).

    ``depth=None`` gives one table row per block of ``forward_features`` plus the classifier;
    ``depth=N`` gives every module N levels deep.
    """
    with warnings.catch_warnings():  # fvcore scripts helpers at import; torch warns TorchScript is deprecated
        warnings.simplefilter("ignore", FutureWarning)
        from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    was_training = model.training
    model.eval()
    sample = torch.randn((1, *input_shape))
    try:
        with torch.no_grad():
            try:
                model(sample)
            except RuntimeError as exc:
                first = str(exc).strip().splitlines()[0][:160]
                raise InvalidInputError(
                    f"{name or 'model'} cannot run on input {tuple(input_shape)}: {first}; try a larger input size"
                ) from None
            # fvcore logs each skipped op through logging and prints tracer warnings: keep them quiet
            logging.getLogger("fvcore").setLevel(logging.ERROR)
            # fvcore traces with torch.jit, which warns that TorchScript is deprecated: not the user's concern
            with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                flops = FlopCountAnalysis(model, sample)
                flops.set_op_handle(**{op: _elementwise_handle for op in ELEMENTWISE_OPS})
                flops.unsupported_ops_warnings(False)
                flops.uncalled_modules_warnings(False)
                by_operator = dict(flops.by_operator())
                by_module_op = flops.by_module_and_operator()
                acts = ActivationCountAnalysis(model, sample)
                acts.unsupported_ops_warnings(False)
                acts.uncalled_modules_warnings(False)
                activations = acts.by_module()
                skipped = sorted(flops.unsupported_ops())
    finally:
        model.train(was_training)

    def split(counter: dict[str, int]) -> tuple[int, int, int]:
        bn = counter.get("batch_norm", 0)
        elementwise = counter.get("elementwise", 0)
        return sum(counter.values()) - bn - elementwise, bn, elementwise

    macs_no_bn, bn_macs, elementwise = split(by_operator)
    params, weight_params = count_params(model)
    modules = dict(model.named_modules())
    row_names = _default_rows(model) if depth is None else _rows_at_depth(model, depth)
    rows = []
    for row in row_names:
        if row not in modules:
            continue
        row_macs, row_bn, row_elementwise = split(by_module_op.get(row, {}))
        row_params, row_weights = count_params(modules[row])
        rows.append(
            ModuleRow(
                name=row,
                type=type(modules[row]).__name__,
                params=row_params,
                macs_without_bn=row_macs,
                batch_norm_macs=row_bn,
                elementwise_ops=row_elementwise,
                activations=int(activations.get(row, 0)),
            )
        )
    notes = [ELEMENTWISE_NOTE]
    effective = None
    masked = [(n, m) for n, m in modules.items() if callable(getattr(m, "mask_density", None))]
    if masked:  # relational layers: the paper counts each at its dense MACs times its mask density
        effective = macs_no_bn - round(sum(split(by_module_op.get(n, {}))[0] * (1 - m.mask_density()) for n, m in masked))
        notes.append(f"effective MACs count each of the {len(masked)} relational layers at its dense MACs times its mask "
                     "density (the relational-graph paper's convention); the runtime still computes the dense MACs")
    if skipped:
        notes.append("ops fvcore does not count at all (no arithmetic or not modelled): " + ", ".join(skipped))
    return ProfileResult(
        model=name or type(model).__name__,
        input_shape=(1, *input_shape),
        params=params,
        params_conv_linear_weights=weight_params,
        macs=macs_no_bn + bn_macs,
        macs_without_bn=macs_no_bn,
        batch_norm_macs=bn_macs,
        elementwise_ops=elementwise,
        activations=int(activations.get("", 0)),
        effective_macs_without_bn=effective,
        by_operator={k: int(v) for k, v in sorted(by_operator.items())},
        modules=rows,
        notes=notes,
    )

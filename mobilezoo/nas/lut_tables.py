"""Latency as the search cost: the cost tables of :mod:`.cost` filled from a latency lookup table.

Every block a network of the space can contain is keyed exactly as :func:`.latency_table.fbnet_blocks` keys the
blocks of a built network (the derived networks use ``width_divisor: 1``, no bias), so the prediction for a
derived network equals ``mobilezoo latency derived.yaml --lut FILE``, calibrated tables included: the tables hold
each block's exact share (entry - overhead) and a :class:`LatencyReadout` turns a network's sum of shares into
the table's prediction (overhead once, the calibration, and its fade towards the exact sum below the calibrated
range; a per-block calibrated share would predict tiny networks below zero). The table must hold every
combination; :func:`space_blocks` lists them as modules for ``LatencyTable.add`` to measure.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..models.fbnet import BlockSpec, ClassifierHead, IRPoolBlock, OPTION_DEFAULTS, _make_block
from .cost import CostTables, _tables, final_side, slot_sides
from .latency_table import Block, Calibration, LatencyLookupError, LatencyTable, _WholeBlock, block_key
from .space import SearchSpace

OPTIONS = {**OPTION_DEFAULTS, "width_divisor": 1, "bias": False}


def _spec(name: str, op: str, c_in: int, mid: int, out: int, stride: int) -> BlockSpec:
    expansion = 6.0 if op == "skip" else mid / c_in  # the FBNet builder's default e for skip rows
    return BlockSpec(name, op, c_in, out, stride, expansion)


def _stem_spec(space: SearchSpace, in_chans: int) -> BlockSpec:
    return BlockSpec("xif0_0", space.stem_op, in_chans, space.stem_channels, space.stem_stride, 6.0)


def _head_spec(space: SearchSpace, c_in: int) -> BlockSpec:
    return BlockSpec(f"xif{len(space.stages) + 1}_0", space.head_op, c_in, space.head_channels, 1, space.head_expansion)


def _classifier_key(space: SearchSpace, num_classes: int) -> str:
    return f"head|in{space.head_channels}x1x1|classes{num_classes}"


@dataclass(frozen=True)
class LatencyReadout:
    """A network's predicted latency (ms) from its sum of exact block shares, as :meth:`LatencyTable.predict`
    computes it: ``overhead + w * calibrated + (1 - w) * exact`` with the calibration's fade weight ``w``. Works on
    floats and on tensors (differentiable: the search's expected latency goes through it)."""

    overhead_ms: float
    calibration: Calibration
    blocks: int  # blocks per network (every network of a space has the same count: skips are blocks too)

    def __call__(self, block_sum: Any) -> Any:
        calibrated = self.calibration.scale * block_sum + self.calibration.shift_ms * self.blocks
        weight = self.calibration.weight(block_sum)
        return self.overhead_ms + weight * calibrated + (1.0 - weight) * block_sum


def latency_tables(space: SearchSpace, table: LatencyTable, num_classes: int = 10, source: str = "FILE",
                   in_chans: int = 3) -> CostTables:
    """Expected-latency tables (ms); a block the table lacks is an error naming it."""
    sides = {r: slot_sides(space, r) for r in space.resolutions}
    index = {slot.name: n for n, slot in enumerate(space.slots)}

    def entry(spec: BlockSpec, shape: tuple[int, ...], key: str | None = None) -> float:
        key = key or block_key(None, shape, spec, OPTIONS)
        if key not in table.entries:
            raise LatencyLookupError(f"latency table '{source}' has no entry for block {spec.name} ({key}); "
                                     f"measure the space's blocks with `mobilezoo search dmasking ... --build-lut`")
        return table.exact_share(key)  # the readout calibrates the whole network

    def cell(slot, op, c_in, mid, out, res) -> float:
        side = sides[res][index[slot.name]]
        return entry(_spec(slot.name, op, c_in, mid, out, slot.stride), (1, c_in, side, side))

    def stem(res: int) -> float:
        return entry(_stem_spec(space, in_chans), (1, in_chans, res, res))

    def head(c_in: int, res: int) -> float:
        side = final_side(space, res)
        spec = _head_spec(space, c_in)
        return entry(spec, (1, c_in, side, side)) + entry(spec, (), _classifier_key(space, num_classes))

    readout = LatencyReadout(table.overhead_ms, table.calibration, blocks=len(space.slots) + 3)  # stem, head, classifier
    return _tables(space, cell, stem, head, "ms", readout)


def space_blocks(space: SearchSpace, num_classes: int = 10, in_chans: int = 3) -> Iterator[Block]:
    """Every distinct block of the space, built as the FBNet builder builds it, with its table key."""
    seen: set[str] = set()

    def emit(spec: BlockSpec, shape: tuple[int, ...]) -> Iterator[Block]:
        key = block_key(None, shape, spec, OPTIONS)
        if key not in seen:
            seen.add(key)
            module = _make_block(spec, OPTIONS)
            yield Block(spec.name, key, _WholeBlock(module) if isinstance(module, IRPoolBlock) else module, shape)

    for res in space.resolutions:
        yield from emit(_stem_spec(space, in_chans), (1, in_chans, res, res))
        for slot, side in zip(space.slots, slot_sides(space, res)):
            ins = slot.out_options if slot.index > 0 else slot.in_options
            for op, c_in, mid, out in itertools.product(slot.ops, ins, slot.mid_options, slot.out_options):
                if slot.index > 0 and c_in != out:
                    continue  # inside a stage the input has the stage's width
                yield from emit(_spec(slot.name, op, c_in, mid, out, slot.stride), (1, c_in, side, side))
        side = final_side(space, res)
        for c_in in space.slots[-1].out_options:
            yield from emit(_head_spec(space, c_in), (1, c_in, side, side))
    key = _classifier_key(space, num_classes)
    if key not in seen:
        yield Block("head", key, ClassifierHead(space.head_channels, num_classes), (1, space.head_channels, 1, 1))



def measure_space(space: SearchSpace, path: str | os.PathLike, num_classes: int = 10,
                  progress: Callable[[Any], None] | None = None) -> LatencyTable:
    """Measure every block of ``space`` missing from the table at ``path`` (a new ONNX Runtime table if there is
    none) and save it; returns the table."""
    from ..bench.runtimes import host_cpu

    table = LatencyTable.load(path) if os.path.exists(path) else LatencyTable(host_cpu=host_cpu())
    table.add([b for b in space_blocks(space, num_classes) if b.key not in table.entries], progress=progress)
    table.save(path)
    return table

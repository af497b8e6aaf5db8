"""A DMaskingNAS search space, read from YAML (``configs/search/*.yaml``) into typed, checked data.

A network of the space is: a fixed stem conv, then stages of searchable blocks, then a fixed ``ir_pool`` head,
at one of the input resolutions. The choices (each a categorical variable the search learns):

- ``res``: the input resolution (the data's full size divided by a whole factor: subsampled, not resized);
- ``out{s}``: stage s's output width (its blocks share it, as residual blocks need equal widths);
- ``mid{s}_{b}``: block b's expansion, as a mid width ``round(e * largest input width of the block)``;
- ``op{s}_{b}``: block b's op (``ir_k3`` / ``ir_k5``, ``_sehsig``, ``_hs``, or ``skip`` for non-first blocks).

A malformed space is a one-line error naming the stage and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..models.fbnet import CONV_OP, IR_OP, POOL_OP

STAGE_KEYS = ("channels", "expansions", "blocks", "stride", "ops")


class SearchSpaceError(InvalidInputError):
    """A search-space file is malformed."""


@dataclass(frozen=True)
class StageSpace:
    channels: tuple[int, ...]
    expansions: tuple[float, ...]
    blocks: int
    stride: int
    ops: tuple[str, ...]


@dataclass(frozen=True)
class BlockSlot:
    """One searchable block: where it sits and which choice variables set it."""

    name: str  # xif{stage}_{index}, as the FBNet builder names it
    stage: int  # index into SearchSpace.stages
    index: int  # position in its stage
    stride: int
    ops: tuple[str, ...]
    in_var: str | None  # None: the input width is fixed (the stem's)
    in_options: tuple[int, ...]
    out_var: str
    out_options: tuple[int, ...]
    mid_var: str
    mid_options: tuple[int, ...]
    has_pw: bool  # False only when every mid option equals the fixed input width (a dw-only block)


@dataclass(frozen=True)
class SearchSpace:
    name: str
    resolutions: tuple[int, ...]
    stem_op: str
    stem_channels: int
    stem_stride: int
    stages: tuple[StageSpace, ...]
    head_op: str
    head_channels: int
    head_expansion: float
    source: str = ""
    slots: tuple[BlockSlot, ...] = field(default=(), compare=False)

    @property
    def full_resolution(self) -> int:
        return max(self.resolutions)

    def variables(self) -> dict[str, int]:
        """Every choice variable and its number of options, in a fixed order."""
        found = {"res": len(self.resolutions)}
        for slot in self.slots:
            found.setdefault(slot.out_var, len(slot.out_options))
            found[slot.mid_var] = len(slot.mid_options)
            found[f"op{slot.name[3:]}"] = len(slot.ops)
        return found

    def size(self) -> int:
        """How many distinct networks the space holds (product of the option counts)."""
        total = 1
        for count in self.variables().values():
            total *= count
        return total

    # --- reading ----------------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> "SearchSpace":
        from ..fileio import read_yaml_file

        return cls.from_dict(read_yaml_file(path, "search space", SearchSpaceError), str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str = "search space") -> "SearchSpace":
        if not isinstance(data, dict):
            raise SearchSpaceError(f"{where}: must be a mapping with name, resolutions, stem, stages, head")
        for key in ("name", "resolutions", "stem", "stages", "head"):
            if key not in data:
                raise SearchSpaceError(f"{where}: missing '{key}'")
        resolutions = _int_list(data["resolutions"], f"{where}: resolutions", low=8)
        full = max(resolutions)
        for r in resolutions:
            if full % r:
                raise SearchSpaceError(f"{where}: resolutions: {r} does not divide the full size {full} "
                                       "(options are subsampled by a whole factor)")
        stem, head = data["stem"], data["head"]
        if not isinstance(stem, dict) or not CONV_OP.fullmatch(str(stem.get("op", ""))):
            raise SearchSpaceError(f"{where}: stem: op must be conv_k{{1,3,5,7}}[_hs], got {stem!r}")
        stem_channels = _int_list([stem.get("channels")], f"{where}: stem: channels")[0]
        if stem.get("stride", 2) not in (1, 2):
            raise SearchSpaceError(f"{where}: stem: stride must be 1 or 2")
        if not isinstance(head, dict) or not POOL_OP.fullmatch(str(head.get("op", ""))):
            raise SearchSpaceError(f"{where}: head: op must be ir_pool or ir_pool_hs, got {head!r}")
        head_channels = _int_list([head.get("channels")], f"{where}: head: channels")[0]
        head_expansion = _number_list([head.get("expansion", 6)], f"{where}: head: expansion")[0]
        if not isinstance(data["stages"], list) or not data["stages"]:
            raise SearchSpaceError(f"{where}: stages must be a non-empty list")
        stages = []
        for index, stage in enumerate(data["stages"]):
            at = f"{where}: stage {index}"
            if not isinstance(stage, dict):
                raise SearchSpaceError(f"{at}: must be a mapping with {', '.join(STAGE_KEYS)}")
            unknown = set(stage) - set(STAGE_KEYS)
            if unknown:
                raise SearchSpaceError(f"{at}: unknown field '{sorted(unknown)[0]}'; fields: {', '.join(STAGE_KEYS)}")
            for key in STAGE_KEYS:
                if key not in stage:
                    raise SearchSpaceError(f"{at}: missing field '{key}'")
            ops = stage["ops"]
            if not isinstance(ops, list) or not ops:
                raise SearchSpaceError(f"{at}: ops: the option list is empty; give at least one op")
            for op in ops:
                match = IR_OP.fullmatch(str(op))
                if op != "skip" and (not match or match["g"]):
                    raise SearchSpaceError(f"{at}: ops: unknown op {op!r}; use ir_k{{3,5,7}}[_sehsig][_hs] or skip")
            if stage["stride"] not in (1, 2) or isinstance(stage["stride"], bool):
                raise SearchSpaceError(f"{at}: stride must be 1 or 2, got {stage['stride']!r}")
            blocks = _int_list([stage["blocks"]], f"{at}: blocks")[0]
            if ops == ["skip"]:
                raise SearchSpaceError(f"{at}: ops: skip alone cannot start a stage; add an ir op")
            stages.append(StageSpace(_int_list(stage["channels"], f"{at}: channels"),
                                     _number_list(stage["expansions"], f"{at}: expansions"), blocks,
                                     int(stage["stride"]), tuple(str(o) for o in ops)))
        space = cls(str(data["name"]), resolutions, str(stem["op"]), stem_channels, int(stem.get("stride", 2)),
                    tuple(stages), str(head["op"]), head_channels, head_expansion, where)
        return cls(**{**space.__dict__, "slots": _slots(space)})


def _int_list(values: Any, at: str, low: int = 1) -> tuple[int, ...]:
    if not isinstance(values, list) or not values:
        raise SearchSpaceError(f"{at}: the option list is empty; give at least one whole number")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < low or v > 16_384:
            raise SearchSpaceError(f"{at}: options must be whole numbers in {low}..16384, got {v!r}")
    if len(set(values)) != len(values):
        raise SearchSpaceError(f"{at}: options repeat a value: {values}")
    return tuple(sorted(values))


def _number_list(values: Any, at: str) -> tuple[float, ...]:
    if not isinstance(values, list) or not values:
        raise SearchSpaceError(f"{at}: the option list is empty; give at least one number")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 64:
            raise SearchSpaceError(f"{at}: options must be numbers in (0, 64], got {v!r}")
    if len(set(values)) != len(values):
        raise SearchSpaceError(f"{at}: options repeat a value: {values}")
    return tuple(sorted(float(v) for v in values))


def _slots(space: SearchSpace) -> tuple[BlockSlot, ...]:
    slots = []
    in_var, in_options = None, (space.stem_channels,)
    for s, stage in enumerate(space.stages):
        out_var = f"out{s + 1}"
        for b in range(stage.blocks):
            ops = stage.ops if b > 0 else tuple(o for o in stage.ops if o != "skip")
            mids = tuple(sorted({max(1, round(e * max(in_options))) for e in stage.expansions}))
            has_pw = not (in_var is None and all(m == in_options[0] for m in mids))
            slots.append(BlockSlot(f"xif{s + 1}_{b}", s, b, stage.stride if b == 0 else 1, ops, in_var, in_options,
                                   out_var, stage.channels, f"mid{s + 1}_{b}", mids, has_pw))
            in_var, in_options = out_var, stage.channels
    return tuple(slots)


def op_parts(op: str) -> tuple[int, bool, bool]:
    """(kernel, squeeze-excite, hard-swish) of an ``ir_k*`` op."""
    match = IR_OP.fullmatch(op)
    return int(match["k"]), bool(match["se"]), bool(match["hs"])


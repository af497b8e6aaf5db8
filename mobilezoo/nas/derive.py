"""From a choice of options to an FBNet definition file: what a search hands to the zoo.

The definition is in exactly the format the FBNet builder reads (``create_model("net.yaml")``, ``mobilezoo
train / profile / export / bench``): a stem stage, one row per searched block with its expansion written as
``mid / in`` (the released DMaskingNAS networks carry such non-integer expansions), the ``ir_pool`` head, the
chosen input size, and ``width_divisor: 1`` so every width is kept as chosen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..fileio import atomic_path
from .space import SearchSpace


def choice_widths(space: SearchSpace, choice: Mapping[str, int]) -> list[tuple[str, int, int, int]]:
    """(op, in, mid, out) of every slot for ``choice`` (var -> option index)."""
    rows = []
    width = space.stem_channels
    for slot in space.slots:
        out = slot.out_options[choice[slot.out_var]]
        mid = slot.mid_options[choice[slot.mid_var]]
        op = slot.ops[choice[f"op{slot.name[3:]}"]]
        rows.append((op, width, mid, out))
        width = out
    return rows


def derive_definition(space: SearchSpace, choice: Mapping[str, int], name: str, num_classes: int = 10) -> dict[str, Any]:
    """The FBNet definition of the network ``choice`` picks, with the class count it was searched for (so its
    MACs and latency are the searched network's, not a 1000-class head's)."""
    stages: list[list[list[Any]]] = [[[space.stem_op, space.stem_channels, space.stem_stride, 1]]]
    for slot, (op, c_in, mid, out) in zip(space.slots, choice_widths(space, choice)):
        if slot.index == 0:
            stages.append([])
        if op == "skip":
            stages[-1].append(["skip", out, slot.stride, 1])
        else:
            stages[-1].append([op, out, slot.stride, 1, {"e": mid / c_in}])
    stages.append([[space.head_op, space.head_channels, 1, 1, {"e": space.head_expansion}]])
    return {"family": "fbnet", "name": name, "input_size": space.resolutions[choice["res"]], "num_classes": num_classes,
            "options": {"width_divisor": 1, "bias": False}, "stages": stages}


def write_definition(definition: Mapping[str, Any], path: str | Path, comment: str = "") -> Path:
    """Write ``definition`` as YAML (rows in flow style, as the zoo's own definitions), atomically."""
    import yaml

    lines = [f"# {line}" for line in comment.splitlines()] if comment else []
    for key in ("family", "name", "input_size", "num_classes"):
        if key in definition:
            lines.append(f"{key}: {definition[key]}")
    lines.append(f"options: {yaml.safe_dump(definition['options'], default_flow_style=True).strip()}")
    lines.append("stages:")
    for stage in definition["stages"]:
        lines.append(f"  - {yaml.safe_dump(stage, default_flow_style=True, width=10_000).strip()}")
    path = Path(path)
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    return path

"""Build a network from a user's architecture definition file (YAML or JSON).

The file holds one FBNet-style definition (``family: darts``: see :func:`build_darts_definition`)::

    family: fbnet            # the builder to use (only 'fbnet' takes definition files today)
    name: my_net             # optional; shown in profiles and pretrained_cfg
    input_size: 160          # native resolution
    num_classes: 10          # optional (default 1000); create_model(..., num_classes=N) overrides it
    options: {width_divisor: 8, bias: false}
    stages:
      - [[conv_k3_hs, 16, 2, 1]]
      - [[ir_k3_hs, 16, 1, 1, {e: 1}]]
      ...
"""

from __future__ import annotations

import json
import os
from typing import Any

from torch import nn

from ..errors import ArchDefError
from ..registry import default_cfg

FAMILIES = ("fbnet", "darts")
DARTS_KEYS = {"family", "name", "input_size", "num_classes", "genotype", "channels", "layers", "layout", "auxiliary"}


def read_definition(path: str) -> dict[str, Any]:
    """Parse a definition file into a dict, with one-line errors for missing or malformed files."""
    from ..shipped_configs import resolve_config_path

    path = os.fspath(resolve_config_path(path))  # configs/models/... falls back to the shipped copy
    if not os.path.isfile(path):
        raise ArchDefError(f"definition file '{path}' does not exist; check the path")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        if path.endswith(".json"):
            data = json.loads(text)
        else:
            from ..fileio import parse_yaml

            data = parse_yaml(text)  # no aliases: a small file cannot expand without bound
    except Exception as exc:  # yaml and json raise several types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArchDefError(f"definition file '{path}' is not valid YAML/JSON ({first})")
    if not isinstance(data, dict):
        raise ArchDefError(f"definition file '{path}' must hold a mapping with 'stages', 'input_size' and 'options'")
    return data


def build_from_definition_file(path: str, num_classes: int | None = None, in_chans: int = 3) -> nn.Module:
    """Build the network a definition file describes; ``model.pretrained_cfg`` records the file."""
    from ..shipped_configs import resolve_config_path
    from .fbnet import build_fbnet

    path = os.fspath(resolve_config_path(path))
    data = read_definition(path)
    family = data.get("family", "fbnet")
    if family not in FAMILIES:
        raise ArchDefError(f"{path}: family '{family}' cannot be built from a file; use one of {', '.join(FAMILIES)}")
    input_size = data.get("input_size", 224)
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size <= 0:
        raise ArchDefError(f"{path}: input_size must be a positive whole number, got {input_size!r}")
    keys = DARTS_KEYS if family == "darts" else {"family", "name", "input_size", "num_classes", "options", "stages", "resize"}
    unknown = set(data) - keys
    if unknown:
        raise ArchDefError(f"{path}: unknown key '{sorted(unknown)[0]}'; keys are {', '.join(sorted(keys))}")
    file_classes = data.get("num_classes", 1000)  # a searched network says how many classes it was searched for
    if isinstance(file_classes, bool) or not isinstance(file_classes, int) or not 1 <= file_classes <= 100_000:
        raise ArchDefError(f"{path}: num_classes must be a whole number in [1, 100000], got {file_classes!r}")
    classes = file_classes if num_classes is None else num_classes
    if family == "darts":
        model = build_darts_definition(data, classes, in_chans, path)
    else:
        model = build_fbnet(data, num_classes=classes, in_chans=in_chans, where=os.path.basename(path))
    name = data.get("name") or os.path.splitext(os.path.basename(path))[0]
    model.pretrained_cfg = default_cfg(
        (3, input_size, input_size), resize=data.get("resize"), num_classes=classes,
        architecture=name, tag=None, family=family, definition_file=os.path.abspath(path),
    )  # create_model adapts the channel count to the model's in_chans
    return model


def build_darts_definition(data: dict[str, Any], num_classes: int, in_chans: int, path: str) -> nn.Module:
    """``family: darts``: a genotype (``{normal, reduce}`` cells of ``[op, input]`` pairs) in a DARTS network
    (``channels``, ``layers``, ``layout`` cifar or imagenet), as ``mobilezoo search darts`` writes it."""
    from ..errors import MobileZooError
    from .darts import DartsNetwork

    if "genotype" not in data:
        raise ArchDefError(f"{path}: a darts definition needs 'genotype' ({{normal: ..., reduce: ...}})")
    try:
        return DartsNetwork(data["genotype"], int(data.get("channels", 16)), int(data.get("layers", 8)),
                            str(data.get("layout", "cifar")), num_classes, in_chans, bool(data.get("auxiliary", False)))
    except MobileZooError as exc:
        raise ArchDefError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ArchDefError(f"{path}: malformed darts definition ({exc})") from None

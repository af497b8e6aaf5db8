"""Networks found by ``mobilezoo search`` and kept in the zoo: definition files in ``models/searched/``.

Each file is what a search wrote (``family: fbnet`` from ``search dmasking``, ``family: darts`` from
``search darts``) with a zoo name; importing this module registers one model per file. They were searched for a
10-class task (Fashion-MNIST), so 10 classes is their default, as the search's budget or objective counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from torch import nn

from ..fileio import read_yaml_file
from ..registry import ModelEntry, default_cfg, register_model

SEARCHED = Path(__file__).parent / "searched"


def _fbnet_entry(arch: Mapping[str, Any], path: Path) -> ModelEntry:
    from .fbnet import build_fbnet

    name = arch["name"]

    def build(num_classes: int = 10, in_chans: int = 3, width_ratio: float = 1.0) -> nn.Module:
        return build_fbnet(arch, num_classes=num_classes, in_chans=in_chans, where=name, width_ratio=width_ratio)

    return ModelEntry(name=name, builder=build, family="fbnet",
                      cfg=default_cfg(arch["input_size"], num_classes=10, first_conv="backbone.stages.xif0_0.conv",
                                      classifier="head.conv"),
                      published={"resolution": arch["input_size"], "definition_file": f"mobilezoo/models/searched/{path.name}"},
                      paper="arXiv:2004.05565", description=f"found by `mobilezoo search dmasking` ({path.name})")


def _darts_entry(arch: Mapping[str, Any], path: Path) -> ModelEntry:
    from .darts import DartsNetwork

    name = arch["name"]

    def build(num_classes: int = 10, in_chans: int = 3, channels: int = int(arch["channels"]),
              layers: int = int(arch["layers"]), layout: str = str(arch.get("layout", "cifar")),
              auxiliary: bool = False) -> nn.Module:
        return DartsNetwork(arch["genotype"], channels, layers, layout, num_classes, in_chans, auxiliary)

    return ModelEntry(name=name, builder=build, family="darts",
                      cfg=default_cfg(arch["input_size"], num_classes=10, first_conv="stem0.0", classifier="classifier"),
                      published={"resolution": arch["input_size"], "definition_file": f"mobilezoo/models/searched/{path.name}"},
                      paper="arXiv:2003.12056", description=f"found by `mobilezoo search darts` ({path.name})")


def register_searched() -> None:
    for path in sorted(SEARCHED.glob("*.yaml")):
        arch = read_yaml_file(path, "searched network definition")
        entry = _darts_entry if arch.get("family", "fbnet") == "darts" else _fbnet_entry
        register_model(entry(arch, path))


register_searched()

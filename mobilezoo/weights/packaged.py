"""Weights packaged with mobilezoo: ``files/<name>.<tag>.safetensors`` beside a ``.json`` record.

Each record says what the weights are (architecture, tag, dataset, classes, preprocessing, measured
metrics, recipe, sha256) so that ``create_model("<name>.<tag>", pretrained=True)`` works offline and the
cfg alone reproduces the preprocessing.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..registry import WeightEntry, register_weights

FILES = Path(__file__).parent / "files"


def weight_entry(record: dict) -> WeightEntry:
    """The registry entry a release record (``<name>.<tag>.json``, from ``weights/release.py``) describes."""
    cfg = dict(record.get("cfg", {}))
    for key in ("input_size", "mean", "std"):  # JSON has lists; cfgs use tuples
        if key in cfg:
            cfg[key] = tuple(cfg[key])
    return WeightEntry(
        tag=record["tag"],
        file=record["file"],
        sha256=record["sha256"],  # the pair's link: weights that do not hash to it are refused when loaded
        size_bytes=record.get("size_bytes"),
        dataset=record["dataset"],
        num_classes=record["num_classes"],
        class_names=tuple(record.get("class_names") or ()) or None,
        metrics=record.get("metrics", {}),
        source=record.get("source", "trained with mobilezoo"),
        license=record.get("license", ""),
        recipe=record.get("recipe", ""),
        cfg=cfg,
        model_kwargs=record.get("model_kwargs", {}),
        notes=record.get("notes", ""),
    )


def register_packaged() -> list[str]:
    names = []
    for record_path in sorted(FILES.glob("*.json")):
        record = json.loads(record_path.read_text())
        register_weights(record["architecture"], weight_entry(record))
        names.append(f"{record['architecture']}.{record['tag']}")
    return names

"""``manifest.json`` beside exported artifacts: one entry per artifact, rewritten atomically."""

from __future__ import annotations

import datetime as dt
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from ..fileio import write_json_atomic

MANIFEST = "manifest.json"
LIBRARIES = ("torch", "torchvision", "onnx", "onnxruntime", "onnxscript", "coremltools", "executorch",
             "litert-torch", "ai-edge-litert", "numpy")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and isinstance(data.get("artifacts"), list):
                return data
        except json.JSONDecodeError:
            pass  # a damaged manifest is replaced, never trusted
    return {"artifacts": []}


def add_entry(directory: Path, entry: dict[str, Any]) -> Path:
    """Insert or replace the entry for ``entry['file']`` and rewrite the manifest atomically."""
    from .. import __version__

    data = read_manifest(directory)
    artifacts = [a for a in data["artifacts"] if a.get("file") != entry["file"]] + [entry]
    data.update(
        mobilezoo_version=__version__,
        updated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        host={"machine": platform.machine(), "system": platform.system(), "python": platform.python_version()},
        artifacts=sorted(artifacts, key=lambda a: a["file"]),
    )
    write_json_atomic(directory / MANIFEST, data)
    return directory / MANIFEST

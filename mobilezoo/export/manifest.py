"""``manifest.json`` beside exported artifacts: one entry per artifact, updated under a file lock.

Every change is a read-modify-write of the whole manifest while holding the hidden ``.manifest.json.lock``, so two
processes exporting into one folder never lose each other's entries. An artifact is replaced in three
steps under that lock (:func:`replace_artifact`): its entry is dropped, the file is swapped, the new entry
is written. A kill at any point leaves a manifest that never describes a file whose hash differs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from ..fileio import file_lock, replace_path, write_json_atomic
from .manifest_entry import ManifestEntry

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
    path = Path(directory) / MANIFEST
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and isinstance(data.get("artifacts"), list):
                return data
        except json.JSONDecodeError:
            pass  # a damaged manifest is replaced, never trusted
    return {"artifacts": []}


class Manifest:
    """The manifest of one folder, read under its lock; :meth:`save` rewrites it atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.data = read_manifest(self.directory)

    @property
    def path(self) -> Path:
        return self.directory / MANIFEST

    def has(self, file_name: str) -> bool:
        return any(a.get("file") == file_name for a in self.data["artifacts"])

    def remove(self, file_name: str) -> None:
        self.data["artifacts"] = [a for a in self.data["artifacts"] if a.get("file") != file_name]

    def entries(self) -> list[ManifestEntry]:
        """The artifacts' entries, typed."""
        return [ManifestEntry.from_dict(a) for a in self.data["artifacts"]]

    def add(self, entry: ManifestEntry | dict[str, Any]) -> None:
        """Insert or replace the entry for ``entry.file`` (a dict: an entry as read from a manifest)."""
        data = entry.to_dict() if isinstance(entry, ManifestEntry) else entry
        self.remove(data["file"])
        self.data["artifacts"] = sorted(self.data["artifacts"] + [data], key=lambda a: a["file"])

    def save(self) -> Path:
        from ..version import __version__

        self.data.update(
            mobilezoo_version=__version__,
            updated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            host={"machine": platform.machine(), "system": platform.system(), "python": platform.python_version()},
        )
        write_json_atomic(self.path, self.data)
        return self.path


@contextlib.contextmanager
def locked_manifest(directory: str | os.PathLike) -> Iterator[Manifest]:
    """The folder's manifest, read after taking its lock; the lock is held until the block ends."""
    directory = Path(directory)
    with file_lock(directory / MANIFEST):
        yield Manifest(directory)


def add_entry(directory: Path, entry: ManifestEntry | dict[str, Any]) -> Path:
    """Insert or replace the entry for ``entry.file`` (locked read-modify-write)."""
    with locked_manifest(directory) as manifest:
        manifest.add(entry)
        return manifest.save()


def replace_artifact(work: Path, directory: Path, entry: ManifestEntry) -> Path:
    """Move a verified artifact from ``work`` to ``directory/entry.file`` and record ``entry``."""
    with locked_manifest(directory) as manifest:
        previous = next((a for a in manifest.data["artifacts"] if a.get("file") == entry.file), None)
        if previous is not None:
            manifest.remove(entry.file)  # while the file is swapped, the manifest describes neither version
            manifest.save()
        try:
            replace_path(work, Path(directory) / entry.file)
        except BaseException:
            if previous is not None:  # the swap did not happen: the old file is whole, so is its entry
                manifest.add(previous)
                manifest.save()
            raise
        manifest.add(entry)
        return manifest.save()

"""Atomic file writing and hashing: nothing half-written is ever left at a final path."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import InvalidInputError


def sha256_of(path: str | os.PathLike) -> str:
    """sha256 of a file, or of every file in a directory (sorted relative paths and contents)."""
    digest = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def size_of(path: str | os.PathLike) -> int:
    path = Path(path)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def ensure_writable_dir(directory: str | os.PathLike) -> Path:
    """Create ``directory`` if needed; a one-line error when it cannot be written."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create output folder '{directory}' ({exc.strerror}); choose another --out") from None
    if not os.access(directory, os.W_OK):
        raise InvalidInputError(f"output folder '{directory}' is not writable; choose another --out")
    return directory


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``, else delete it.

    Works for files and for folders such as Core ML's ``.mlpackage`` (``directory`` documents intent;
    the writer creates the folder itself).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    # a hidden scratch folder beside the target (same filesystem, so the final rename is atomic);
    # the work path keeps the target's suffix because some writers insist on it (.mlpackage)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent))
    work = temporary / f"artifact{suffix}"
    try:
        yield work
        if not work.exists():
            raise FileNotFoundError(f"nothing was written to {work}")
        if target.exists():
            _remove(target)
        os.replace(work, target)
    finally:
        _remove(temporary)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, default=str) + "\n")

"""Atomic file writing, locking and hashing: nothing half-written is ever left at a final path.

How a file or folder reaches its final path:
1. it is written into a scratch folder beside the target, named ``.<target>.<pid>.<token>.tmp`` (same
   filesystem, so the last step is a rename);
2. :func:`replace_path` moves it onto the target: a file with one ``os.replace`` (the old file stays whole
   until the new one takes its place); a folder (Core ML's ``.mlpackage``) by moving the old one aside
   (``.<target>.<pid>.<token>.old``), renaming the new one in, then removing the old one.

A kill can leave scratch or an aside folder behind. Both carry the writer's pid; the next write into the
same folder removes those whose writer is gone, and puts an aside folder back when its target is missing
(the kill came between the two renames).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any, Iterator

from .errors import InvalidInputError

#: scratch and aside names of our own making: ``.<target name>.<pid>.<token>.(tmp|old)``
SCRATCH_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]{8})\.(?P<kind>tmp|old)$")


def check_regular_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` as a Path if it is an existing regular file; a one-line error otherwise.

    Checked before anything reads the file, so a FIFO or ``/dev/zero`` is refused instead of hanging a hash.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InvalidInputError(f"{what} '{path}' does not exist; check the path") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} '{path}' ({exc.strerror}); check the path and permissions") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise InvalidInputError(f"{what} '{path}' is {kind}; give the path of a regular file")
    return path


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


def ensure_writable_dir(directory: str | os.PathLike, option: str = "--out") -> Path:
    """Create ``directory`` if needed; a one-line error when it cannot be written."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create output folder '{directory}' ({exc.strerror}); choose another {option}") from None
    if not os.access(directory, os.W_OK):
        raise InvalidInputError(f"output folder '{directory}' is not writable; choose another {option}")
    return directory


@contextlib.contextmanager
def output_folder(directory: str | os.PathLike, option: str = "--out") -> Iterator[Path]:
    """:func:`ensure_writable_dir` for a block of work; a folder it created is removed if the work fails empty."""
    created = not Path(directory).exists()
    path = ensure_writable_dir(directory, option)
    try:
        yield path
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                path.rmdir()  # only succeeds when empty: nothing of value is removed
        raise


@contextlib.contextmanager
def file_lock(target: str | os.PathLike) -> Iterator[None]:
    """An exclusive lock on the hidden file ``.<target>.lock`` beside ``target``, held for the block.

    It serialises processes and threads alike; the lock file stays (removing it would race with a waiter).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(f".{target.name}.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _scratch_name(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.{kind}")


def clean_stale_scratch(directory: str | os.PathLike) -> list[Path]:
    """Remove scratch of writers that are gone; put back an aside folder whose target is missing.

    Only names of our own making (:data:`SCRATCH_NAME`) are touched. Returns what was removed or restored.
    """
    directory = Path(directory)
    touched = []
    try:
        names = os.listdir(directory)
    except OSError:
        return touched
    for name in names:
        match = SCRATCH_NAME.match(name)
        if match is None or _pid_alive(int(match["pid"])):
            continue
        path = directory / name
        target = directory / match["target"]
        if match["kind"] == "old" and not target.exists():
            os.rename(path, target)  # the kill came between moving the old one aside and moving the new one in
        else:
            _remove(path)
        touched.append(path)
    return touched


def replace_path(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move ``source`` onto ``target`` so that ``target`` is always either the old or the new one, whole."""
    source, target = Path(source), Path(target)
    if not (target.is_dir() and not target.is_symlink()):
        os.replace(source, target)  # one step: the old file stays until the new one takes its place
        return
    aside = _scratch_name(target, "old")
    os.rename(target, aside)
    try:
        os.rename(source, target)
    except BaseException:
        os.rename(aside, target)  # undo; a kill here is undone by clean_stale_scratch on the next run
        raise
    _remove(aside)


@contextlib.contextmanager
def scratch_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a path in a fresh scratch folder beside ``target`` (keeping its suffix); remove the folder after.

    The caller moves the finished work onto ``target`` with :func:`replace_path` inside the block.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_scratch(target.parent)
    temporary = _scratch_name(target, "tmp")
    temporary.mkdir()
    try:
        # some writers insist on the suffix (.mlpackage), so the work path keeps it
        yield temporary / f"artifact{''.join(target.suffixes)}"
    finally:
        _remove(temporary)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target`` (file or folder), else it is deleted."""
    with scratch_path(target) as work:
        yield work
        if not work.exists():
            raise FileNotFoundError(f"nothing was written to {work}")
        replace_path(work, target)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, default=str) + "\n")


def scratch_files(directory: str | os.PathLike, target_name: str) -> list[Path]:
    """Finished-looking files left in scratch folders for ``target_name`` (e.g. a checkpoint a kill left behind)."""
    found = []
    for path in sorted(Path(directory).glob(f".{target_name}.*.tmp")):
        if SCRATCH_NAME.match(path.name):
            found.extend(p for p in path.iterdir() if p.is_file())
    return found


def read_yaml_file(path: str | os.PathLike, kind: str, error: type[Exception] | None = None) -> Any:
    """Parse a YAML file a user gave; a one-line error naming ``kind`` when it is not a readable regular file or
    not valid YAML (``error`` picks the exception class, default :class:`InvalidInputError`)."""
    import yaml

    from .shipped_configs import resolve_config_path

    error = error or InvalidInputError
    path = resolve_config_path(path)  # configs/... falls back to the copy shipped in the package
    check_regular_file(path, kind)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise error(f"{kind} '{path}' is not valid YAML ({first}); fix the file") from None
    except OSError as exc:
        raise error(f"cannot read {kind} '{path}' ({exc.strerror})") from None


def save_png(figure: Any, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write a matplotlib figure as PNG atomically (never a half-written plot) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=dpi, format="png")
    plt.close(figure)
    return path

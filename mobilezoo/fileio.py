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
import errno
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


class DiskFullError(InvalidInputError):
    """A write ran out of space; nothing that existed before was replaced."""

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
    from filelock import FileLock  # portable (fcntl is POSIX only); installed with torch, declared in setup.py

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(f".{target.name}.lock"))):
        yield


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


def check_output_target(target: str | os.PathLike) -> Path:
    """``target`` if it may be written: absent, a regular file, a folder (a folder artifact such as
    ``.mlpackage``) or a link (replacing a link never writes through it). A device, FIFO or socket is refused
    before any work: renaming onto ``/dev/...`` as root would replace a system device with a file."""
    target = Path(target)
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise InvalidInputError(f"cannot write '{target}' ({exc.strerror}); choose another path") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        raise InvalidInputError(f"'{target}' exists and is not a regular file (a device, pipe or socket); "
                                "refusing to replace it: choose another path")
    return target


def replace_path(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move ``source`` onto ``target`` so that ``target`` is always either the old or the new one, whole.

    Only like replaces like: a file never replaces a folder (a ``--png`` pointed at a folder would delete it),
    a folder never a file, and nothing replaces a device, FIFO or socket."""
    source, target = Path(source), Path(target)
    check_output_target(target)
    target_is_dir = target.is_dir() and not target.is_symlink()
    if os.path.lexists(target) and not target.is_symlink() and target_is_dir != source.is_dir():
        kind = "a folder" if target_is_dir else "a file"
        raise InvalidInputError(f"'{target}' is {kind}, the output is not; refusing to replace it: choose another path")
    if not target_is_dir:
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
    target = check_output_target(target)  # refused before the work, not after it
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_scratch(target.parent)
    temporary = _scratch_name(target, "tmp")
    temporary.mkdir()
    try:
        # some writers insist on the suffix (.mlpackage), so the work path keeps it
        yield temporary / f"artifact{''.join(target.suffixes)}"
    finally:
        _remove(temporary)


#: a write that fails with less than this free beside its target ran out of space
LOW_SPACE_BYTES = 1 << 20


#: the errors a write that ran out of room raises (no space, over quota, over the file-size limit)
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def no_room_error(exc: BaseException) -> OSError | None:
    """The OSError in ``exc``'s chain (causes and contexts) that says a write ran out of room, if any."""
    chain, seen = [exc], set()
    while chain:
        error = chain.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in NO_ROOM:
            return error
        chain += [error.__cause__, error.__context__]
    return None


def out_of_space(exc: BaseException, folder: str | os.PathLike) -> bool:
    """Whether a failed write ran out of space: :func:`no_room_error` finds it in the chain, or (torch.save
    reports a full disk as a bare iostream RuntimeError) less than ``LOW_SPACE_BYTES`` is left on the folder's
    filesystem."""
    if no_room_error(exc) is not None:
        return True
    try:
        return shutil.disk_usage(folder).free < LOW_SPACE_BYTES
    except OSError:
        return False


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target`` (file or folder), else it is deleted.

    A write that runs out of space is one line (:class:`DiskFullError`); the old ``target`` is untouched."""
    with scratch_path(target) as work:
        try:
            yield work
        except (OSError, RuntimeError) as exc:
            if out_of_space(exc, work.parent):
                raise DiskFullError(f"no space left on device writing '{target}'; free space or choose another "
                                    "output folder (the previous file, if any, is untouched)") from None
            raise
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


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` without aliases: ``*name`` is refused, so a few lines cannot expand to gigabytes
    (a "billion laughs" file) or refer to themselves (endless recursion). Raises ``yaml.YAMLError``."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(None, None, f"alias *{event.anchor} is not allowed (write the "
                                                  "value out: aliases can expand a small file without bound)",
                                                  event.start_mark)
            return super().compose_node(parent, index)

    loader = NoAliasLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml_file(path: str | os.PathLike, kind: str, error: type[Exception] | None = None) -> Any:
    """Parse a YAML file a user gave; a one-line error naming ``kind`` when it is not a readable regular file or
    not valid YAML (``error`` picks the exception class, default :class:`InvalidInputError`)."""
    import yaml

    from .shipped_configs import resolve_config_path

    error = error or InvalidInputError
    path = resolve_config_path(path)  # configs/... falls back to the copy shipped in the package
    check_regular_file(path, kind)
    try:
        return parse_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        first = next((line for line in lines if "alias" in line), lines[0] if lines else type(exc).__name__)
        raise error(f"{kind} '{path}' is not valid YAML ({first}); fix the file") from None
    except OSError as exc:
        raise error(f"cannot read {kind} '{path}' ({exc.strerror})") from None


#: the largest JSON file a reader takes (the shipped latency tables are ~100 KB); /dev/zero or a huge file is refused
MAX_JSON_BYTES = 64 * 2**20


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json_file(path: str | os.PathLike, kind: str, error: type[Exception] | None = None,
                   max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file a user gave: a regular file (a FIFO would hang the read), at most ``max_bytes`` (no
    ``/dev/zero`` filling memory), strict JSON (``NaN`` / ``Infinity`` refused); a one-line error naming ``kind``."""
    error = error or InvalidInputError
    try:
        path = check_regular_file(path, kind)
        size = path.stat().st_size
    except InvalidInputError as exc:
        raise error(str(exc)) from None
    if size > max_bytes:
        raise error(f"{kind} '{path}' is {size:,} bytes, more than the {max_bytes:,} a {kind} may have; "
                    "is it the right file?")
    try:
        with open(path, "rb") as handle:
            text = handle.read(max_bytes + 1)
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise error(f"{kind} '{path}' is not valid JSON ({first}); fix or rebuild the file") from None
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

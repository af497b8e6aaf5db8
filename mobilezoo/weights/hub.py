"""The weights hub: packaged files, a verified local cache, and downloads that never leave a bad file.

Where weights come from, in order:
1. a file packaged with mobilezoo (``mobilezoo/weights/files/``), verified against its sha256;
2. the cache, ``$MOBILEZOO_HOME/checkpoints`` (default ``~/.cache/mobilezoo``), under hash-prefixed names
   (``<sha256[:12]>-<file>``), re-hashed on every load; a file that fails is deleted, never trusted;
3. a file imported by hand (``mobilezoo weights import``), stored as ``<name>.<tag>.safetensors``;
4. torch.hub's checkpoint folder (files torchvision downloaded before);
5. a download: to a temporary file, hash-checked, then renamed, under a file lock so two processes never
   write the same file. ``MOBILEZOO_OFFLINE=1`` turns step 5 into a clear error.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from ..errors import CheckpointError
from ..fileio import atomic_path, sha256_of
from ..registry import ModelEntry, WeightEntry
from .loading import load_state_dict_strict

PACKAGED_DIR = Path(__file__).parent / "files"


def cache_dir() -> Path:
    """The weights cache: ``$MOBILEZOO_HOME/checkpoints`` (default ``~/.cache/mobilezoo/checkpoints``)."""
    return Path(os.environ.get("MOBILEZOO_HOME", Path.home() / ".cache" / "mobilezoo")) / "checkpoints"


def offline() -> bool:
    return os.environ.get("MOBILEZOO_OFFLINE", "").lower() in ("1", "true", "yes")


def basename(weight: WeightEntry) -> str:
    return (weight.url or weight.file or "weights").rstrip("/").split("/")[-1]


def cached_path(weight: WeightEntry) -> Path:
    """Where a download of ``weight`` is kept: hash-prefixed when the sha256 is known."""
    name = basename(weight)
    return cache_dir() / (f"{weight.sha256[:12]}-{name}" if weight.sha256 else name)


def imported_path(entry: ModelEntry, tag: str) -> Path:
    return cache_dir() / f"{entry.name}.{tag}.safetensors"


@contextlib.contextmanager
def file_lock(target: Path) -> Iterator[None]:
    """An exclusive lock beside ``target`` (``<target>.lock``), held while the file is written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def verify(path: Path, weight: WeightEntry, delete_bad: bool) -> None:
    if weight.sha256 and sha256_of(path) != weight.sha256:
        if delete_bad:
            path.unlink(missing_ok=True)
            raise CheckpointError(f"cached weights '{path.name}' failed their sha256 check and were deleted; load again to re-download")
        raise CheckpointError(f"'{path}' does not match the sha256 registered for it; the package is damaged, reinstall mobilezoo")


def download(url: str, target: Path, sha256: str | None, progress: bool = True) -> Path:
    """Download ``url`` to ``target`` atomically; the hash is checked before the file is renamed into place."""
    from tqdm import tqdm

    if offline():
        raise CheckpointError(f"MOBILEZOO_OFFLINE is set: not downloading {url}; copy the file into {target.parent}")
    with file_lock(target):
        if target.exists():  # another process finished it while we waited for the lock
            return target
        try:
            with urllib.request.urlopen(url, timeout=60) as response, atomic_path(target) as temporary:
                total = int(response.headers.get("Content-Length") or 0) or None
                with open(temporary, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc=target.name,
                                                        disable=not progress, leave=False) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
                if total is not None and temporary.stat().st_size != total:
                    raise CheckpointError(f"download of {url} was truncated ({temporary.stat().st_size} of {total} bytes)")
                if sha256 and sha256_of(temporary) != sha256:
                    raise CheckpointError(f"download of {url} does not match its sha256; nothing was kept")
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise CheckpointError(f"cannot download {url} ({reason}); download it by hand and run "
                                  "`mobilezoo weights import FILE --model NAME.TAG`") from None
    return target


def locate(entry: ModelEntry, tag: str, allow_download: bool = True) -> Path:
    """The verified local file of ``entry.tag``, downloading it when allowed and possible."""
    weight = entry.weights[tag]
    if weight.file:
        path = PACKAGED_DIR / weight.file
        if not path.is_file():
            raise CheckpointError(f"packaged weights '{weight.file}' are missing; reinstall mobilezoo")
        verify(path, weight, delete_bad=False)
        return path
    cached = cached_path(weight)
    if cached.is_file():
        verify(cached, weight, delete_bad=True)
        return cached
    imported = imported_path(entry, tag)
    if imported.is_file():
        return imported  # checked against the model when it was imported, and loaded strictly again now
    if weight.url:
        legacy = Path(torch.hub.get_dir()) / "checkpoints" / basename(weight)
        if legacy.is_file():
            verify(legacy, weight, delete_bad=False)
            return legacy
        if allow_download:
            return download(weight.url, cached, weight.sha256)
    raise CheckpointError(
        f"weights {entry.name}.{tag} are not on this machine; download {weight.url or weight.file} by hand and run "
        f"`mobilezoo weights import FILE --model {entry.name}.{tag}`"
    )


def load_pretrained(model: nn.Module, entry: ModelEntry, tag: str) -> nn.Module:
    """Load the weights of ``entry.tag`` into ``model`` (strict, weights-only or safetensors)."""
    return load_state_dict_strict(model, locate(entry, tag))


def import_weights(source: str | os.PathLike, name: str) -> Path:
    """Check a hand-downloaded checkpoint against the model, convert it, and store it in the cache."""
    from safetensors.torch import save_file

    from ..factory import create_model
    from ..registry import resolve
    from .loading import read_checkpoint

    entry, tag = resolve(name)
    if tag is None:
        raise CheckpointError(f"say which weights these are: --model {entry.name}.<tag> (tags: {', '.join(entry.weights) or 'none'})")
    weight = entry.weights[tag]
    if weight.sha256 and sha256_of(source) != weight.sha256:
        raise CheckpointError(f"'{source}' is not the file registered for {entry.name}.{tag} (sha256 differs)")
    model = create_model(entry.name, num_classes=weight.num_classes)
    load_state_dict_strict(model, read_checkpoint(source))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    target = imported_path(entry, tag)
    with file_lock(target), atomic_path(target) as temporary:
        save_file(state, str(temporary), metadata={"source": os.path.basename(os.fspath(source)), "model": f"{entry.name}.{tag}"})
    return target

"""The weights hub: packaged files, a verified local cache, and downloads that never leave a bad file.

Where the weights of ``name.tag`` come from, in order:
1. a file packaged with mobilezoo (``mobilezoo/weights/files/``), verified against its registered sha256;
2. a file imported by hand for exactly this ``name.tag`` (``mobilezoo weights import``), stored as
   ``<name>.<tag>.safetensors`` with the sha256 it had when it was written;
3. the download cache, ``$MOBILEZOO_HOME/checkpoints`` (default ``~/.cache/mobilezoo``): one file per URL,
   named ``<sha256(url)[:16]>-<basename>``, so two URLs that end in the same basename (all mobile-vision
   checkpoints are ``.../model.pth``) never share a file;
4. torch.hub's checkpoint folder, only for URLs whose file name carries a hash prefix (torchvision's);
5. a download: to a scratch file, hash-checked, then renamed into place under a file lock.

How a file is checked (:func:`hash_policy`), every time it is loaded:
- ``sha256``: the registered sha256 (packaged files);
- ``prefix``: the hex digits after the last ``-`` of the URL's file name start its sha256, as torch.hub checks
  (torchvision's ``resnext50_32x4d-1a0047aa.pth``);
- ``first-use``: no hash is published (mobile-vision); the sha256 of the first download is recorded beside
  the file (``<file>.sha256``) and every later load must match it (trust on first use).
A cached file that fails its check, has no recorded hash, or cannot be read is deleted, so the next load
downloads it again. ``MOBILEZOO_OFFLINE=1`` turns step 5 into a clear error.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

import torch
from torch import nn

from ..errors import CheckpointError, InvalidInputError
from ..fileio import atomic_path, file_lock, sha256_of
from ..pretrained_cfg import WeightsSource
from ..registry import ModelEntry, WeightEntry
from .loading import adapt_input_conv, extract_state_dict, load_state_dict_strict, read_checkpoint

PACKAGED_DIR = Path(__file__).parent / "files"
#: torch.hub's convention: ``name-<hex>.ext``, the hex digits being a prefix of the file's sha256
HASH_PREFIX = re.compile(r"-([a-f0-9]{8,64})\.")
OFFLINE_ON, OFFLINE_OFF = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


#: a caller's cache folder for the current load (``create_model(..., cache_dir=...)``, as timm takes it)
_CACHE_OVERRIDE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("mobilezoo_cache_dir", default=None)


def cache_dir() -> Path:
    """The weights cache: ``create_model``'s ``cache_dir`` during that call, else ``$MOBILEZOO_HOME/checkpoints``
    (default ``~/.cache/mobilezoo/checkpoints``)."""
    override = _CACHE_OVERRIDE.get()
    if override is not None:
        return override
    return Path(os.environ.get("MOBILEZOO_HOME", Path.home() / ".cache" / "mobilezoo")) / "checkpoints"


@contextlib.contextmanager
def using_cache_dir(folder: str | os.PathLike | None) -> Iterator[None]:
    """Downloads and cache reads go to ``folder`` inside the block (``None``: the default cache)."""
    token = _CACHE_OVERRIDE.set(Path(folder) if folder is not None else None)
    try:
        yield
    finally:
        _CACHE_OVERRIDE.reset(token)


def offline() -> bool:
    """``MOBILEZOO_OFFLINE``: 1/true/yes/on or 0/false/no/off (unset: online); anything else is an error."""
    value = os.environ.get("MOBILEZOO_OFFLINE", "").strip().lower()
    if value in OFFLINE_ON:
        return True
    if value in OFFLINE_OFF:
        return False
    raise InvalidInputError(f"MOBILEZOO_OFFLINE={os.environ['MOBILEZOO_OFFLINE']!r} is not understood; set it to 1 (offline) or 0")


def basename(weight: WeightEntry) -> str:
    return (weight.url or weight.file or "weights").rstrip("/").split("/")[-1]


def hash_policy(weight: WeightEntry) -> str:
    """How this entry's file is verified: ``sha256``, ``prefix`` or ``first-use`` (see the module docstring)."""
    if weight.sha256:
        return "sha256"
    if weight.url and HASH_PREFIX.search(basename(weight)):
        return "prefix"
    return "first-use"


def cached_path(weight: WeightEntry) -> Path:
    """Where a download of ``weight`` is kept: one file per full URL."""
    key = hashlib.sha256((weight.url or weight.file or "").encode()).hexdigest()[:16]
    return cache_dir() / f"{key}-{basename(weight)}"


def imported_path(entry: ModelEntry, tag: str) -> Path:
    return cache_dir() / f"{entry.name}.{tag}.safetensors"


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def record_hash(path: Path, digest: str, also: Sequence[str] = ()) -> None:
    """Record ``digest`` (and, while a file is being swapped, the hashes in ``also``) as trusted for ``path``."""
    with atomic_path(_record_path(path)) as temporary:
        temporary.write_text("".join(f"{d}\n" for d in dict.fromkeys([digest, *also])))


def record_before_swap(path: Path, digest: str) -> None:
    """Before a new file is renamed onto ``path``: trust the new hash *and* the old one. A kill before, during
    or after the rename then leaves a file whose hash is recorded (the old pair or the new pair, never a
    mismatch that would discard both); :func:`record_hash` with the new hash alone closes the swap."""
    record_hash(path, digest, _recorded_hashes(path) if path.is_file() else ())


def _recorded_hashes(path: Path) -> list[str]:
    try:
        return [line.strip() for line in _record_path(path).read_text().splitlines() if line.strip()]
    except OSError:
        return []


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    _record_path(path).unlink(missing_ok=True)


def hash_problem(weight: WeightEntry, digest: str) -> str | None:
    """Why a file with sha256 ``digest`` is not the file of ``weight``, or None when it is."""
    policy = hash_policy(weight)
    if policy == "sha256" and digest != weight.sha256:
        return "its sha256 differs from the registered one"
    if policy == "prefix":
        prefix = HASH_PREFIX.search(basename(weight)).group(1)
        if not digest.startswith(prefix):
            return f"its sha256 does not start with the hash prefix '{prefix}' in its file name"
    return None


def verify_cached(path: Path, weight: WeightEntry) -> None:
    """Check a file this hub wrote; delete it (and its hash record) when it is not trustworthy."""
    digest = sha256_of(path)
    recorded = _recorded_hashes(path)
    problem = hash_problem(weight, digest)
    if problem is None and not recorded:
        problem = "no hash was recorded for it (it was not written whole by mobilezoo)"
    elif problem is None and digest not in recorded:
        problem = "its sha256 differs from the one recorded when it was downloaded"
    if problem:
        _discard(path)
        raise CheckpointError(f"cached weights '{path.name}' failed their sha256 check ({problem}) and were deleted; "
                              "load again to re-download")


def download(url: str, target: Path, weight: WeightEntry, progress: bool = True, label: str = "NAME.TAG") -> Path:
    """Download ``url`` to ``target`` atomically; the hash is checked and recorded before the rename."""
    from ..progress import progress_bar

    with file_lock(target):
        if target.is_file():  # another process finished it while we waited for the lock
            verify_cached(target, weight)
            return target
        try:
            with urllib.request.urlopen(url, timeout=60) as response, atomic_path(target) as temporary:
                total = int(response.headers.get("Content-Length") or 0) or None
                with open(temporary, "wb") as out, progress_bar(total=total, unit="B", unit_scale=True, desc=target.name,
                                                                disable=not progress) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
                if total is not None and temporary.stat().st_size != total:
                    raise CheckpointError(f"download of {url} was truncated ({temporary.stat().st_size} of {total} bytes)")
                digest = sha256_of(temporary)
                problem = hash_problem(weight, digest)
                if problem:
                    raise CheckpointError(f"download of {url} does not match its sha256 ({problem}); nothing was kept")
                record_before_swap(target, digest)  # recorded first: a file without its record is never trusted
            record_hash(target, digest)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise CheckpointError(f"cannot download {url} ({reason}); download it by hand and run "
                                  f"`mobilezoo weights import FILE --model {label}`") from None
    return target


def locate(entry: ModelEntry, tag: str, allow_download: bool = True) -> Path:
    """The verified local file of ``entry.tag``, downloading it when allowed and possible."""
    weight = entry.weights[tag]
    if weight.file:
        path = PACKAGED_DIR / weight.file
        if not path.is_file():
            raise CheckpointError(f"packaged weights '{weight.file}' are missing; reinstall mobilezoo")
        if weight.sha256 and sha256_of(path) != weight.sha256:
            raise CheckpointError(f"'{path}' does not match the sha256 registered for it; the package is damaged, reinstall mobilezoo")
        return path
    imported = imported_path(entry, tag)
    if imported.is_file():
        if sha256_of(imported) not in _recorded_hashes(imported):
            _discard(imported)
            raise CheckpointError(f"imported weights '{imported.name}' changed since they were imported and were deleted; "
                                  f"import them again with `mobilezoo weights import FILE --model {entry.name}.{tag}`")
        return imported
    cached = cached_path(weight)
    if cached.is_file():
        verify_cached(cached, weight)
        return cached
    if weight.url:
        if hash_policy(weight) == "prefix":  # a torchvision download names its own hash: safe to reuse
            legacy = Path(torch.hub.get_dir()) / "checkpoints" / basename(weight)
            if legacy.is_file() and hash_problem(weight, sha256_of(legacy)) is None:
                return legacy
        if allow_download and offline():
            raise CheckpointError(f"MOBILEZOO_OFFLINE is set: not downloading {weight.url}; download it by hand and run "
                                  f"`mobilezoo weights import FILE --model {entry.name}.{tag}`")
        if allow_download:
            return download(weight.url, cached, weight, label=f"{entry.name}.{tag}")
    raise CheckpointError(
        f"weights {entry.name}.{tag} are not on this machine; download {weight.url or weight.file} by hand and run "
        f"`mobilezoo weights import FILE --model {entry.name}.{tag}`"
    )


def load_pretrained(model: nn.Module, entry: ModelEntry, tag: str) -> nn.Module:
    """Load the weights of ``entry.tag`` into ``model`` (strict, weights-only or safetensors).

    The stem is adapted when the model takes other input channels; ``model.pretrained_cfg.weights`` records
    the file and its sha256. A cached download that cannot be read is deleted, so the next load fetches it again.
    """
    path = locate(entry, tag)
    try:
        state = read_checkpoint(path)
    except CheckpointError as exc:
        if path.parent == cache_dir():
            _discard(path)
            raise CheckpointError(f"{exc} (the cached file was deleted; load again to re-download)") from None
        raise
    load_state_dict_strict(model, adapt_input_conv(model, extract_state_dict(state)))
    cfg = getattr(model, "pretrained_cfg", None)
    if cfg is not None:
        cfg.weights = WeightsSource.tagged(f"{entry.name}.{tag}", path.name, sha256_of(path))
    return model

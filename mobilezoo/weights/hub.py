"""Find pretrained weights: packaged with mobilezoo, or already in the local cache.

The cache is ``$MOBILEZOO_HOME`` (default ``~/.cache/mobilezoo``); torch.hub's checkpoint folder is
also searched, so files that torchvision downloaded before are reused. Cached files are re-hashed on
every load when the entry carries a sha256 and a mismatch is never trusted.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError
from ..fileio import sha256_of
from ..registry import ModelEntry, WeightEntry
from .loading import load_state_dict_strict

PACKAGED_DIR = Path(__file__).parent / "files"


def cache_dir() -> Path:
    """The weights cache: ``$MOBILEZOO_HOME`` or ``~/.cache/mobilezoo``."""
    return Path(os.environ.get("MOBILEZOO_HOME", Path.home() / ".cache" / "mobilezoo")) / "checkpoints"


def candidate_paths(weight: WeightEntry) -> list[Path]:
    """Where the file of ``weight`` may already be on disk, in search order."""
    paths = []
    if weight.file:
        paths.append(PACKAGED_DIR / weight.file)
    if weight.url:
        basename = weight.url.rstrip("/").split("/")[-1]
        paths.append(cache_dir() / basename)
        paths.append(Path(torch.hub.get_dir()) / "checkpoints" / basename)
    return paths


def locate(entry: ModelEntry, tag: str) -> Path:
    """Return the verified local file of ``entry.tag`` or raise a one-line error with the fix."""
    weight = entry.weights[tag]
    for path in candidate_paths(weight):
        if path.is_file():
            if weight.sha256 and sha256_of(path) != weight.sha256:
                raise CheckpointError(
                    f"'{path}' does not match the sha256 registered for {entry.name}.{tag}; delete it and fetch it again"
                )
            return path
    where = weight.url or weight.file
    raise CheckpointError(
        f"weights {entry.name}.{tag} are not on this machine; download {where} by hand and pass "
        f"checkpoint_path=, or place the file in {cache_dir()}"
    )


def load_pretrained(model: nn.Module, entry: ModelEntry, tag: str) -> nn.Module:
    """Load the weights of ``entry.tag`` into ``model`` (strict, weights-only)."""
    path = locate(entry, tag)
    convert = getattr(model, "convert_checkpoint", None)
    return load_state_dict_strict(model, path, convert=convert)

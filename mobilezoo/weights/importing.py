"""Import a hand-downloaded checkpoint for one weight entry (``mobilezoo weights import FILE --model NAME.TAG``).

The file is checked against the model strictly (weights-only reading), converted to safetensors and stored as
the imported file of exactly that ``name.tag``, with its sha256 recorded, where :func:`~mobilezoo.weights.hub.locate`
finds it first.
"""

from __future__ import annotations

import os
from pathlib import Path

from safetensors.torch import save_file

from ..errors import CheckpointError
from ..fileio import atomic_path, check_regular_file, file_lock, sha256_of
from ..registry import resolve
from .hub import hash_problem, imported_path, record_before_swap, record_hash
from .loading import load_state_dict_strict, read_checkpoint


def import_weights(source: str | os.PathLike, name: str) -> Path:
    """Check a hand-downloaded checkpoint against the model, convert it, and store it for ``name`` (NAME.TAG)."""
    source = check_regular_file(source, "checkpoint")
    entry, tag = resolve(name)
    if tag is None:
        raise CheckpointError(f"say which weights these are: --model {entry.name}.<tag> (tags: {', '.join(entry.weights) or 'none'})")
    weight = entry.weights[tag]
    problem = hash_problem(weight, sha256_of(source))
    if problem:
        raise CheckpointError(f"'{source}' is not the file registered for {entry.name}.{tag} ({problem})")
    model = entry.builder(num_classes=weight.num_classes, **weight.model_kwargs)  # its layout, to check strictly
    load_state_dict_strict(model, read_checkpoint(source))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    target = imported_path(entry, tag)
    with file_lock(target):
        with atomic_path(target) as temporary:
            save_file(state, str(temporary), metadata={"format": "pt", "source": source.name, "model": f"{entry.name}.{tag}"})
            digest = sha256_of(temporary)
            record_before_swap(target, digest)  # both hashes trusted while the file is swapped: a kill loses neither
        record_hash(target, digest)  # the swap is done: only the new file is trusted
    return target

"""Export several models with a YAML profile (configs/export/*.yaml) into one bundle and one manifest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InvalidInputError
from ..fileio import read_yaml_file
from ..shipped_configs import configs_root, resolve_config_path
from .formats import get_format
from .manifest_entry import ManifestEntry

PROFILE_KEYS = {"name", "formats", "int8", "batch", "input_size"}


def load_profile(path_or_name: str | os.PathLike, configs_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read an export profile by path, or by name from ``configs/export/``."""
    path = resolve_config_path(path_or_name)
    if not path.suffix:
        base = Path(configs_dir) if configs_dir else configs_root() / "export"
        path = base / f"{path_or_name}.yaml"
    if not path.is_file():
        raise InvalidInputError(f"export profile '{path_or_name}' not found (looked for {path})")
    data = read_yaml_file(path, "export profile") or {}  # no YAML aliases, one-line errors
    if not isinstance(data, dict):
        raise InvalidInputError(f"export profile '{path}' must be a mapping of key: value")
    unknown = set(data) - PROFILE_KEYS
    if unknown:
        raise InvalidInputError(f"{path}: unknown key '{sorted(unknown)[0]}'; keys are {', '.join(sorted(PROFILE_KEYS))}")
    formats = data.get("formats") or []
    if not formats:
        raise InvalidInputError(f"{path}: 'formats' must list at least one format")
    for fmt in list(formats) + list(data.get("int8") or []):
        get_format(fmt)
    return data


def export_bundle(
    models: Sequence[str],
    profile: dict[str, Any],
    out_dir: str | os.PathLike,
    progress: Callable[[str], None] | None = None,
    **export_kwargs: Any,
) -> list[ManifestEntry]:
    """Export every model in every profile format (and int8 where listed) into ``out_dir``; returns their entries."""
    from .api import export

    jobs = [(m, f, False) for m in models for f in profile["formats"]]
    jobs += [(m, f, True) for m in models for f in profile.get("int8") or []]
    entries = []
    for model, fmt, int8 in jobs:
        if progress:
            progress(f"{model} -> {fmt}{' int8' if int8 else ''}")
        result = export(model, fmt, out_dir, int8=int8, batch=profile.get("batch"),
                        input_size=profile.get("input_size"), **export_kwargs)
        entries.append(result.entry)
    return entries

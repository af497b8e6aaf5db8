"""The ``configs/`` folder that ships with the package, and how a user's ``configs/...`` path finds it.

The README's commands name files such as ``configs/train/fbnetv2_f1_fmnist.yaml``. In a checkout they are there;
after ``pip install mobilezoo`` the same files live inside the package (``mobilezoo/configs``). A relative path
that starts with ``configs/`` and does not exist in the current folder is read from the shipped copy, so every
README command runs from any folder. A file of your own at that path always wins.
"""

from __future__ import annotations

import os
from pathlib import Path


def configs_root() -> Path:
    """The shipped ``configs/`` folder: inside the installed package (setup.py maps it there), else the
    repository's own (an editable install or a checkout)."""
    package = Path(__file__).resolve().parent
    installed = package / "configs"
    return installed if installed.is_dir() else package.parent / "configs"


def resolve_config_path(path: str | os.PathLike) -> Path:
    """``path`` itself when it exists (or is not under ``configs/``); otherwise the shipped file of that name."""
    given = Path(path)
    if given.exists() or given.is_absolute():
        return given
    parts = given.parts
    if len(parts) >= 2 and parts[0] == "configs":
        shipped = configs_root().joinpath(*parts[1:])
        if shipped.is_file():
            return shipped
    return given

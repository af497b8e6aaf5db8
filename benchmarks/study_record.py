"""What every recorded study writes beside its figures: the git commit, the machine, and its sweep file.

Imported by the study scripts in this folder (``python benchmarks/<study>.py`` puts this folder on the path).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch
import yaml

from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.fileio import atomic_path

ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """HEAD's commit, with ``-dirty`` when tracked files differ from it (the figures may not be that commit's)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "HEAD") + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict[str, Any]:
    return {"host_cpu": host_cpu(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def write_sweep_file(path: Path, header: str, settings: dict[str, Any], trials: list[dict[str, Any]]) -> None:
    """A sweep file a reader can scan: ``header`` comment lines, the settings, then one trial per line."""
    body = yaml.safe_dump(settings, sort_keys=False, default_flow_style=False)
    body += "trials:\n" + "".join(f"  - {yaml.safe_dump(t, default_flow_style=True, sort_keys=False, width=10_000).strip()}\n"
                                  for t in trials)
    with atomic_path(path) as temporary:
        temporary.write_text(header + body)

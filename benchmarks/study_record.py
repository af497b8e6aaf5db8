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

import numpy as np
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


def bootstrap_ci95(a: Any, b: Any = None, rng: np.random.Generator | None = None, draws: int = 10_000) -> list[float]:
    """95% bootstrap interval of mean(a) - mean(b) (each resampled on its own), or of mean(a) alone (paired
    differences). ``rng`` lets one study draw several intervals from one stream; default: a fresh seed-0 stream."""
    rng = np.random.default_rng(0) if rng is None else rng
    a = np.asarray(a, float)
    if b is None:
        boot = [rng.choice(a, len(a)).mean() for _ in range(draws)]
    else:
        b = np.asarray(b, float)
        boot = [rng.choice(a, len(a)).mean() - rng.choice(b, len(b)).mean() for _ in range(draws)]
    return [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]

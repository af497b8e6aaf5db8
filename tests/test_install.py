"""A non-editable install (``pip install .`` into a fresh virtual environment) carries what the package reads."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys

from .conftest import REPO_ROOT


def test_non_editable_install_runs_the_android_bundle(tmp_path):
    # build the wheel from a copy, so nothing is written into the checkout
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                                                       "runs", "demo_out", "export_out", "bundles"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "wheels"), str(source)], check=True, timeout=600, capture_output=True)
    wheel = next((tmp_path / "wheels").glob("mobilezoo-*.whl"))
    venv = tmp_path / "venv"
    # the fresh environment sees the already installed dependencies (torch is 5 GB), but gets its own mobilezoo
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, timeout=600,
                   capture_output=True)
    env = {**os.environ, "MOBILEZOO_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    where = subprocess.run([python, "-c", "import mobilezoo; print(mobilezoo.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(venv)), where  # the installed copy, not the checkout
    tiny = os.path.join(REPO_ROOT, "configs", "models", "fbnet_tiny_example.yaml")
    bundle = tmp_path / "bundle"
    result = subprocess.run([python, os.path.join(REPO_ROOT, "export", "run.py"), "--profile", "android",
                             "--models", tiny, "--out", str(bundle)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=900)
    have_runtimes = all(importlib.util.find_spec(p) for p in ("executorch", "litert_torch", "ai_edge_litert"))
    if have_runtimes:
        assert result.returncode == 0, result.stderr[-2000:]
        formats = sorted(a["format"] + ("_int8" if a["precision"] == "int8" else "")
                         for a in json.loads((bundle / "manifest.json").read_text())["artifacts"])
        assert formats == ["executorch", "executorch_int8", "ptl", "tflite"]
    else:  # the profile was found inside the installed package; the missing runtime is named with its pip extra
        assert result.returncode == 2 and "pip install 'mobilezoo[executorch]'" in result.stderr, result.stderr[-2000:]

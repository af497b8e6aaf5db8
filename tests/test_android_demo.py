"""The Android demo, checked offline: XML, Gradle pins, javac against stubs, exported assets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO_ROOT

DEMO = os.path.join(REPO_ROOT, "android_demo")


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO_ROOT)


def test_sources_type_check_and_files_parse():
    proc = run(os.path.join(DEMO, "check_offline.py"))
    assert proc.returncode == 0, proc.stderr
    assert "javac type check" in proc.stdout


@pytest.mark.slow  # end-to-end, ~30-80 s: in CI (tests/run.sh), not in a plain pytest
def test_exported_assets_are_what_the_app_opens(tmp_path):
    proc = run(os.path.join(DEMO, "export_assets.py"), "--model", "fbnetv2_f1", "--input-size", "64", "--assets-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    check = run(os.path.join(DEMO, "check_offline.py"), "--assets", str(tmp_path))
    assert check.returncode == 0, check.stderr
    (tmp_path / "sample.png").unlink()
    check = run(os.path.join(DEMO, "check_offline.py"), "--assets", str(tmp_path))
    assert check.returncode == 1 and "sample.png, is not in the assets" in check.stderr

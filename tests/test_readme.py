"""The README's Python blocks run as written (offline, in a scratch folder that sees the repository's files)."""

from __future__ import annotations

import os
import re

import pytest

from .conftest import REPO_ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8").read(), re.S)


def test_readme_has_python_examples():
    assert BLOCKS, "the README lost its Python examples"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch, capsys):
    for name in ("configs", "hubconf.py"):  # the README's relative paths, without writing into the repository
        os.symlink(os.path.join(REPO_ROOT, name), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOBILEZOO_OFFLINE", "1")
    exec(compile(BLOCKS[index], f"README.md python block {index}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out  # the examples print what they show

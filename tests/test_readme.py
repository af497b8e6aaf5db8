"""The README is true: its Python blocks run as written from an empty scratch folder (offline, nothing copied or
linked in), its command-line synopsis names every option of every verb, and its training-options table is the
typed config's."""

from __future__ import annotations

import os
import re
import pytest

from mobilezoo.cli.main import build_parser, iter_verbs
from mobilezoo.train.config import TrainConfig

from .conftest import REPO_ROOT

README = open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8").read()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_python_examples():
    assert BLOCKS, "the README lost its Python examples"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # empty: configs/... paths must resolve to the copy shipped in the package
    monkeypatch.setenv("MOBILEZOO_OFFLINE", "1")
    exec(compile(BLOCKS[index], f"README.md python block {index}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out  # the examples print what they show


def _synopsis() -> dict[str, str]:
    """The README's command-line block: per verb, its synopsis lines (comments dropped)."""
    block = re.search(r"## Command line\n\n```\n(.*?)```", README, re.S).group(1)
    lines: dict[str, str] = {}
    verb = None
    for line in block.splitlines():
        if line.startswith("mobilezoo "):
            verb = line.split()[1]
        assert verb, line
        lines[verb] = lines.get(verb, "") + " " + line.split("#")[0]
    return lines


def test_readme_synopsis_names_every_option_of_every_verb():
    synopsis = _synopsis()
    missing = []
    for path, parser in iter_verbs(build_parser()):
        text = synopsis.get(path[0], "")
        options = [o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"]
        missing += [f"{' '.join(path)} {o}" for o in options if not re.search(re.escape(o) + r"(?![\w-])", text)]
    assert not missing, missing
    assert {path[0] for path, _ in iter_verbs(build_parser())} == set(synopsis)


def test_readme_lists_every_training_option_with_its_default():
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", README, re.M))
    expected = {key: default for key, default, _ in TrainConfig.options_help()}
    assert rows == expected

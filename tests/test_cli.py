"""The mobilezoo command: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mobilezoo.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_profile_prints_published_figures(capsys):
    code, out, _ = run(capsys, "profile", "resnext50_32x4d")
    assert code == 0
    assert "25,028,904" in out and "4.23 G" in out and "MACs (without BN)" in out


def test_profile_json(capsys):
    code, out, _ = run(capsys, "profile", "resnext50_32x4d", "--input-size", "64", "--json")
    data = json.loads(out)
    assert code == 0 and data["input_shape"] == [1, 3, 64, 64] and data["params"] == 25_028_904


def test_list_and_info(capsys):
    code, out, _ = run(capsys, "list", "resnext101*", "--json")
    assert code == 0 and json.loads(out) == ["resnext101_32x8d", "resnext101_64x4d"]
    code, out, _ = run(capsys, "info", "resnext50_32x4d", "--json")
    assert code == 0 and json.loads(out)["published"]["gmacs"] == 4.23


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["profile", "resnxt50"], "unknown model 'resnxt50'; closest: resnext50_32x4d"),
        (["profile", "resnext50_32x4d", "--input-size", "0"], "must be positive"),
        (["profile", "resnext50_32x4d", "--input-size", "-5"], "must be positive"),
        (["profile", "resnext50_32x4d", "--input-size", "big"], "not a number"),
        (["profile", "resnext50_32x4d", "--input-size", "4,64,64"], "takes 3 input channels, got 4"),
        (["info", "nothing_here"], "unknown model"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_usage_error_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "mobilezoo", "profile"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "required: name" in proc.stderr


def test_help_lists_every_verb():
    proc = subprocess.run([sys.executable, "-m", "mobilezoo", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for verb in ("list", "info", "profile", "demo"):
        assert f"    {verb}" in proc.stdout

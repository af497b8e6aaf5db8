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


# --- as a new user finds it (issue: at home for timm and torchvision users) ------------------------------


def test_list_searches_aliases_and_shows_each_weight_with_its_own_data_set(capsys):
    from mobilezoo.registry import list_models

    assert list_models("mobilenet*") == ["mnv3"]  # timm's and torchvision's names are aliases
    code, out, _ = run(capsys, "list", "fbnetv2_f1")
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 5}
    assert code == 0 and {"fbnetv2_f1", ".fmnist", ".mv_in1k"} <= set(rows)
    assert "Fashion-MNIST" in rows[".fmnist"] and "32x32" in rows[".fmnist"] and "92.00" in rows[".fmnist"]
    assert "ImageNet-1k" in rows[".mv_in1k"] and "68.28" in rows[".mv_in1k"] and "Fashion" not in rows[".mv_in1k"]


def test_weights_list_json_has_full_urls_and_how_each_is_verified(capsys):
    from mobilezoo.registry import get_model_entry

    code, out, _ = run(capsys, "weights", "list", "*", "--json")
    records = {r["name"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0 and records["fbnetv2_f2.mv_in1k"]["url"] == get_model_entry("fbnetv2_f2").weights["mv_in1k"].url
    assert records["fbnetv2_f2.mv_in1k"]["verified_by"] == "first-use"
    assert records["resnext50_32x4d.tv_in1k"]["verified_by"] == "prefix"
    assert records["fbnetv2_f1.fmnist"]["verified_by"] == "sha256" and records["fbnetv2_f1.fmnist"]["local"]


def test_export_says_where_its_weights_come_from_and_never_names_a_tag_it_lacks(capsys, tmp_path):
    code, out, _ = run(capsys, "export", "fbnetv2_f1", "--format", "torchscript", "--input-size", "64",
                       "--out", str(tmp_path / "random"))
    entry = json.loads((tmp_path / "random" / "manifest.json").read_text())["artifacts"][0]
    assert code == 0 and entry["weights"] == "random init, seed 0" and entry["file"] == "fbnetv2_f1.pt"
    assert "random init, seed 0" in out
    code, _, _ = run(capsys, "export", "fbnetv2_f1.fmnist", "--format", "torchscript", "--out", str(tmp_path / "trained"))
    entry = json.loads((tmp_path / "trained" / "manifest.json").read_text())["artifacts"][0]
    assert code == 0 and entry["file"] == "fbnetv2_f1_fmnist.pt" and entry["model_config"]["tag"] == "fmnist"
    assert entry["weights"].startswith("fbnetv2_f1.fmnist (fbnetv2_f1.fmnist.safetensors, sha256 ")
    # weights that are not here: refused before anything is written (the suite runs offline)
    code, _, err = run(capsys, "export", "fbnetv2_f2.mv_in1k", "--format", "torchscript", "--out", str(tmp_path / "no"))
    assert code == 2 and "MOBILEZOO_OFFLINE" in err and not (tmp_path / "no").exists()


def test_shipped_latency_table_covers_every_fbnet_model_and_hints_run(capsys, tmp_path):
    import mobilezoo
    from mobilezoo.nas.latency_table import LatencyTable, fbnet_blocks

    from .conftest import REPO_ROOT

    shipped = f"{REPO_ROOT}/benchmarks/results/lut_onnxruntime_1t.json"
    table = LatencyTable.load(shipped)
    for name in mobilezoo.list_models():
        model = mobilezoo.create_model(name)
        if model.pretrained_cfg.family == "fbnet":
            assert table.predict(fbnet_blocks(model, model.pretrained_cfg.input_size)) > 0, name
    code, out, _ = run(capsys, "latency", "fbnetv2_f1", "--lut", shipped)
    assert code == 0 and "predicted latency" in out
    tiny = f"{REPO_ROOT}/configs/models/fbnet_tiny_example.yaml"
    code, _, err = run(capsys, "latency", tiny, "--lut", shipped, "--input-size", "64")
    hint = err.split("`")[1]  # the command the error suggests ...
    assert code == 2 and hint.startswith("mobilezoo latency ")
    copy = tmp_path / "lut.json"
    copy.write_text(open(shipped).read())
    argv = hint.split()[1:]
    argv[argv.index(shipped)] = str(copy)  # ... runs as written (on a copy of the table)
    code, out, _ = run(capsys, *argv, "--input-size", "64")
    assert code == 0 and "predicted latency" in out


def test_progress_lines_reach_logs_and_normal_output_has_no_warnings(tmp_path):
    from .conftest import REPO_ROOT

    env = {**__import__("os").environ, "PYTHONWARNINGS": "default"}
    tiny = f"{REPO_ROOT}/configs/models/fbnet_tiny_example.yaml"
    proc = subprocess.run([sys.executable, "-m", "mobilezoo", "export", tiny, "--format", "onnx", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert "exporting" in proc.stdout and "done in" in proc.stdout  # not a terminal: plain lines, not silence
    assert "Warning" not in proc.stderr, proc.stderr[-1000:]
    proc = subprocess.run([sys.executable, "-W", "default", "-c", "import mobilezoo; mobilezoo.profile('fbnetv2_f1')"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr[-1000:]

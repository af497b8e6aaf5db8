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


# --- a newcomer's friction (issue 27) ---------------------------------------------------------------------------


@pytest.mark.parametrize("argv,wrong,right,verb", [
    (["bench", "fbnetv2_f1", "--iterations", "5"], "--iterations", "--iters", "mobilezoo bench"),
    (["search", "lanas", "--space", "nasbench201", "--evaluatons", "5"], "--evaluatons", "--evaluations",
     "mobilezoo search lanas"),
    (["sweep", "analyze", "x", "--out", "y", "--ranges", "1", "2"], "--ranges", "--range", "mobilezoo sweep analyze"),
])
def test_an_unknown_option_under_a_verb_suggests_the_spelling_and_that_verbs_help(argv, wrong, right, verb, capsys):
    if verb == "mobilezoo bench":  # once through the console script itself
        proc = subprocess.run([sys.executable, "-m", "mobilezoo", *argv], capture_output=True, text=True, timeout=120)
        code, err = proc.returncode, proc.stderr
    else:
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        code, err = stopped.value.code, capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"unrecognized option '{wrong}'; did you mean '{right}'?" in err
    assert err.startswith(f"{verb}: error:") and f"(see '{verb} --help')" in err


def test_list_pretrained_names_the_architecture_on_every_row(capsys):
    code, out, _ = run(capsys, "list", "fbnetv2_f1*", "--pretrained")
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line.count("│") > 5]
    assert code == 0 and [r[0] for r in rows] == ["fbnetv2_f1.fmnist", "fbnetv2_f1.fmnist_moco", "fbnetv2_f1.mv_in1k"]
    assert all(r[1] == "fbnet" for r in rows)


def test_training_options_are_in_train_help():
    from mobilezoo.train.config import TrainConfig

    proc = subprocess.run([sys.executable, "-m", "mobilezoo", "train", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    for key, default, _ in TrainConfig.options_help():
        assert f"  {key} [{default}]" in proc.stdout, key


def test_profile_takes_the_class_count_and_a_searched_definition_carries_its_own(capsys, tmp_path):
    from mobilezoo.nas.derive import derive_definition, write_definition
    from mobilezoo.nas.space import SearchSpace

    from .conftest import REPO_ROOT

    space = SearchSpace.from_file(f"{REPO_ROOT}/configs/search/fmnist_small.yaml")
    choice = {var: 0 for var in space.variables()}
    path = write_definition(derive_definition(space, choice, "tiny", num_classes=10), tmp_path / "derived.yaml")
    assert "num_classes: 10" in path.read_text()
    macs = {}
    for classes in (None, 10, 1000):
        extra = ["--num-classes", str(classes)] if classes else []
        code, out, _ = run(capsys, "profile", str(path), "--json", *extra)
        assert code == 0
        macs[classes] = json.loads(out)["macs_without_bn"]
    assert macs[None] == macs[10]  # the file's own class count, not a 1000-class head
    assert macs[1000] - macs[10] == space.head_channels * 990  # only the classifier grows
    with pytest.raises(SystemExit) as stopped:  # checked when the command line is parsed
        main(["profile", str(path), "--num-classes", "0"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "argument --num-classes: must be between 1 and 100000, got 0" in err


def test_export_and_bench_keep_the_runtimes_informational_lines_off_stderr(tmp_path):
    pytest.importorskip("executorch")
    pytest.importorskip("ai_edge_litert")
    from .conftest import REPO_ROOT

    tiny = f"{REPO_ROOT}/configs/models/fbnet_tiny_example.yaml"
    proc = subprocess.run([sys.executable, "-m", "mobilezoo", "bench", tiny, "--runtime", "executorch,tflite",
                           "--input-size", "32", "--iters", "3", "--warmup", "1", "--threads", "1"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "executorch" in proc.stdout and "tflite" in proc.stdout
    # no cpuinfo midr probing, absl I0000, "Created TensorFlow Lite XNNPACK delegate", threadpool or _pytree lines
    assert proc.stderr == "", proc.stderr[-2000:]


def test_native_stderr_filter_drops_only_the_known_informational_lines(capfd):
    import os

    from mobilezoo.quiet import native_stderr_filtered

    noise = ("[cpuinfo_utils.cpp:87] Failed to open midr file /sys/devices/soc0/image_version\n"
             "I0000 00:00:1796335150.284295    4606 port.cc:153] oneDNN custom operations are on.\n"
             "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    kept = "E1203 12:00:00.000000 1 kernel.cc:9] a real error\nWarning: something the user must see\n"
    with native_stderr_filtered():
        os.write(2, (noise + kept).encode())  # as native code writes: straight to descriptor 2
    assert capfd.readouterr().err == kept


def test_progress_in_a_log_is_started_and_done_lines_without_carriage_returns(capsys):
    from mobilezoo.progress import LogProgress

    bar = LogProgress(range(3), desc="epoch 1/2", unit="step", interval=0.0)
    assert list(bar) == [0, 1, 2]
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "epoch 1/2: started (3 step)" and lines[-1].startswith("epoch 1/2: done in ")
    assert lines[-1].endswith("(3/3 step (100%))") and "\r" not in out
    assert [line.split(" after")[0] for line in lines[1:-1]] == ["epoch 1/2: 1/3 step (33%)", "epoch 1/2: 2/3 step (67%)",
                                                                 "epoch 1/2: 3/3 step (100%)"]
    LogProgress(range(2), desc="quiet", disable=True).close()
    assert capsys.readouterr().out == ""


def test_a_configs_path_falls_back_to_the_shipped_copy_and_a_users_own_file_wins(tmp_path, monkeypatch):
    from mobilezoo.train.config import TrainConfig

    monkeypatch.chdir(tmp_path)
    assert TrainConfig.from_file("configs/train/fbnetv2_f1_fmnist.yaml").model == "fbnetv2_f1"
    mine = tmp_path / "configs" / "train" / "fbnetv2_f1_fmnist.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("model: mnv3\n")
    assert TrainConfig.from_file("configs/train/fbnetv2_f1_fmnist.yaml").model == "mnv3"
    with pytest.raises(Exception, match="does not exist"):
        TrainConfig.from_file("configs/train/no_such_recipe.yaml")


def test_search_defaults_are_the_librarys():
    """The CLI shows and uses the library's defaults (one place), never a copy that can drift."""
    import dataclasses

    from mobilezoo.cli.main import build_parser
    from mobilezoo.nas.darts_search import DartsSearchConfig
    from mobilezoo.nas.search import SearchConfig

    parser = build_parser()
    darts = vars(parser.parse_args(["search", "darts", "--out", "x"]))
    for field in dataclasses.fields(DartsSearchConfig):
        if field.name in darts and field.name != "dataset":  # dataset: None means "the task's"
            assert darts[field.name] == field.default, field.name
    dmasking = vars(parser.parse_args(["search", "dmasking", "--config", "c.yaml", "--target-mflops", "1", "--out", "x"]))
    defaults = {f.name: f.default for f in dataclasses.fields(SearchConfig)}
    checked = [key for key in dmasking if {"derive": "derivation"}.get(key, key) in defaults]
    assert len(checked) >= 10
    for key in checked:
        assert dmasking[key] == defaults[{"derive": "derivation"}.get(key, key)], key


def test_evaluate_defaults_are_the_librarys():
    import inspect

    from mobilezoo.cli.main import build_parser
    from mobilezoo.evaluation.protocols import evaluate_frozen
    from mobilezoo.train.decoupling import stage_two

    args = build_parser().parse_args(["evaluate", "fbnetv2_f1"])
    assert args.epochs == inspect.signature(evaluate_frozen).parameters["epochs"].default
    assert (args.crt_epochs, args.lws_epochs) == tuple(inspect.signature(stage_two).parameters[k].default
                                                       for k in ("crt_epochs", "lws_epochs"))

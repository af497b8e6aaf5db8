"""Hostile and careless files through the real command (issue 28): outputs that are devices, pipes or folders;
zip bombs and FIFOs where a checkpoint should be; tampered latency tables and search checkpoints; numeric options
out of range. Each answer is one line on stderr, exit code 2, and the files are as they were before."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

from .conftest import REPO_ROOT
from .test_lanas import TINY as TINY_SPACE
from .test_train import needs_fmnist

MOBILEZOO = shutil.which("mobilezoo")
COMMAND = [MOBILEZOO] if MOBILEZOO else [sys.executable, "-m", "mobilezoo"]
SPACE = os.path.join(REPO_ROOT, "configs", "search", "fmnist_small.yaml")
SHIPPED_LUT = os.path.join(REPO_ROOT, "benchmarks", "results", "lut_onnxruntime_1t.json")


def _bomb(path: Path) -> Path:
    """A .pt whose record is deflated: 20 MB of zeros in a few kB (torch.save never writes this)."""
    plain = path.with_suffix(".plain")
    torch.save({"w": torch.zeros(5_000_000)}, plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            bomb.writestr(info.filename, source.read(info.filename))
    plain.unlink()
    return path


def _device(path: Path) -> Path | None:
    """A character device node of our own (a copy of /dev/null's numbers) to stand in for a system device."""
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        return None
    return path


def _table(path: Path, **changes) -> Path:
    data = json.loads(Path(SHIPPED_LUT).read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    f: dict[str, Path | None] = {"root": root}
    os.mkfifo(root / "fifo.png")
    f["device"] = _device(root / "device.png")
    (root / "folder.png").mkdir()
    (root / "folder.png" / "keep.txt").write_text("mine")
    bomb = _bomb(root / "bomb.pt")
    for name, content in (("bomb_run", bomb), ("fifo_run", None)):
        (root / name).mkdir()
        if content is None:
            os.mkfifo(root / name / "last.pt")
        else:
            shutil.copy(content, root / name / "last.pt")
    for name in ("bomb_search", "fifo_search", "plain_search"):
        (root / name).mkdir()
    shutil.copy(bomb, root / "bomb_search" / "search.pt")
    os.mkfifo(root / "fifo_search" / "search.pt")
    torch.save({"weight": torch.zeros(3)}, root / "plain_search" / "search.pt")  # a plain state dict
    torch.save({"model": {"w": torch.zeros(1)}, "config": {"model": "x"}, "epoch": 1}, root / "training.pt")
    # training checkpoints tampered with: a changed shape, no model, a model that is text, foreign model_kwargs
    import mobilezoo

    tiny = os.path.join(REPO_ROOT, "configs", "models", "fbnet_tiny_example.yaml")
    weights = mobilezoo.create_model(tiny, num_classes=10).state_dict()
    first = next(iter(weights))
    for name, state in (
        ("shape", {"model": {**weights, first: torch.zeros(3, 3)}, "config": {"model": tiny}}),
        ("no_model", {"config": {"model": tiny}}),
        ("text_model", {"model": "weights", "config": {"model": tiny}}),
        ("kwargs", {"model": weights, "config": {"model": tiny, "model_kwargs": {"nonsense": 5}}}),
        ("list_kwargs", {"model": weights, "config": {"model": tiny, "model_kwargs": [1, 2]}}),
    ):
        torch.save({**state, "epoch": 1}, root / f"tampered_{name}.pt")
    os.mkfifo(root / "fifo.json")
    # latency tables: wrong top level, non-finite, negative and absurd entries, too large
    (root / "list.json").write_text("[1, 2]")
    (root / "string.json").write_text('"table"')
    first_key = next(iter(json.loads(Path(SHIPPED_LUT).read_text())["entries"]))
    entries = json.loads(Path(SHIPPED_LUT).read_text())["entries"]
    for name, value in (("nan", "NaN"), ("infinity", "Infinity"), ("negative", "-160.0"), ("huge", "1e308")):
        text = json.dumps({**json.loads(Path(SHIPPED_LUT).read_text()), "entries": {**entries, first_key: 12345.678}})
        assert text.count('": 12345.678') == 1
        (root / f"{name}.json").write_text(text.replace('": 12345.678', f'": {value}'))
    _table(root / "threads.json", threads="one")
    _table(root / "scale.json", calibration={"scale": -1.0})
    with open(root / "big.json", "wb") as handle:  # 65 MB, sparse: refused by its size before any read
        handle.truncate(65 * 2**20)
    # a latency table that covers the tiny space's blocks (values invented, every one valid), for --supernet cases
    from mobilezoo.nas.lut_tables import space_blocks
    from mobilezoo.nas.space import SearchSpace

    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY_SPACE))
    keys = [block.key for block in space_blocks(SearchSpace.from_file(root / "tiny.yaml"))]
    _table(root / "tiny_lut.json", entries={key: 0.01 for key in keys}, calibration=None)
    yield f
    shutil.rmtree(root, ignore_errors=True)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(mode, size) of every path below ``root``, links and special files included, without following them."""
    found = {}
    for folder, subfolders, names in os.walk(root):
        for name in subfolders + names:
            path = Path(folder, name)
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_mode, info.st_size if stat.S_ISREG(info.st_mode) else 0)
    return found


def _cases(f: dict) -> list[tuple[str, list[str], str]]:
    """(case, argv, a word the one-line message must contain)."""
    root = f["root"]
    graph = ["graph", "randwire_ws_small"]
    dmasking = ["search", "dmasking", "--config", SPACE, "--target-mflops", "1", "--epochs", "1"]
    space = ["search", "lanas", "--space", str(root / "tiny.yaml"), "--lut", str(root / "tiny_lut.json"),
             "--budget-ms", "1000", "--evaluations", "2", "--eval-images", "16", "--out", str(root / "lanas_out")]

    def evaluate(name: str) -> list[str]:
        return ["evaluate", str(root / f"tampered_{name}.pt"), "--protocol", "knn", "--limit-train", "64",
                "--limit-eval", "32"]

    cases = [
        ("--png onto a FIFO", graph + ["--png", str(root / "fifo.png")], "not a regular file"),
        ("--png onto a folder", graph + ["--png", str(root / "folder.png")], "is a folder"),
        ("--lut onto a FIFO", ["latency", "fbnetv2_f1", "--lut", str(root / "fifo.json")], "not a regular file"),
        ("--lut /dev/zero", ["latency", "fbnetv2_f1", "--lut", "/dev/zero"], "not a regular file"),
        ("--lut a JSON list", ["latency", "fbnetv2_f1", "--lut", str(root / "list.json")], "top level"),
        ("--lut a JSON string", ["latency", "fbnetv2_f1", "--lut", str(root / "string.json")], "top level"),
        ("--lut with NaN", ["latency", "fbnetv2_f1", "--lut", str(root / "nan.json")], "NaN"),
        ("--lut with Infinity", ["latency", "fbnetv2_f1", "--lut", str(root / "infinity.json")], "Infinity"),
        ("--lut with a negative entry", ["latency", "fbnetv2_f1", "--lut", str(root / "negative.json")], "entries."),
        ("--lut with 1e308", ["latency", "fbnetv2_f1", "--lut", str(root / "huge.json")], "entries."),
        ("--lut threads as text", ["latency", "fbnetv2_f1", "--lut", str(root / "threads.json")], "threads"),
        ("--lut negative scale", ["latency", "fbnetv2_f1", "--lut", str(root / "scale.json")], "calibration.scale"),
        ("--lut of 65 MB", ["latency", "fbnetv2_f1", "--lut", str(root / "big.json")], "bytes"),
        ("--supernet a zip bomb", space + ["--supernet", str(root / "bomb_search" / "search.pt")], "compressed"),
        ("--supernet a FIFO", space + ["--supernet", str(root / "fifo_search" / "search.pt")], "not a regular file"),
        ("--supernet a plain state dict", space + ["--supernet", str(root / "plain_search" / "search.pt")], "search.pt"),
        ("--supernet a training checkpoint", space + ["--supernet", str(root / "training.pt")], "search.pt"),
        ("evaluate a changed shape", evaluate("shape"), "size mismatch"),
        ("evaluate without a model", evaluate("no_model"), "not a mobilezoo training checkpoint"),
        ("evaluate a model that is text", evaluate("text_model"), "not a state dict of tensors"),
        ("evaluate foreign model_kwargs", evaluate("kwargs"), "does not take"),
        ("evaluate model_kwargs as a list", evaluate("list_kwargs"), "model_kwargs are not a mapping"),
        ("evaluate --epochs 0", ["evaluate", "fbnetv2_f1", "--epochs", "0"], "--epochs"),
        ("evaluate --epochs -5", ["evaluate", "fbnetv2_f1", "--epochs", "-5"], "--epochs"),
        ("dmasking --arch-lr nan", dmasking + ["--arch-lr", "nan", "--out", str(root / "o")], "--arch-lr"),
        ("lanas --cp nan", ["search", "lanas", "--space", "nasbench201", "--cp", "nan"], "--cp"),
        ("lanas --eval-images 0", space + ["--eval-images", "0"], "--eval-images"),
        ("lanas --height 100", ["search", "lanas", "--space", "nasbench201", "--height", "100"], "--height"),
        ("bench --iters abc", ["bench", "fbnetv2_f1", "--iters", "abc"], "--iters"),
    ]
    if f["device"] is not None:
        cases.append(("--png onto a device", graph + ["--png", str(f["device"])], "not a regular file"))
    return cases


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MOBILEZOO_OFFLINE": "1"}
    return subprocess.run(COMMAND + argv, capture_output=True, text=True, timeout=180, env=env)


def _main(argv: list[str], capsys) -> tuple[int, str]:
    """The command's own entry point, in this process (a subprocess per case would cost a torch import each);
    a parse error's SystemExit is its exit code, as the console script turns it into one."""
    from mobilezoo.cli.main import main

    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err


def test_hostile_files_and_values_are_one_line_exit_2_and_nothing_changes(files, capsys, monkeypatch):
    monkeypatch.setenv("MOBILEZOO_OFFLINE", "1")
    before = _snapshot(files["root"])
    failures = []
    for name, argv, word in _cases(files):
        code, err = _main(argv, capsys)
        lines = [line for line in err.splitlines() if line.strip()]
        if not (code == 2 and len(lines) == 1 and "Traceback" not in err and word in lines[0]):
            failures.append(f"{name}: exit {code}, stderr {err[-400:]!r}")
    assert not failures, "\n".join(failures)
    after = _snapshot(files["root"])
    assert after == before  # no FIFO, device or folder replaced; nothing written beside them; no output folder made


@needs_fmnist
@pytest.mark.parametrize("run", ["bomb_run", "fifo_run"])
def test_train_resume_refuses_a_zip_bomb_or_a_fifo_as_last_pt(files, run, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"model: {os.path.join(REPO_ROOT, 'configs', 'models', 'fbnet_tiny_example.yaml')}\n"
                      f"input_size: 32\nepochs: 1\nbatch_size: 32\nlimit_train: 64\nlimit_eval: 32\n"
                      f"out_dir: {files['root'] / run}\nthreads: 1\n")
    result = _run(["train", "--config", str(recipe), "--resume"])  # a FIFO used to hang here; a bomb to expand
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-800:]
    assert "cannot resume" in result.stderr
    assert ("compressed" if run == "bomb_run" else "not a regular file") in result.stderr


@needs_fmnist
@pytest.mark.parametrize("folder,word", [("bomb_search", "compressed"), ("fifo_search", "not a regular file"),
                                         ("plain_search", "not the search.pt")])
def test_search_resume_refuses_a_zip_bomb_a_fifo_or_a_foreign_search_pt(files, folder, word):
    result = _run(["search", "dmasking", "--config", SPACE, "--target-mflops", "1", "--epochs", "1",
                   "--warmup-epochs", "0", "--limit-train", "256", "--batch-size", "32", "--out", str(files["root"] / folder), "--resume"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-800:]
    assert word in result.stderr


def test_every_numeric_option_is_range_checked_when_parsed():
    import argparse

    from mobilezoo.cli.main import build_parser, iter_verbs
    from mobilezoo.cli.numbers import Count, Real

    unchecked = [f"{' '.join(path)} {action.option_strings}" for path, parser in iter_verbs(build_parser())
                 for action in parser._actions if action.type in (int, float)]
    assert not unchecked, unchecked
    assert Count(1, 5)("5") == 5 and Real(0, 1, open_low=True)("1") == 1.0
    for bad, check in (("0", Count(1, 5)), ("6", Count(1, 5)), ("2.5", Count(1, 5)), ("nan", Real(0, 1)),
                       ("inf", Real(0, 1e9)), ("0", Real(0, 1, open_low=True)), ("-1e-9", Real(0, 1))):
        with pytest.raises(argparse.ArgumentTypeError):
            check(bad)


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MB tmpfs, nearly filled (needs root to mount; skipped elsewhere)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        (mount / "filler").write_bytes(b"\0" * (1900 * 1024))
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


@needs_fmnist
def test_a_full_disk_is_one_line_and_the_earlier_files_stay_whole(full_disk):
    run = full_disk / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"an earlier checkpoint")
    tiny = os.path.join(REPO_ROOT, "configs", "models", "fbnet_tiny_example.yaml")
    train = _run(["train", "--config", os.path.join(REPO_ROOT, "configs", "train", "fbnetv2_f1_fmnist.yaml"),
                  f"model={tiny}", "epochs=1", "batch_size=32", "limit_train=64", "limit_eval=32", "warmup_epochs=0",
                  f"out_dir={run}", "threads=1"])
    assert train.returncode == 2 and train.stderr.count("\n") == 1, train.stderr[-1000:]
    assert train.stderr.startswith("mobilezoo: error: no space left on device writing") and "last.pt" in train.stderr
    assert (run / "last.pt").read_bytes() == b"an earlier checkpoint"
    export = _run(["export", "fbnetv2_f1", "--format", "onnx", "--input-size", "32", "--out", str(full_disk / "ex")])
    assert export.returncode == 2 and export.stderr.count("\n") == 1, export.stderr[-1000:]
    assert "no space left on device" in export.stderr
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "run"]  # no scratch, no half-made folder
    assert sorted(p.name for p in run.iterdir() if not p.name.endswith(".json")) == ["last.pt"]


SWEEP_BASE = ("name: hostile\nrecipe: {epochs: 1, batch_size: 32, input_size: 16, limit_train: 64, limit_eval: 32, "
              "warmup_epochs: 0}\n")


@pytest.mark.parametrize("body,word", [
    ("spaces: 5\nsamples: 2\n", "spaces must be"),
    ("spaces: [resnet]\nsamples: 2\ncomplexity: [{metric: params, low: 0}]\n", "needs a high"),
    ("spaces: [resnet]\nsamples: 2\ncomplexity: [{metric: params, high: abc}]\n", "high must be a finite number"),
    ("trials: [{id: a, model: anynet_cifar, recipe: [1, 2]}]\n", "recipe must be a mapping"),
    ("trials: [{id: a, model: anynet_cifar, model_kwargs: [1]}]\n", "model_kwargs must be a mapping"),
    ("spaces: [resnet]\nsamples: 1000000\n", "samples must be"),
    ("spaces: [resnet]\nsamples: 2\nthreads_per_trial: 5000\n", "threads_per_trial must be"),
    ("spaces: [resnet]\nsamples: 2\nthreads_per_trial: " + str((os.cpu_count() or 1) + 1) + "\n", "CPUs"),
    ("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n",
     "alias *a is not allowed"),
    ("spaces: &s [resnet, *s]\nsamples: 2\n", "alias *s is not allowed"),  # refers to itself
])
def test_bad_sweep_files_are_one_line_before_anything_runs(tmp_path, body, word):
    pytest.importorskip("ray")
    (tmp_path / "sweep.yaml").write_text(SWEEP_BASE + body)
    result = _run(["sweep", "run", "--config", str(tmp_path / "sweep.yaml"), "--out", str(tmp_path / "out")])
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-800:]
    assert word in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@needs_fmnist
def test_a_sweep_whose_every_trial_failed_exits_non_zero(tmp_path):
    pytest.importorskip("ray")
    (tmp_path / "sweep.yaml").write_text(SWEEP_BASE + "trials: [{id: too-big, model: anynet_cifar, "
                                         "recipe: {batch_size: 512}}]\n")
    result = _run(["sweep", "run", "--config", str(tmp_path / "sweep.yaml"), "--out", str(tmp_path / "out")])
    assert result.returncode == 1, result.stderr[-800:]
    assert "all 1 trial(s) of this run failed" in result.stderr
    record = json.loads((tmp_path / "out" / "results.jsonl").read_text())
    assert record["status"] == "failed" and "batch_size 512" in record["failure"]


# --- NAS-Bench-201 tables tampered with ------------------------------------------------------------


class _Architecture:
    """Stands for analog-nasbench's record class (renamed to it in the stream; the reader maps it to inert data)."""

    def __init__(self, accuracy):
        self.baseline_accuracy = accuracy


def _nasbench_table(path: Path, accuracy=None, *, top=None, key=None) -> Path:
    """A table of analog-nasbench's form: one cell, or ``top`` as the whole pickle (a tampered layout)."""
    import pickle

    data = top if top is not None else {key or (0,) * 6: _Architecture(accuracy)}
    raw = pickle.dumps(data, protocol=2)  # protocol 2 names classes as text lines, so the name can be swapped
    here = f"c{__name__}\n_Architecture\n".encode()
    path.write_bytes(raw.replace(here, b"canalognasbench.data\nArchitecture\n"))
    return path


def test_a_tampered_nasbench_table_is_one_line_naming_the_file_and_the_field(tmp_path, capsys, monkeypatch):
    from mobilezoo.nas import tabular

    forged_length = tmp_path / "forged.anb"  # BINBYTES8 claiming 4 GiB in a 12-byte file
    forged_length.write_bytes(b"\x80\x04\x8e" + (2**32).to_bytes(8, "little") + b"x")
    over_1e308 = _nasbench_table(tmp_path / "e400.anb", 1.5)
    over_1e308.write_bytes(over_1e308.read_bytes().replace(  # a pickled 1e400: +inf after parsing, as JSON's would be
        __import__("struct").pack(">d", 1.5), __import__("struct").pack(">d", float("1e400"))))
    big = tmp_path / "big.anb"
    with open(big, "wb") as handle:
        handle.truncate(65 * 2**20)
    cases = [
        (_nasbench_table(tmp_path / "nan.anb", float("nan")), "baseline_accuracy nan"),
        (_nasbench_table(tmp_path / "inf.anb", float("inf")), "baseline_accuracy inf"),
        (over_1e308, "baseline_accuracy inf"),
        (_nasbench_table(tmp_path / "negative.anb", -3.0), "baseline_accuracy -3.0"),
        (_nasbench_table(tmp_path / "above.anb", 140.0), "not a percentage"),
        (_nasbench_table(tmp_path / "text.anb", "95.1"), "no numeric baseline_accuracy"),
        (_nasbench_table(tmp_path / "key.anb", 90.0, key=(0, 0, 0, 0, 0, 9)), "is not a cell"),
        (_nasbench_table(tmp_path / "list.anb", top=[1, 2]), "top level is a list"),
        (forged_length, "truncated"),
        (big, "bytes, more than"),
    ]
    os.mkfifo(tmp_path / "fifo.anb")
    cases.append((tmp_path / "fifo.anb", "not a regular file"))
    failures = []
    for path, word in cases:
        monkeypatch.setattr(tabular, "_analog_nasbench_file", lambda path=path: str(path))
        code, err = _main(["search", "lanas", "--space", "nasbench201", "--evaluations", "2"], capsys)
        lines = [line for line in err.splitlines() if line.strip()]
        if not (code == 2 and len(lines) == 1 and word in lines[0] and str(path) in lines[0]):
            failures.append(f"{path.name}: exit {code}, stderr {err[-300:]!r}")
    assert not failures, "\n".join(failures)


def test_a_sweep_folder_with_a_fifo_or_a_foreign_record_is_one_line(tmp_path, capsys):
    (tmp_path / "sweep.yaml").write_text(SWEEP_BASE + "spaces: [resnet]\nsamples: 2\n")
    fifo_results, bad_meta = tmp_path / "fifo_results", tmp_path / "bad_meta"
    from mobilezoo.sweep import SweepConfig, make_trials
    from mobilezoo.sweep.store import ResultStore

    config = SweepConfig.from_file(tmp_path / "sweep.yaml")
    ResultStore(fifo_results).claim(config, [t.id for t in make_trials(config)])  # this sweep's folder, but
    bad_meta.mkdir()
    os.mkfifo(fifo_results / "results.jsonl")  # a reader that opened it would wait forever for a writer
    (bad_meta / "sweep.json").write_text("[1, 2]")
    for folder, word in ((fifo_results, "not a regular file"), (bad_meta, "is not a sweep's record")):
        for argv in (["sweep", "status", str(folder)],
                     ["sweep", "run", "--config", str(tmp_path / "sweep.yaml"), "--out", str(folder)]):
            code, err = _main(argv, capsys)
            assert code == 2 and err.count("\n") == 1 and word in err, (argv, err)
    assert stat.S_ISFIFO((fifo_results / "results.jsonl").lstat().st_mode)
    assert (bad_meta / "sweep.json").read_text() == "[1, 2]"

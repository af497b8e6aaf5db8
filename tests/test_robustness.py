"""Bad input, kills at the worst moment, and two processes at once: one-line errors, whole files, no lost entries."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

import mobilezoo
from mobilezoo import fileio
from mobilezoo.errors import CheckpointError
from mobilezoo.export.manifest import read_manifest

from .conftest import REPO_ROOT
from .test_train import TINY, needs_fmnist, tiny_config

MOBILEZOO = shutil.which("mobilezoo")
COMMAND = [MOBILEZOO] if MOBILEZOO else [sys.executable, "-m", "mobilezoo"]


def _dead_pid() -> int:
    """The pid of a process that has exited (scratch it left behind is stale)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --- the CLI: every bad input is one line on stderr and exit code 2 ------------------------------------


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """Files the bad-input table refers to, made once."""
    root = tmp_path_factory.mktemp("bad")
    files = {"root": root}
    recipe = root / "recipe.yaml"
    recipe.write_text(f"model: {TINY}\ninput_size: 32\nepochs: 1\nbatch_size: 32\nlimit_train: 64\nlimit_eval: 32\n"
                      f"out_dir: {root / 'run'}\nthreads: 1\n")
    files["recipe"] = recipe
    (root / "broken.yaml").write_text("model: [unclosed\n  epochs: 1\n")
    (root / "list.yaml").write_text("- model\n- epochs\n")
    for what, row in (("channels", "[ir_k3, 1000000000, 1, 1]"), ("repeats", "[ir_k3, 16, 1, 1000000000]"),
                      ("expansion", "[ir_k3, 16, 1, 1, {e: 100000}]"), ("params", "[ir_k3, 16384, 1, 64, {e: 64}]")):
        (root / f"huge_{what}.yaml").write_text(f"input_size: 32\nstages:\n  - [[conv_k3, 8, 2, 1]]\n  - [{row}]\n")
    fifo = root / "fifo.pt"
    os.mkfifo(fifo)
    files["fifo"] = fifo
    # a 'checkpoint' whose record is deflate-compressed: 20 MB of zeros in a few kB (torch.save never writes this)
    plain = root / "plain.pt"
    torch.save({"w": torch.zeros(5_000_000)}, plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(root / "bomb.pt", "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            bomb.writestr(info.filename, source.read(info.filename))
    # a finished run, to resume with changed options
    resumable = root / "resumable"
    subprocess.run(COMMAND + ["train", "--config", str(recipe), f"out_dir={resumable}"], check=True,
                   capture_output=True, timeout=300)
    files["resumable"] = resumable
    empty = root / "empty_run"
    empty.mkdir()
    (empty / "last.pt").write_bytes(b"")
    files["empty_run"] = empty
    yield files
    shutil.rmtree(root, ignore_errors=True)  # pytest keeps shared folders otherwise


def _bad_inputs(f: dict) -> list[tuple[str, list[str], dict, str]]:
    """(case, argv, extra environment, a word the message must contain)."""
    root, recipe, run = f["root"], str(f["recipe"]), str(f["resumable"])
    train = ["train", "--config", recipe]
    return [
        ("epochs not a number", train + ["epochs=abc"], {}, "epochs"),
        ("negative lr", train + ["lr=-1"], {}, "lr"),
        ("fractional batch", train + ["batch_size=2.5"], {}, "batch_size"),
        ("fractional epochs", train + ["epochs=2.5"], {}, "whole number"),
        ("negative limit", train + ["limit_train=-5"], {}, "limit_train"),
        ("unknown device", train + ["device=tpu"], {}, "device"),
        ("unwritable out_dir", train + ["out_dir=/proc/x"], {}, "out_dir"),
        ("misspelt key", train + ["epoch=3"], {}, "epochs"),
        ("not key=value", train + ["epochs"], {}, "key=value"),
        ("bool for a number", train + ["lr=true"], {}, "lr"),
        ("momentum of 1", train + ["momentum=1"], {}, "momentum"),
        ("broken YAML", ["train", "--config", str(root / "broken.yaml")], {}, "YAML"),
        ("YAML list", ["train", "--config", str(root / "list.yaml")], {}, "mapping"),
        ("config is a folder", ["train", "--config", str(root)], {}, "folder"),
        ("missing config", ["train", "--config", str(root / "nope.yaml")], {}, "does not exist"),
        ("no --config", ["train", "epochs=1"], {}, "--config"),
        ("resume from empty last.pt", train + [f"out_dir={f['empty_run']}", "--resume"], {}, "resume"),
        ("resume with other num_classes", train + [f"out_dir={run}", "num_classes=7", "--resume"], {}, "num_classes"),
        ("resume with other optimizer", train + [f"out_dir={run}", "optimizer=adamw", "--resume"], {}, "optimizer"),
        ("10^9 channels", ["profile", str(root / "huge_channels.yaml")], {}, "out_channels"),
        ("10^9 repeats", ["profile", str(root / "huge_repeats.yaml")], {}, "repeat"),
        ("huge expansion", ["profile", str(root / "huge_expansion.yaml")], {}, "expansion"),
        ("billions of weights", ["profile", str(root / "huge_params.yaml")], {}, "limit"),
        ("input size 100000", ["profile", "fbnetv2_f1", "--input-size", "100000"], {}, "limit"),
        ("video frames 100000", ["profile", "s3d", "--input-size", "3,100000,32,32"], {}, "frames"),
        ("profile depth -1", ["profile", "fbnetv2_f1", "--depth", "-1"], {}, "--depth"),
        ("bench batch 100000", ["bench", "fbnetv2_f1", "--batch", "100000"], {}, "--batch"),
        ("bench threads 100000", ["bench", "fbnetv2_f1", "--threads", "100000"], {}, "--threads"),
        ("bench iters 0", ["bench", "fbnetv2_f1", "--iters", "0"], {}, "--iters"),
        ("bench unknown runtime", ["bench", "fbnetv2_f1", "--runtime", "tpu"], {}, "runtime"),
        ("export threads 0", ["export", "fbnetv2_f1", "--format", "onnx", "--threads", "0", "--out", str(root / "x")], {}, "threads"),
        ("export batch 100000", ["export", "fbnetv2_f1", "--format", "torchscript", "--batch", "100000", "--out", str(root / "x")], {}, "batch"),
        ("export unknown format", ["export", "fbnetv2_f1", "--format", "tensorrt"], {}, "format"),
        ("latency threads 0", ["latency", "fbnetv2_f1", "--lut", str(root / "lut.json"), "--threads", "0"], {}, "--threads"),
        ("graph seed -1", ["graph", "randwire_ws_small", "--seed", "-1"], {}, "--seed"),
        ("import missing file", ["weights", "import", "/nonexistent.pt", "--model", "fbnetv2_f1.mv_in1k"], {}, "does not exist"),
        ("import a FIFO", ["weights", "import", str(f["fifo"]), "--model", "fbnetv2_f1.mv_in1k"], {}, "regular file"),
        ("import /dev/zero", ["weights", "import", "/dev/zero", "--model", "fbnetv2_f1.mv_in1k"], {}, "regular file"),
        ("import a folder", ["weights", "import", str(root), "--model", "fbnetv2_f1.mv_in1k"], {}, "folder"),
        ("import a deflate bomb", ["weights", "import", str(root / "bomb.pt"), "--model", "fbnetv2_f1.mv_in1k"], {}, "compressed"),
        ("offline=on means offline", ["export", "fbnetv2_f1.mv_in1k", "--pretrained", "--format", "onnx", "--out", str(root / "y")],
         {"MOBILEZOO_OFFLINE": "on"}, "MOBILEZOO_OFFLINE"),
        ("offline=maybe", ["export", "fbnetv2_f1.mv_in1k", "--pretrained", "--format", "onnx", "--out", str(root / "y")],
         {"MOBILEZOO_OFFLINE": "maybe"}, "MOBILEZOO_OFFLINE"),
        ("demo with 3 samples", ["demo", "--samples", "3", "--out", str(root / "demo")], {}, "--samples"),
        ("unknown model", ["info", "fbnetv9_f1"], {}, "unknown model"),
    ]


def _run(argv: list[str], env: dict, home: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "MOBILEZOO_HOME": str(home), "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(COMMAND + argv, capture_output=True, text=True, timeout=120, env=environment)


#: cases run as a user runs them, in a fresh process (nothing an import prints may reach stderr); the rest run
#: in this process through the same ``main``, ~50x faster than 46 interpreter starts
IN_A_FRESH_PROCESS = ("broken YAML", "resume with other optimizer", "billions of weights", "bench unknown runtime",
                      "import a deflate bomb", "offline=on means offline", "unknown model")


def _run_here(argv: list[str], env: dict, home: Path, monkeypatch, capsys) -> subprocess.CompletedProcess:
    from mobilezoo.cli.main import main

    capsys.readouterr()
    with monkeypatch.context() as patch:
        for key, value in {"MOBILEZOO_HOME": str(home), **env}.items():
            patch.setenv(key, value)
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's errors
            code = exit_.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, captured.out, captured.err)


@pytest.mark.slow  # end-to-end, ~30-80 s: in CI (tests/run.sh), not in a plain pytest
def test_every_bad_input_is_one_line_and_exit_2(bad_files, tmp_path, monkeypatch, capsys):
    cases = _bad_inputs(bad_files)
    fresh = [case for case in cases if case[0] in IN_A_FRESH_PROCESS]
    assert len(fresh) == len(IN_A_FRESH_PROCESS)
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip((c[0] for c in fresh), pool.map(lambda case: _run(case[1], case[2], tmp_path / "home"), fresh)))
    for name, argv, env, _ in cases:
        if name not in results:
            results[name] = _run_here(argv, env, tmp_path / "home", monkeypatch, capsys)
    failures = []
    for name, argv, _, word in cases:
        result = results[name]
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        ok = (result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr
              and word.lower() in lines[0].lower())
        if not ok:
            failures.append(f"{name}: exit {result.returncode}, stderr {result.stderr[-400:]!r}")
    assert not failures, "\n".join(failures)
    # nothing of an absurd size was allocated and no run was started in an unwritable place
    assert not (bad_files["root"] / "x").exists() and not (bad_files["root"] / "demo").exists()


# --- weights: one cache file per URL, hashes checked on every load ----------------------------------


@pytest.fixture
def served(tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("MOBILEZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("MOBILEZOO_OFFLINE", raising=False)
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _serve_weights(path: Path, classes: int, seed: int) -> None:
    torch.manual_seed(seed)
    model = mobilezoo.create_model(TINY, num_classes=classes)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model_ema": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)


@pytest.fixture
def tiny_entries():
    """Two registered tags on a tiny architecture, removed afterwards."""
    from mobilezoo.registry import ModelEntry, register_model, _ALIASES, _MODELS

    entry = register_model(ModelEntry(name="robust_tiny", builder=lambda num_classes=1000: mobilezoo.create_model(
        TINY, num_classes=num_classes), family="fbnet", cfg=mobilezoo.get_pretrained_cfg("fbnetv2_f1")))
    yield entry
    del _MODELS["robust_tiny"], _ALIASES["robust_tiny"]


def test_two_urls_with_one_basename_are_cached_apart(served, tiny_entries):
    from mobilezoo.registry import WeightEntry

    root, base = served
    _serve_weights(root / "a" / "model.pth", 10, seed=1)
    _serve_weights(root / "b" / "model.pth", 10, seed=2)
    tiny_entries.weights["a"] = WeightEntry(tag="a", url=f"{base}/a/model.pth", num_classes=10)
    tiny_entries.weights["b"] = WeightEntry(tag="b", url=f"{base}/b/model.pth", num_classes=10)
    first = mobilezoo.create_model("robust_tiny.a", pretrained=True)
    second = mobilezoo.create_model("robust_tiny.b", pretrained=True)
    assert not torch.equal(first.head.conv.weight, second.head.conv.weight)  # B's weights, not A's again
    expected = torch.load(root / "b" / "model.pth", weights_only=True)["model_ema"]["module.head.conv.weight"]
    assert torch.equal(second.head.conv.weight, expected)
    cached = sorted(p.name for p in (served[0].parent / "home" / "checkpoints").glob("*model.pth"))
    assert len(cached) == 2 and cached[0] != cached[1]


def test_first_use_hash_tampered_file_is_deleted_and_downloaded_again(served, tiny_entries):
    from mobilezoo.registry import WeightEntry
    from mobilezoo.weights import hub, importing

    root, base = served
    _serve_weights(root / "model.pth", 10, seed=3)
    weight = WeightEntry(tag="t", url=f"{base}/model.pth", num_classes=10)
    tiny_entries.weights["t"] = weight
    assert hub.hash_policy(weight) == "first-use"
    mobilezoo.create_model("robust_tiny.t", pretrained=True)
    cached = hub.cached_path(weight)
    assert Path(str(cached) + ".sha256").read_text().strip() == fileio.sha256_of(cached)
    data = bytearray(cached.read_bytes())
    data[-100] ^= 0xFF  # one flipped byte
    cached.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="deleted"):
        mobilezoo.create_model("robust_tiny.t", pretrained=True)
    assert not cached.exists()
    model = mobilezoo.create_model("robust_tiny.t", pretrained=True)  # downloads again, whole
    assert fileio.sha256_of(cached) == fileio.sha256_of(root / "model.pth") and model.num_classes == 10
    cached.write_bytes(cached.read_bytes()[:1000])  # truncated and its record lost: never trusted
    Path(str(cached) + ".sha256").unlink()
    with pytest.raises(CheckpointError, match="no hash was recorded"):
        mobilezoo.create_model("robust_tiny.t", pretrained=True)
    assert not cached.exists()


def test_unreadable_cached_file_is_deleted(served, tiny_entries):
    from mobilezoo.registry import WeightEntry
    from mobilezoo.weights import hub

    root, base = served
    (root / "junk.pth").write_bytes(b"not a checkpoint at all")  # the server hands out garbage
    tiny_entries.weights["j"] = WeightEntry(tag="j", url=f"{base}/junk.pth", num_classes=10)
    with pytest.raises(CheckpointError, match="cached file was deleted"):
        mobilezoo.create_model("robust_tiny.j", pretrained=True)
    assert not hub.cached_path(tiny_entries.weights["j"]).exists()


def test_torchvision_style_hash_prefix_is_checked(served, tiny_entries):
    from mobilezoo.registry import WeightEntry
    from mobilezoo.weights import hub

    root, base = served
    _serve_weights(root / "w.pth", 10, seed=4)
    good = fileio.sha256_of(root / "w.pth")[:8]
    shutil.copy(root / "w.pth", root / f"tiny-{good}.pth")
    shutil.copy(root / "w.pth", root / "tiny-deadbeef.pth")
    tiny_entries.weights["good"] = WeightEntry(tag="good", url=f"{base}/tiny-{good}.pth", num_classes=10)
    tiny_entries.weights["bad"] = WeightEntry(tag="bad", url=f"{base}/tiny-deadbeef.pth", num_classes=10)
    assert hub.hash_policy(tiny_entries.weights["good"]) == "prefix"
    mobilezoo.create_model("robust_tiny.good", pretrained=True)
    with pytest.raises(CheckpointError, match="hash prefix 'deadbeef'"):
        mobilezoo.create_model("robust_tiny.bad", pretrained=True)
    assert not hub.cached_path(tiny_entries.weights["bad"]).exists()


def test_imported_file_wins_over_a_stale_download_and_only_for_its_own_tag(served, tiny_entries, tmp_path):
    from mobilezoo.registry import WeightEntry
    from mobilezoo.weights import importing

    root, base = served
    _serve_weights(root / "model.pth", 10, seed=5)
    tiny_entries.weights["s"] = WeightEntry(tag="s", url=f"{base}/model.pth", num_classes=10)
    tiny_entries.weights["o"] = WeightEntry(tag="o", url=f"{base}/model.pth", num_classes=10)
    mobilezoo.create_model("robust_tiny.s", pretrained=True)  # the stale download is cached
    _serve_weights(tmp_path / "mine.pth", 10, seed=6)
    importing.import_weights(tmp_path / "mine.pth", "robust_tiny.s")
    mine = torch.load(tmp_path / "mine.pth", weights_only=True)["model_ema"]["module.head.conv.weight"]
    assert torch.equal(mobilezoo.create_model("robust_tiny.s", pretrained=True).head.conv.weight, mine)
    assert not torch.equal(mobilezoo.create_model("robust_tiny.o", pretrained=True).head.conv.weight, mine)


@pytest.mark.parametrize("kill_at", ["rename", "final record"])
def test_a_kill_while_reimporting_leaves_the_old_or_the_new_weights_trusted(tiny_entries, tmp_path, monkeypatch, kill_at):
    """Issue 28: the hash record was written before the rename, so a kill between them left the old file beside
    the new hash, and the next load deleted both. Both hashes are now trusted while the file is swapped."""
    from mobilezoo.registry import WeightEntry
    from mobilezoo.weights import hub, importing

    monkeypatch.setenv("MOBILEZOO_HOME", str(tmp_path / "home"))
    tiny_entries.weights["r"] = WeightEntry(tag="r", url="http://127.0.0.1:9/never.pth", num_classes=10)
    for name, seed in (("old", 7), ("new", 8)):
        _serve_weights(tmp_path / f"{name}.pth", 10, seed=seed)
    importing.import_weights(tmp_path / "old.pth", "robust_tiny.r")
    target = hub.imported_path(tiny_entries, "r")
    old = fileio.sha256_of(target)
    real_replace, real_record = fileio.replace_path, hub.record_hash

    def replace(source, destination):
        if kill_at == "rename" and Path(destination) == target:
            raise SimulatedKill()
        return real_replace(source, destination)

    def record(path, digest, also=()):  # import_weights' own call: the one after the rename
        if kill_at == "final record":
            raise SimulatedKill()
        return real_record(path, digest, also)

    monkeypatch.setattr(fileio, "replace_path", replace)
    monkeypatch.setattr(importing, "record_hash", record)
    with pytest.raises(SimulatedKill):
        importing.import_weights(tmp_path / "new.pth", "robust_tiny.r")
    monkeypatch.undo()
    monkeypatch.setenv("MOBILEZOO_HOME", str(tmp_path / "home"))
    assert hub.locate(tiny_entries, "r", allow_download=False) == target  # trusted, not deleted
    assert (fileio.sha256_of(target) == old) == (kill_at == "rename")  # the old pair, or the new one
    mobilezoo.create_model("robust_tiny.r", pretrained=True)  # and it loads


# --- replacing files: a kill between two steps leaves the old or the new one, whole -------------------


class SimulatedKill(BaseException):
    """Stands for a SIGKILL at that instant (BaseException: no `except Exception` swallows it)."""


def test_failed_file_replace_keeps_the_old_artifact_and_its_manifest_entry(tmp_path, monkeypatch):
    model = mobilezoo.create_model(TINY, num_classes=10)
    first = mobilezoo.export(model, "torchscript", tmp_path, input_size=32, seed=0)
    before = read_manifest(tmp_path)["artifacts"]
    assert before[0]["sha256"] == fileio.sha256_of(first.path)
    torch.nn.init.normal_(model.head.conv.weight)  # the second export differs

    real_replace = os.replace

    def killed_at_the_artifact_swap(source, destination):
        if Path(destination) == first.path:
            raise SimulatedKill()
        return real_replace(source, destination)  # the manifest's own writes go through

    monkeypatch.setattr(fileio.os, "replace", killed_at_the_artifact_swap)
    with pytest.raises(SimulatedKill):
        mobilezoo.export(model, "torchscript", tmp_path, input_size=32, seed=0)
    monkeypatch.undo()
    after = read_manifest(tmp_path)["artifacts"]
    assert [a["sha256"] for a in after] == [fileio.sha256_of(first.path)] == [before[0]["sha256"]]
    assert torch.jit.load(str(first.path)) is not None  # whole and loadable
    second = mobilezoo.export(model, "torchscript", tmp_path, input_size=32, seed=0)
    assert read_manifest(tmp_path)["artifacts"][0]["sha256"] == fileio.sha256_of(second.path) != before[0]["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".manifest.json.lock", first.path.name, "manifest.json"]


def test_folder_replace_killed_midway_is_undone_now_or_on_the_next_run(tmp_path, monkeypatch):
    target = tmp_path / "model.mlpackage"
    target.mkdir()
    (target / "weights.bin").write_text("old")
    new = tmp_path / "new"
    new.mkdir()
    (new / "weights.bin").write_text("new")
    real_rename, calls = os.rename, []

    def second_rename_fails(source, destination):
        calls.append(source)
        if len(calls) == 2:
            raise SimulatedKill()
        return real_rename(source, destination)

    monkeypatch.setattr(fileio.os, "rename", second_rename_fails)
    with pytest.raises(SimulatedKill):
        fileio.replace_path(new, target)
    monkeypatch.undo()
    assert (target / "weights.bin").read_text() == "old"  # undone in-process
    # a real kill runs no handler: the old folder sits aside and the target is gone
    aside = tmp_path / f".model.mlpackage.{_dead_pid()}.0badc0de.old"
    os.rename(target, aside)
    stale = tmp_path / f".report.md.{_dead_pid()}.12345678.tmp"
    stale.mkdir()
    (stale / "artifact.md").write_text("half")
    mine = tmp_path / f".other.{os.getpid()}.abcdef01.tmp"  # a live writer's scratch is never touched
    mine.mkdir()
    fileio.clean_stale_scratch(tmp_path)
    assert (target / "weights.bin").read_text() == "old" and not aside.exists()
    assert not stale.exists() and mine.exists()
    fileio.replace_path(new, target)
    assert (target / "weights.bin").read_text() == "new"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".old")]


def test_two_processes_adding_fifty_manifest_entries_each_keep_all_hundred(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from mobilezoo.export.manifest import add_entry
        for i in range(50):
            add_entry(Path({str(tmp_path)!r}), {{"file": f"{{sys.argv[1]}}_{{i}}.onnx"}})
    """)
    writers = [subprocess.Popen([sys.executable, "-c", script, name], cwd=REPO_ROOT) for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    files = [a["file"] for a in read_manifest(tmp_path)["artifacts"]]
    assert len(files) == 100 and len(set(files)) == 100


# --- training: a crash in the checkpoint swap never loses finished epochs ------------------------------


@needs_fmnist
def test_resume_after_a_crash_in_the_checkpoint_swap(tmp_path, monkeypatch):
    from mobilezoo.train.engine import Trainer

    real_replace = os.replace

    def crash_on_second_checkpoint(source, destination):
        if Path(destination).name == "last.pt" and Path(destination).exists():
            raise SimulatedKill()
        return real_replace(source, destination)

    monkeypatch.setattr(fileio.os, "replace", crash_on_second_checkpoint)
    with pytest.raises(SimulatedKill):
        Trainer(tiny_config(tmp_path, epochs=3), show_progress=False).fit()
    monkeypatch.undo()
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 1  # epoch 1's checkpoint, whole
    resumed = Trainer(tiny_config(tmp_path, epochs=3), show_progress=False)
    resumed.load_checkpoint(tmp_path / "last.pt")
    assert resumed.epoch == 1
    resumed.fit(resume=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 3


@needs_fmnist
def test_resume_refuses_to_start_over_when_epochs_were_finished(tmp_path):
    from mobilezoo.train.engine import Trainer

    Trainer(tiny_config(tmp_path, epochs=1), show_progress=False).fit()
    scratch = tmp_path / f".last.pt.{_dead_pid()}.89abcdef.tmp"
    scratch.mkdir()
    os.rename(tmp_path / "last.pt", scratch / "artifact.pt")  # a kill left the only checkpoint in scratch
    with pytest.raises(CheckpointError, match=r"1 finished epoch\(s\).*artifact\.pt"):
        Trainer(tiny_config(tmp_path, epochs=2), show_progress=False).fit(resume=True)
    assert (scratch / "artifact.pt").exists()  # still there for the user to move back


def test_definition_caps_are_checked_before_allocating():
    from mobilezoo.errors import ArchDefError
    from mobilezoo.models.fbnet import build_fbnet

    arch = {"input_size": 32, "stages": [[["conv_k3", 8, 2, 1]], [["ir_k3", 16384, 1, 64, {"e": 64}]]]}
    with pytest.raises(ArchDefError, match="over the limit"):
        build_fbnet(arch)
    with pytest.raises(ArchDefError, match="out_channels must be a whole number in 1..16384"):
        build_fbnet({"input_size": 32, "stages": [[["conv_k3", 10**9, 2, 1]]]})


def test_offline_switch_understands_on_off_and_refuses_the_rest(monkeypatch):
    from mobilezoo.errors import InvalidInputError
    from mobilezoo.weights.hub import offline

    for value, expected in (("on", True), ("1", True), ("TRUE", True), ("off", False), ("0", False), ("", False)):
        monkeypatch.setenv("MOBILEZOO_OFFLINE", value)
        assert offline() is expected
    monkeypatch.setenv("MOBILEZOO_OFFLINE", "sometimes")
    with pytest.raises(InvalidInputError, match="MOBILEZOO_OFFLINE"):
        offline()


def test_train_config_names_the_closest_key_and_checks_types():
    from mobilezoo.errors import InvalidInputError
    from mobilezoo.train.config import TrainConfig

    with pytest.raises(InvalidInputError, match="did you mean 'batch_size'"):
        TrainConfig.from_dict({"batchsize": 3})
    with pytest.raises(InvalidInputError, match="epochs must be a whole number, got 2.5"):
        TrainConfig.from_dict({"epochs": 2.5})
    assert TrainConfig.from_dict({"lr": 1, "warmup_epochs": 0}).lr == 1  # an int is a fine float
    assert json.dumps(TrainConfig().to_dict())

"""A normal install (``pip install`` of the built wheel, no ``-e``) runs every verb from a folder outside the checkout.

The wheel is built from a copy of the checkout and installed into a fresh virtual environment. That environment
sees the already installed dependencies (torch alone is gigabytes) through a ``.pth`` file naming the running
interpreter's site-packages folders, which works whether the suite itself runs in a venv or not (a nested
``venv --system-site-packages`` would see the base interpreter's packages, not an outer venv's). ``.pth`` files
inside those folders are not processed, so the checkout's editable install stays invisible: ``mobilezoo`` can
only come from the wheel.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

HAVE_FMNIST = os.path.exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
pytestmark = pytest.mark.slow  # a wheel, a venv and every verb end to end: in CI (tests/run.sh), not a plain pytest
needs_fmnist = pytest.mark.skipif(not HAVE_FMNIST, reason="apt-get install dataset-fashion-mnist (tests/run.sh does)")


class Installed:
    """A venv holding the built wheel, and a work folder outside the checkout to run commands in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.wheel = self._build_wheel()
        self.venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True, timeout=120)
        self.python = str(self.venv / "bin" / "python")
        site = subprocess.run([self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        outer = [p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]
        Path(site, "outer_environment.pth").write_text("\n".join(outer) + "\n")
        # pip comes from the outer environment; it installs into this venv's prefix
        subprocess.run([self.python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(self.wheel)],
                       check=True, timeout=600, capture_output=True)
        self.work = root / "work"
        self.work.mkdir()
        self.env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
        self.env.update(MOBILEZOO_OFFLINE="1", OMP_NUM_THREADS="1", RAY_USAGE_STATS_ENABLED="0")

    def _build_wheel(self) -> Path:
        # from a copy, so nothing is written into the checkout
        source = self.root / "source"
        shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", "runs", "demo_out", "export_out", "bundles", "results"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(self.root / "wheels"), str(source)], check=True, timeout=600, capture_output=True)
        return next((self.root / "wheels").glob("mobilezoo-*.whl"))

    def run(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        """``mobilezoo ARGS`` through the console script the wheel installed, in the work folder."""
        return subprocess.run([str(self.venv / "bin" / "mobilezoo"), *args], cwd=self.work, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def python_code(self, code: str, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, "-c", code], cwd=self.work, env=self.env, capture_output=True, text=True,
                              timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    return Installed(tmp_path_factory.mktemp("install"))


def test_the_wheel_holds_every_module_config_and_packaged_weight(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    package = Path(REPO_ROOT, "mobilezoo")
    modules = {p.relative_to(REPO_ROOT).as_posix() for p in package.rglob("*.py")}
    assert modules and not modules - names, sorted(modules - names)[:5]  # e.g. mobilezoo/train/*.py once missing
    configs = {"mobilezoo/configs/" + p.relative_to(Path(REPO_ROOT, "configs")).as_posix()
               for p in Path(REPO_ROOT, "configs").rglob("*.yaml")}
    assert configs and not configs - names, sorted(configs - names)[:5]
    weights = {p.relative_to(REPO_ROOT).as_posix() for p in (package / "weights" / "files").iterdir()}
    assert weights and not weights - names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    lines = zipfile.ZipFile(installed.wheel).read(metadata).decode().splitlines()
    requires = [line for line in lines if line.startswith("Requires-Dist: torch")]
    # ranges, not pins: pip keeps a user's working torch
    assert requires and all("==" not in line and "<" in line for line in requires), requires
    # nothing but torch itself may bring CUDA: with the CPU index, no extra asks for it again
    assert not [line for line in lines if line.startswith("Requires-Dist:")
                and any(word in line.lower() for word in ("nvidia", "cuda", "triton"))]


def test_the_installed_copy_is_the_one_that_runs(installed):
    result = installed.python_code("import mobilezoo, mobilezoo.train.engine as e, mobilezoo.shipped_configs as c; "
                                   "print(mobilezoo.__file__); print(e.__file__); print(c.configs_root())")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.split()
    assert all(line.startswith(str(installed.venv)) for line in lines), lines
    assert (Path(lines[2]) / "train" / "fbnetv2_f1_fmnist.yaml").is_file()  # configs inside the package


@needs_fmnist
def test_installed_train_then_evaluate_from_outside_the_checkout(installed):
    # configs/train/... is not in the work folder: the copy shipped in the package is read
    train = installed.run("train", "--config", "configs/train/fbnetv2_f1_fmnist.yaml", "epochs=1", "limit_train=64",
                          "limit_eval=32", "batch_size=32", "warmup_epochs=0", "out_dir=run", "threads=1")
    assert train.returncode == 0, train.stderr[-2000:]
    assert "final eval top-1" in train.stdout and (installed.work / "run" / "last.pt").is_file()
    # a log gets plain progress lines, never tqdm's carriage-return frames
    assert "\r" not in train.stdout + train.stderr
    assert "epoch 1/1: started" in train.stdout and "epoch 1/1: done in" in train.stdout
    evaluate = installed.run("evaluate", "run/last.pt", "--protocol", "linear", "--epochs", "2", "--limit-train", "64",
                             "--limit-eval", "32", "--json")
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    record = json.loads(evaluate.stdout)
    assert 0 <= record["top1"] <= 100 and record["protocol"] == "linear"


@needs_fmnist
def test_installed_sweep_runs_a_trial_on_ray(installed):
    pytest.importorskip("ray")
    (installed.work / "one.yaml").write_text(
        "name: one_trial\nrecipe: {epochs: 1, batch_size: 32, input_size: 16, limit_train: 64, limit_eval: 32, "
        "warmup_epochs: 0}\ntrials:\n  - {id: r8, model: anynet_cifar, model_kwargs: {depths: [1, 1, 1], "
        "widths: [8, 8, 8]}}\n")
    sweep = installed.run("sweep", "run", "--config", "one.yaml", "--out", "sweep", "--workers", "1")
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    records = [json.loads(line) for line in (installed.work / "sweep" / "results.jsonl").read_text().splitlines()]
    # the Ray worker imported the installed mobilezoo.train: the trial trained, it did not fail on an import
    assert [(r["id"], r["status"]) for r in records] == [("r8", "ok")], records


def test_installed_export_and_search(installed):
    export = installed.run("export", "fbnetv2_f1", "--format", "onnx", "--input-size", "32", "--out", "exported")
    assert export.returncode == 0, export.stderr[-2000:]
    manifest = json.loads((installed.work / "exported" / "manifest.json").read_text())
    assert [a["status"] for a in manifest["artifacts"]] == ["verified"]
    if importlib.util.find_spec("analognasbench") is None:
        pytest.skip("pip install 'mobilezoo[nasbench]' for the NAS-Bench-201 table")
    search = installed.run("search", "lanas", "--space", "nasbench201", "--evaluations", "40", "--seed", "0")
    assert search.returncode == 0, search.stderr[-2000:]
    assert search.stdout.startswith("lanas on nasbench201: best") and "after 40 evaluations" in search.stdout


def test_installed_torch_hub_entry_points(installed):
    result = installed.python_code(
        "import torch, mobilezoo, mobilezoo.torchhub as hub\n"
        "model = torch.hub.load(hub.DIR, 'fbnetv2_f1', source='local', num_classes=7)\n"
        "trained = torch.hub.load(hub.DIR, 'fbnetv2_f1', source='local', weights='fmnist')\n"
        "print(type(model).__name__, model.num_classes, trained.pretrained_cfg.weights.split()[0])\n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["FBNetPooledHead", "7", "fbnetv2_f1.fmnist"]  # packaged weights by tag, offline


def test_non_editable_install_runs_an_export_profile_shipped_in_the_package(installed):
    tiny = os.path.join(REPO_ROOT, "configs", "models", "fbnet_tiny_example.yaml")
    bundle = installed.root / "bundle"
    # the server profile (ONNX fp32 + int8) keeps this quick; the android profile is exported in test_export
    result = subprocess.run([installed.python, os.path.join(REPO_ROOT, "export", "run.py"), "--profile", "server",
                             "--models", tiny, "--out", str(bundle)], cwd=installed.work, env=installed.env,
                            capture_output=True, text=True, timeout=900)
    if importlib.util.find_spec("onnxruntime"):
        assert result.returncode == 0, result.stderr[-2000:]
        formats = sorted(a["format"] + ("_int8" if a["precision"] == "int8" else "")
                         for a in json.loads((bundle / "manifest.json").read_text())["artifacts"])
        assert formats == ["onnx", "onnx_int8"]
    else:  # the profile was found inside the installed package; the missing runtime is named with its pip extra
        assert result.returncode == 2 and "pip install 'mobilezoo[onnx]'" in result.stderr, result.stderr[-2000:]

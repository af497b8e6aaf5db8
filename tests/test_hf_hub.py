"""The Hugging Face Hub (mobilezoo.hub): timm's folder layout, loading by ``hf-hub:`` from a cache the test fills,
with downloads off (HF_HUB_OFFLINE=1), and the same folder read by timm. Never the network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
import torch

import mobilezoo
from mobilezoo.errors import InvalidInputError, MobileZooError
from mobilezoo.hub import push_to_hf_hub, save_for_hf_hub

ROOT = Path(__file__).resolve().parent.parent
COMMIT = "0123456789abcdef0123456789abcdef01234567"  # the snapshot a pre-populated cache holds


def _into_cache(cache: Path, repo_id: str, folder: Path) -> None:
    """Lay ``folder`` out as huggingface_hub caches a download of ``repo_id`` at ``main``."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    shutil.copytree(folder, repo / "snapshots" / COMMIT)


@pytest.fixture
def offline_hub(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_saved_folder_has_timms_layout(tmp_path):
    from safetensors import safe_open

    model = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True)
    folder = save_for_hf_hub(model, tmp_path / "f1", repo_id="me/f1")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == "fbnetv2_f1" and config["num_classes"] == 10
    assert config["num_features"] == model.num_features and config["global_pool"] == "avg"
    assert config["label_names"][0] == "T-shirt/top" and len(config["label_names"]) == 10
    cfg = config["pretrained_cfg"]
    assert cfg["input_size"] == [3, 32, 32] and cfg["mean"] == [0.286] * 3 and cfg["classifier"] == "head.conv"
    assert config["mobilezoo"]["dataset"] == "Fashion-MNIST" and config["mobilezoo"]["resize"] == 32
    # timm builds its PretrainedCfg from this dict: every key must be one of its fields
    from timm.models import PretrainedCfg

    PretrainedCfg(**cfg)
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        assert weights.metadata()["format"] == "pt"
        assert sorted(weights.keys()) == sorted(model.state_dict())
    assert "hf-hub:me/f1" in (folder / "README.md").read_text()


@torch.no_grad()
def test_hf_hub_name_loads_from_the_cache_with_downloads_off(tmp_path, offline_hub):
    source = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True).eval()
    _into_cache(tmp_path / "cache", "me/f1", save_for_hf_hub(source, tmp_path / "f1"))
    model = mobilezoo.create_model("hf-hub:me/f1", pretrained=True, cache_dir=tmp_path / "cache").eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(x), source(x))
    cfg = model.pretrained_cfg
    assert cfg.weights.startswith("hf-hub:me/f1 (model.safetensors, sha256 ")
    assert cfg.mean == source.pretrained_cfg.mean and cfg.class_names == source.pretrained_cfg.class_names
    assert cfg.input_adaptation == source.pretrained_cfg.input_adaptation
    # timm's keywords on top: another head, a feature extractor, the config only
    five = mobilezoo.create_model("hf-hub:me/f1", pretrained=True, num_classes=5, cache_dir=tmp_path / "cache").eval()
    assert five(x).shape == (2, 5) and five.pretrained_cfg.class_names is None
    assert torch.equal(five.forward_features(x), source.forward_features(x))
    features = mobilezoo.create_model("hf-hub:me/f1", pretrained=True, features_only=True, out_indices=(-1,),
                                      cache_dir=tmp_path / "cache").eval()
    assert torch.equal(features(x)[0], source.forward_intermediates(x, indices=1, intermediates_only=True)[0])
    random = mobilezoo.create_model("hf-hub:me/f1", cache_dir=tmp_path / "cache")
    assert random.pretrained_cfg.weights == "random init"


@torch.no_grad()
def test_builder_options_travel_in_model_args(tmp_path, offline_hub):
    source = mobilezoo.create_model("darts_net", genotype="unnas_imagenet_rot", channels=8, layers=5,
                                    num_classes=10).eval()
    folder = save_for_hf_hub(source, tmp_path / "cell")
    assert json.loads((folder / "config.json").read_text())["model_args"] == {
        "genotype": "unnas_imagenet_rot", "channels": 8, "layers": 5}
    _into_cache(tmp_path / "cache", "me/cell", folder)
    model = mobilezoo.create_model("hf-hub:me/cell", pretrained=True, cache_dir=tmp_path / "cache").eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(x), source(x))


def test_push_creates_the_repo_and_uploads_the_folder(tmp_path, monkeypatch, offline_hub):
    calls = {}

    class FakeApi:  # records what would go to the Hub; the upload lands in a local cache instead
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, private=None, exist_ok=False):
            calls["create_repo"] = (repo_id, private, exist_ok)

        def upload_folder(self, repo_id, folder_path, commit_message, revision=None, create_pr=False):
            calls["upload"] = (repo_id, commit_message, sorted(os.listdir(folder_path)))
            _into_cache(tmp_path / "cache", repo_id, Path(folder_path))
            return "commit-info"

    import huggingface_hub

    fake = types.SimpleNamespace(HfApi=FakeApi, constants=huggingface_hub.constants,
                                 hf_hub_download=huggingface_hub.hf_hub_download)
    monkeypatch.setattr("mobilezoo.weights.hf_hub._hf", lambda: fake)
    source = mobilezoo.create_model("anynet_cifar", num_classes=10).eval()
    assert push_to_hf_hub(source, "me/anynet", token="t0k", private=True) == "commit-info"
    assert calls["create_repo"] == ("me/anynet", True, True) and calls["token"] == "t0k"
    assert calls["upload"] == ("me/anynet", "Add model", ["README.md", "config.json", "model.safetensors"])
    pulled = mobilezoo.create_model("hf-hub:me/anynet", pretrained=True, cache_dir=tmp_path / "cache").eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(pulled(x), source(x))


def test_hub_errors_name_the_problem_and_the_fix(tmp_path, offline_hub):
    cache = tmp_path / "cache"
    with pytest.raises(MobileZooError, match="not in the Hugging Face cache and downloads are off"):
        mobilezoo.create_model("hf-hub:me/absent", pretrained=True, cache_dir=cache)
    with pytest.raises(InvalidInputError, match="'owner/name'"):
        mobilezoo.create_model("hf-hub:no-owner", cache_dir=cache)
    timm_only = tmp_path / "vit"
    timm_only.mkdir()
    (timm_only / "config.json").write_text(json.dumps({"architecture": "vit_base_patch16_224", "num_classes": 1000,
                                                       "pretrained_cfg": {}}))
    _into_cache(cache, "me/vit", timm_only)
    with pytest.raises(MobileZooError, match=r"mobilezoo does not have; load it with timm.create_model"):
        mobilezoo.create_model("hf-hub:me/vit", cache_dir=cache)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    _into_cache(cache, "me/broken", broken)
    with pytest.raises(MobileZooError, match="not valid JSON"):
        mobilezoo.create_model("hf-hub:me/broken", cache_dir=cache)
    definition = mobilezoo.create_model(str(ROOT / "mobilezoo" / "models" / "searched" / "dmaskingnas_s600k.yaml"))
    with pytest.raises(InvalidInputError, match="registered name"):
        save_for_hf_hub(definition, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_offline_process_loads_in_mobilezoo_and_timm(tmp_path):
    """A fresh process with HF_HUB_OFFLINE=1 and the cache the test made: mobilezoo and timm read the same repo."""
    model = mobilezoo.create_model("resnext50_32x4d", num_classes=7).eval()
    _into_cache(tmp_path / "cache", "me/rx", save_for_hf_hub(model, tmp_path / "rx"))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.save({"x": x, "y": model(x)}, tmp_path / "io.pt")
    script = textwrap.dedent(f"""
        import torch, timm, mobilezoo
        io = torch.load({str(tmp_path / 'io.pt')!r}, weights_only=True)
        ours = mobilezoo.create_model("hf-hub:me/rx", pretrained=True).eval()
        theirs = timm.create_model("hf-hub:me/rx", pretrained=True).eval()
        with torch.no_grad():
            assert torch.allclose(ours(io["x"]), io["y"], atol=1e-5)
            assert torch.allclose(theirs(io["x"]), io["y"], atol=1e-5)
        assert theirs.num_classes == 7
        print("both loaded")
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "cache"), "MOBILEZOO_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "both loaded" in done.stdout


def test_cli_writes_the_hub_folder_of_packaged_weights(tmp_path, offline_hub):
    from mobilezoo.cli.main import main

    assert main(["weights", "hf-save", "dmaskingnas_ort50us.fmnist", str(tmp_path / "out")]) == 0
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["architecture"] == "dmaskingnas_ort50us" and config["pretrained_cfg"]["tag"] == "fmnist"
    _into_cache(tmp_path / "cache", "me/ort50", tmp_path / "out")
    pulled = mobilezoo.create_model("hf-hub:me/ort50", pretrained=True, cache_dir=tmp_path / "cache").eval()
    packaged = mobilezoo.create_model("dmaskingnas_ort50us.fmnist", pretrained=True).eval()
    assert all(torch.equal(a, b) for a, b in zip(pulled.state_dict().values(), packaged.state_dict().values()))

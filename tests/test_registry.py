"""Registry and create_model: names, tags, aliases, cfgs, errors, head and feature APIs."""

from __future__ import annotations

import pytest
import torch

import mobilezoo
from mobilezoo.errors import InvalidInputError, MobileZooError, UnknownModelError


def test_list_models_wildcards_and_pretrained_tags():
    assert mobilezoo.list_models("resnext101*") == ["resnext101_32x8d", "resnext101_64x4d"]
    assert mobilezoo.list_models(["resnext50*", "resnext101_64*"]) == ["resnext101_64x4d", "resnext50_32x4d"]
    assert mobilezoo.list_models("RESNEXT50*") == ["resnext50_32x4d"]
    tagged = mobilezoo.list_models("resnext50*", pretrained=True)
    assert tagged == ["resnext50_32x4d.tv2_in1k", "resnext50_32x4d.tv_in1k"]
    assert "resnext50_32x4d" not in mobilezoo.list_models("*", exclude="resnext50*")


def test_unknown_name_lists_closest_names():
    with pytest.raises(UnknownModelError) as info:
        mobilezoo.create_model("resnext50_32x8d")
    message = str(info.value)
    assert "unknown model 'resnext50_32x8d'" in message and "resnext50_32x4d" in message
    assert "\n" not in message


def test_unknown_tag_lists_available_tags():
    with pytest.raises(UnknownModelError, match="resnext50_32x4d.tv_in1k"):
        mobilezoo.create_model("resnext50_32x4d.nope")


def test_aliases_and_case_resolve_to_the_same_model():
    assert mobilezoo.get_model_info("ResNeXt50-32x4d")["architecture"] == "resnext50_32x4d"
    assert mobilezoo.is_model("resnext50_32x4d.tv_in1k") and not mobilezoo.is_model("resnet9000")


def test_model_info_carries_cfg_published_figures_and_weights():
    info = mobilezoo.get_model_info("resnext50_32x4d.tv2_in1k")
    assert info["input_size"] == (3, 224, 224)
    assert info["resize"] == 232 and info["crop_pct"] == round(224 / 232, 4)
    assert info["mean"] == (0.485, 0.456, 0.406) and info["interpolation"] == "bilinear"
    assert info["published"]["params"] == 25_028_904
    assert info["weights"]["tv2_in1k"]["metrics"]["top1"] == 81.198
    assert info["url"].endswith("resnext50_32x4d-1a0047aa.pth")
    assert info["paper"] == "arXiv:1611.05431"


def test_model_carries_pretrained_cfg_and_num_classes_override():
    model = mobilezoo.create_model("resnext50_32x4d", num_classes=7)
    assert model.pretrained_cfg["architecture"] == "resnext50_32x4d"
    assert model.pretrained_cfg["num_classes"] == 7 and model.default_cfg is model.pretrained_cfg
    assert model.fc.out_features == 7


def test_pretrained_without_local_file_is_a_clear_offline_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILEZOO_HOME", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("MOBILEZOO_OFFLINE", "1")
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: pytest.fail("network used"))
    with pytest.raises(MobileZooError, match="MOBILEZOO_OFFLINE is set: not downloading .*resnext50_32x4d-7cdf4587.pth"):
        mobilezoo.create_model("resnext50_32x4d", pretrained=True)


def test_pretrained_found_in_torch_hub_folder_loads_only_with_its_hash_prefix(tmp_path, monkeypatch):
    import dataclasses
    import shutil

    from mobilezoo.errors import CheckpointError
    from mobilezoo.fileio import sha256_of
    from mobilezoo.registry import get_model_entry

    monkeypatch.setenv("MOBILEZOO_HOME", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    source = mobilezoo.create_model("resnext50_32x4d")
    torch.save(source.state_dict(), tmp_path / "r.pth")
    prefix = sha256_of(tmp_path / "r.pth")[:8]
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    shutil.copy(tmp_path / "r.pth", folder / f"resnext50_32x4d-{prefix}.pth")  # as torchvision downloads it
    entry = get_model_entry("resnext50_32x4d")
    url = entry.weights["tv_in1k"].url.rsplit("/", 1)[0] + f"/resnext50_32x4d-{prefix}.pth"
    entry.weights["test_hub"] = dataclasses.replace(entry.weights["tv_in1k"], tag="test_hub", url=url)
    try:
        model = mobilezoo.create_model("resnext50_32x4d.test_hub", pretrained=True, num_classes=3)
    finally:
        del entry.weights["test_hub"]
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert model.fc.out_features == 3  # head replaced after loading
    # the same file under the published name: its hash lacks the published prefix, so it is never loaded
    shutil.copy(tmp_path / "r.pth", folder / "resnext50_32x4d-7cdf4587.pth")
    with pytest.raises(CheckpointError, match="MOBILEZOO_OFFLINE is set"):
        mobilezoo.create_model("resnext50_32x4d.tv_in1k", pretrained=True)


@pytest.mark.parametrize("bad", [-1, 2.5, "10", True])
def test_bad_num_classes(bad):
    with pytest.raises(InvalidInputError, match="num_classes"):
        mobilezoo.create_model("resnext50_32x4d", num_classes=bad)


def test_unknown_builder_option_is_named():
    with pytest.raises(InvalidInputError, match="no option 'depth_multiplier'"):
        mobilezoo.create_model("resnext50_32x4d", depth_multiplier=2)


def test_head_api_and_reset_classifier():
    model = mobilezoo.create_model("resnext50_32x4d").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.shape == (1, 2048, 2, 2)
        assert model.forward_head(features, pre_logits=True).shape == (1, 2048)
        model.reset_classifier(5)
        assert model(x).shape == (1, 5) and model.get_classifier().out_features == 5
        model.reset_classifier(0)
        assert model(x).shape == (1, 2048)


def test_features_only_returns_requested_levels():
    model = mobilezoo.create_model("resnext50_32x4d", features_only=True, out_indices=(1, 3, 4)).eval()
    with torch.no_grad():
        maps = model(torch.randn(1, 3, 64, 64))
    assert [m.shape[1] for m in maps] == [256, 1024, 2048]
    assert [m.shape[-1] for m in maps] == [16, 4, 2]
    assert [f["reduction"] for f in model.feature_info] == [4, 16, 32]
    with pytest.raises(InvalidInputError, match="out_indices entry 9"):
        mobilezoo.create_model("resnext50_32x4d", features_only=True, out_indices=(9,))


def test_torch_hub_local_load():
    from .conftest import REPO_ROOT

    model = torch.hub.load(REPO_ROOT, "resnext50_32x4d", source="local", num_classes=4, trust_repo=True)
    assert model.fc.out_features == 4
    import importlib.util

    spec = importlib.util.spec_from_file_location("hubconf", f"{REPO_ROOT}/hubconf.py")
    hubconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hubconf)
    entrypoints = [n for n in dir(hubconf) if not n.startswith("_") and callable(getattr(hubconf, n))]
    assert set(mobilezoo.list_models()) <= set(entrypoints)


def test_list_models_takes_timms_keywords():
    everything = mobilezoo.list_models()
    assert mobilezoo.list_models(filter="fbnetv2_*") == mobilezoo.list_models("fbnetv2_*")
    assert mobilezoo.list_models(module="resnext") == ["resnext101_32x8d", "resnext101_64x4d", "resnext50_32x4d"]
    assert mobilezoo.list_models(module="mobilezoo.models.s3d") == ["s3d", "s3d_g"]  # a module path works too
    kept = mobilezoo.list_models(exclude_filters=["fbnet*", "dmasking*"])
    assert kept and not [n for n in kept if n.startswith(("fbnet", "dmasking"))] and set(kept) < set(everything)
    assert mobilezoo.list_models(name_matches_cfg=True) == everything
    tagged = mobilezoo.list_models("fbnetv2_f[01]*", include_tags=True)
    assert tagged == ["fbnetv2_f0", "fbnetv2_f1.fmnist", "fbnetv2_f1.fmnist_moco", "fbnetv2_f1.mv_in1k"]  # f0: no weights
    assert "anynet_cifar" in mobilezoo.list_models("anynet*", include_tags=True)  # no weights: the bare name


def test_create_model_takes_timms_keywords(tmp_path):
    base = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True)
    overlaid = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True,
                                      pretrained_cfg_overlay={"crop_pct": 1.0, "hf_hub_id": "x/y"})
    assert overlaid.pretrained_cfg.resize == 32 and overlaid.pretrained_cfg.extra["hf_hub_id"] == "x/y"
    torch.save(base.state_dict(), tmp_path / "mine.pth")
    from_file = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True,
                                       pretrained_cfg_overlay={"file": str(tmp_path / "mine.pth")})
    assert "mine.pth" in from_file.pretrained_cfg.weights  # timm's overlay file: those weights, not the tag's
    for a, b in zip(base.state_dict().values(), from_file.state_dict().values()):
        assert torch.equal(a, b)
    plain = mobilezoo.create_model("fbnetv2_f1", scriptable=True, exportable=True, no_jit=False, output_stride=32,
                                   feature_cls="getter", cache_dir=tmp_path / "cache")
    assert plain.num_classes == 1000
    with pytest.raises(mobilezoo.errors.InvalidInputError, match="output_stride=16"):
        mobilezoo.create_model("fbnetv2_f1", output_stride=16)
    with pytest.raises(mobilezoo.errors.InvalidInputError, match="feature_cls='fx'"):
        mobilezoo.create_model("fbnetv2_f1", features_only=True, feature_cls="fx")


def test_cache_dir_sends_downloads_to_the_callers_folder(tmp_path, monkeypatch):
    from mobilezoo.weights import hub

    monkeypatch.setenv("MOBILEZOO_HOME", str(tmp_path / "home"))
    assert hub.cache_dir() == tmp_path / "home" / "checkpoints"
    with hub.using_cache_dir(tmp_path / "mine"):
        assert hub.cache_dir() == tmp_path / "mine"
    assert hub.cache_dir() == tmp_path / "home" / "checkpoints"


def test_weights_source_says_its_kind_and_reads_back_from_a_record():
    import copy
    import json

    from mobilezoo.pretrained_cfg import PretrainedCfg, WeightsSource

    made = [WeightsSource.random(), WeightsSource.random(seed=0), WeightsSource.tagged("a_b.tag", "a_b.tag.safetensors", "f" * 64),
            WeightsSource.checkpoint("runs/x/last.pt", "e" * 64), WeightsSource.hf_hub("hf-hub:me/x", "model.safetensors", "d" * 64),
            WeightsSource.training_run("runs/x/last.pt", 7), WeightsSource.synthetic(3)]
    assert [s.kind for s in made] == ["random", "random", "tag", "checkpoint", "hf-hub", "training-run", "synthetic"]
    for source in made:
        read = WeightsSource.of(json.loads(json.dumps(source)))  # the text a record holds, read back
        assert (read, read.kind, read.label, read.sha256) == (source, source.kind, source.label, source.sha256)
        assert copy.deepcopy(source).kind == source.kind
    assert made[2] == "a_b.tag (a_b.tag.safetensors, sha256 ffffffffffffffff)"  # the record text is unchanged
    cfg = PretrainedCfg()
    cfg.weights = "checkpoint mine.pth (sha256 0123)"
    assert cfg.weights.kind == "checkpoint" and cfg.weights.label == "mine.pth" and cfg.replace().weights.kind == "checkpoint"


def test_an_empty_filter_lists_everything_as_in_timm():
    assert mobilezoo.list_models("") == mobilezoo.list_models() == mobilezoo.list_models(filter="")
    assert len(mobilezoo.list_models("")) > 50

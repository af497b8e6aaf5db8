"""FBNet family: exact published counts for all 22 networks, upstream checkpoint layout, definitions."""

from __future__ import annotations

import json
import os

import pytest
import torch

import mobilezoo
from mobilezoo.errors import ArchDefError
from mobilezoo.models.blocks import make_divisible
from mobilezoo.models.fbnet import IRBlock, build_fbnet
from mobilezoo.models.fbnet_archs import ARCHS
from mobilezoo.profile import profile

DATA = os.path.join(os.path.dirname(__file__), "data")

# mobile-vision model-zoo registry: (params_m = Conv/Linear weights, flops_m = fvcore MACs without BN),
# written exactly as published; compared to the last published digit.
PUBLISHED = {
    "fbnetv2_f1": ("5.999408", "56.41056"),
    "fbnetv2_f2": ("5.999408", "85.441392"),
    "fbnetv2_f3": ("6.899504", "121.824"),
    "fbnetv2_f4": ("6.994824", "238.351984"),
    "fbnetv2_l1": ("8.49652", "326.023008"),
    "fbnetv2_l2": ("8.49652", "423.912768"),
    "dmasking_f1": ("5.99297", "56.27495"),
    "dmasking_f4": ("6.99169", "235.88279"),
    "dmasking_l2_hs": ("8.49286", "419.06478"),
    "dmasking_l3": ("9.39406", "753.163968"),
    "fbnet_a": ("4.27029", "244.52636"),
    "fbnet_b": ("4.76667", "291.10164"),
    "fbnet_c": ("5.52542", "378.23344"),
    "fbnetv3_a": ("8.542224", "356.59828"),
    "fbnetv3_b": ("8.542224", "461.550136"),
    "fbnetv3_c": ("9.907136", "556.969904"),
    "fbnetv3_d": ("10.237552", "644.420352"),
    "fbnetv3_e": ("10.699464", "762.046336"),
    "fbnetv3_f": ("13.803072", "1181.64452"),
    "fbnetv3_g": ("16.513648", "2129.656384"),
}


def to_published_digits(value_millions: float, published: str) -> str:
    decimals = len(published.split(".")[1]) if "." in published else 0
    return f"{value_millions:.{decimals}f}".rstrip("0").rstrip(".")


def test_all_22_networks_are_registered():
    assert len(mobilezoo.list_models(["fbnet*", "dmasking_*", "mnv3"])) == 22
    assert set(PUBLISHED) | {"fbnetv2_f0", "mnv3"} == set(ARCHS)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_params_and_flops_at_native_resolution(name):
    model = mobilezoo.create_model(name).eval()
    size = ARCHS[name]["input_size"]
    with torch.no_grad():
        assert model(torch.randn(2, 3, size, size)).shape == (2, 1000)
    result = profile(model)
    assert result.input_shape == (1, 3, size, size)
    params_m, flops_m = PUBLISHED[name]
    assert to_published_digits(result.params_conv_linear_weights / 1e6, params_m) == params_m.rstrip("0").rstrip(".")
    assert to_published_digits(result.macs_without_bn / 1e6, flops_m) == flops_m.rstrip("0").rstrip(".")


def test_fbnetv2_f0_block_widths_match_the_upstream_build():
    # (mid channels, SE channels) per IR block of FBNetV2_F0 as mobile-vision builds it (no published counts)
    expected = [(8, None), (32, None), (48, None), (64, 16), (72, 24), (96, 24), (144, 40), (144, 40),
                (128, 32), (192, 48), (384, 96)]
    model = mobilezoo.create_model("fbnetv2_f0").eval()
    blocks = [m for m in model.backbone.stages if isinstance(m, IRBlock)]
    got = [(b.dw.conv.in_channels, b.se.se[0].conv.out_channels if b.se else None) for b in blocks]
    assert got == expected
    with torch.no_grad():
        assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_mnv3_matches_torchvision_mobilenet_v3_large_counts():
    import torchvision

    ours = profile("mnv3")
    reference = profile(torchvision.models.mobilenet_v3_large(), input_size=224)
    assert ours.params_conv_linear_weights == reference.params_conv_linear_weights
    assert ours.macs_without_bn == pytest.approx(reference.macs_without_bn, rel=2e-3)


def _synthetic_checkpoint(tsv: str, container: str) -> tuple[dict, dict]:
    state = {}
    generator = torch.Generator().manual_seed(0)
    for line in open(os.path.join(DATA, tsv)):
        key, shape = line.rstrip("\n").split("\t")
        shape = tuple(json.loads(shape.replace("(", "[").replace(",)", "]").replace(")", "]")))
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7)
        else:
            state[key] = torch.rand(shape, generator=generator) + 0.5  # distinct, positive (valid running_var)
    wrapped = {f"module.{k}": v for k, v in state.items()}
    return state, ({"model_ema": wrapped, "state_dict": {}} if container == "model_ema" else {"state_dict": wrapped})


@pytest.mark.parametrize(
    "name,tsv,container",
    [
        ("fbnetv2_f1", "keys_FBNetV2_F1_headcode.tsv", "model_ema"),
        ("dmasking_f1", "keys_dmasking_f1_2020code.tsv", "state_dict"),
        ("dmasking_l3", "keys_dmasking_l3_2020code.tsv", "model_ema"),
    ],
)
def test_upstream_checkpoint_layout_loads_strictly(tmp_path, name, tsv, container):
    state, checkpoint = _synthetic_checkpoint(tsv, container)
    path = tmp_path / "model.pth"
    torch.save(checkpoint, path)
    model = mobilezoo.create_model(name, checkpoint_path=path)
    loaded = model.state_dict()
    assert list(loaded) == list(state)  # identical keys, in the same order
    for key, tensor in state.items():
        assert torch.equal(loaded[key], tensor), key
    with torch.no_grad():
        size = ARCHS[name]["input_size"]
        assert model.eval()(torch.randn(1, 3, size, size)).shape == (1, 1000)


def test_2020_and_head_checkpoints_are_not_interchangeable(tmp_path):
    _, checkpoint = _synthetic_checkpoint("keys_dmasking_f1_2020code.tsv", "state_dict")
    path = tmp_path / "dmasking.pth"
    torch.save(checkpoint, path)
    with pytest.raises(mobilezoo.MobileZooError, match="shape|lacks|has tensor"):
        mobilezoo.create_model("fbnetv2_f1", checkpoint_path=path)


def test_registry_metadata_for_weights():
    info = mobilezoo.get_model_info("FBNetV2_F1")  # upstream spelling is an alias
    assert info["architecture"] == "fbnetv2_f1" and info["input_size"] == (3, 128, 128) and info["resize"] == 151
    weight = info["weights"]["mv_in1k"]
    assert weight["url"].endswith("FBNetV2_F1_f167001958/model.pth")
    assert weight["metrics"] == {"top1": 68.278, "top5": 87.83}
    assert mobilezoo.get_model_info("dmasking_l3")["resize"] == 324
    assert mobilezoo.list_models("fbnetv2_f*.mv_in1k", pretrained=True) == [f"fbnetv2_f{i}.mv_in1k" for i in range(1, 5)]


def test_make_divisible_rounds_half_away_from_zero():
    assert make_divisible(20, 8) == 24  # 2.5 -> 3 (Python's round would give 2)
    assert make_divisible(8 * 5.4566, 8) == 48 and make_divisible(8 * 5.4566, 1) == 44
    assert make_divisible(10, 8) == 16  # 8 would lose more than 5%
    assert make_divisible(3, 8) == 8


def test_grouped_block_shuffles_even_without_pw():
    model = mobilezoo.create_model("fbnet_a")
    block = model.backbone.stages.xif4_2  # ir_k5_g2 with expansion 1: no pw conv, shuffle still applied
    assert block.pw is None and block.shuffle is not None and block.pwl.conv.groups == 2


def test_features_only_and_head_api():
    model = mobilezoo.create_model("fbnetv2_f1", features_only=True).eval()
    with torch.no_grad():
        maps = model(torch.randn(1, 3, 128, 128))
    assert [m.shape[1] for m in maps] == [8, 24, 24, 80, 224]
    assert [m.shape[-1] for m in maps] == [64, 32, 16, 8, 4]
    assert [f["reduction"] for f in model.feature_info] == [2, 4, 8, 16, 32]
    net = mobilezoo.create_model("fbnetv2_f1").eval()
    with torch.no_grad():
        features = net.forward_features(torch.randn(2, 3, 128, 128))
        assert net.forward_head(features, pre_logits=True).shape == (2, 1600)
        net.reset_classifier(10)
        assert net(torch.randn(2, 3, 128, 128)).shape == (2, 10)


@pytest.mark.parametrize(
    "row,fragment",
    [
        (("ir_k9", 16, 1, 1), "stage 1, row 0 (block xif1_0): unknown op 'ir_k9'"),
        (("ir_k3", -16, 1, 1), "stage 1, row 0 (block xif1_0): out_channels must be a whole number in 1..16384"),
        (("ir_k3", 16, 3, 1), "stage 1, row 0 (block xif1_0): stride must be 1 or 2, got 3"),
        (("ir_k3", 16, 1, 0), "repeat must be a whole number in 1..64"),
        (("ir_k3", 16, 1, 1, {"e": -1}), "expansion 'e' must be a number in (0, 64]"),
        (("ir_k3", 16, 1, 1, {"expand": 2}), "row options are"),
    ],
)
def test_malformed_definition_names_stage_and_block(row, fragment):
    arch = {"input_size": 64, "stages": [[("conv_k3", 16, 2, 1)], [row]]}
    with pytest.raises(ArchDefError) as info:
        build_fbnet(arch, where="mynet")
    assert fragment in str(info.value) and str(info.value).startswith("mynet: ")


def test_definition_files(tmp_path):
    from .conftest import REPO_ROOT

    model = mobilezoo.create_model(os.path.join(REPO_ROOT, "configs/models/fbnet_tiny_example.yaml"), num_classes=5)
    assert model.pretrained_cfg["architecture"] == "fbnet_tiny_example"
    assert model.pretrained_cfg["input_size"] == (3, 96, 96)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 96, 96)).shape == (1, 5)
    as_json = tmp_path / "net.json"
    as_json.write_text(json.dumps({"input_size": 64, "stages": [[["conv_k3", 8, 2, 1]], [["ir_k3", 8, 1, 2, {"e": 1}]]]}))
    assert mobilezoo.profile(str(as_json)).input_shape == (1, 3, 64, 64)
    broken = tmp_path / "broken.yaml"
    broken.write_text("stages: [[[ir_k3, 8, 1, 1]]\n  bad: : :")
    with pytest.raises(ArchDefError, match="not valid YAML"):
        mobilezoo.create_model(str(broken))
    with pytest.raises(ArchDefError, match="does not exist"):
        mobilezoo.create_model(str(tmp_path / "missing.yaml"))


def test_cli_profile_fbnetv2_f1(capsys):
    from mobilezoo.cli.main import main

    assert main(["profile", "fbnetv2_f1"]) == 0
    out = capsys.readouterr().out
    assert "5,999,408" in out and "56.41 M" in out


def test_width_ratio_scales_every_width_as_mobile_vision_rounds_it():
    from mobilezoo.errors import ArchDefError
    from mobilezoo.models.blocks import make_divisible

    full = mobilezoo.create_model("fbnetv2_f1", num_classes=10)
    half = mobilezoo.create_model("fbnetv2_f1", num_classes=10, width_ratio=0.5)
    assert [b.out_channels for b in half.blocks_spec] == [make_divisible(b.out_channels * 0.5, 8)
                                                          for b in full.blocks_spec]
    assert [(b.op, b.stride, b.expansion) for b in half.blocks_spec] == [(b.op, b.stride, b.expansion)
                                                                          for b in full.blocks_spec]
    assert half.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert sum(p.numel() for p in half.parameters()) < sum(p.numel() for p in full.parameters()) / 3
    same = mobilezoo.create_model("fbnetv2_f1", num_classes=10, width_ratio=1.0)
    assert [b.out_channels for b in same.blocks_spec] == [b.out_channels for b in full.blocks_spec]
    with pytest.raises(ArchDefError, match=r"width_ratio must be a number in \(0, 16\]"):
        mobilezoo.create_model("fbnetv2_f1", width_ratio=0)

"""ResNeXt: exact parameter/MAC counts and strict, output-identical loading of torchvision weights."""

from __future__ import annotations

import pytest
import torch
import torchvision

import mobilezoo
from mobilezoo.profile import count_params, profile

from .conftest import recalibrate_bn

EXPECTED = {
    # name: (params, GMACs without BN at 224, rounded as torchvision publishes _ops)
    "resnext50_32x4d": (25_028_904, 4.23),
    "resnext101_32x8d": (88_791_336, 16.41),
    "resnext101_64x4d": (83_455_272, 15.46),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parameter_count(name):
    params, _ = count_params(mobilezoo.create_model(name))
    assert params == EXPECTED[name][0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_macs_without_bn_at_224(name):
    result = profile(name)
    assert round(result.gmacs, 2) == EXPECTED[name][1]
    assert result.macs > result.macs_without_bn  # BN is counted, but separately


@pytest.mark.parametrize(
    "name,size", [("resnext50_32x4d", 160), ("resnext101_32x8d", 96), ("resnext101_64x4d", 96)]
)
def test_torchvision_state_dict_loads_strictly_with_identical_outputs(name, size):
    torch.manual_seed(0)
    reference = recalibrate_bn(getattr(torchvision.models, name)(), (4, 3, size, size))
    ours = mobilezoo.create_model(name)
    assert list(ours.state_dict()) == list(reference.state_dict())  # same keys, same order
    ours.load_state_dict(reference.state_dict(), strict=True)
    ours.eval()
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, actual = reference(x), ours(x)
    assert expected.abs().mean() > 0.1  # outputs are O(1), so the comparison means something
    assert (expected - actual).abs().max().item() <= 1e-5


def test_torchvision_checkpoint_file_loads_via_checkpoint_path(tmp_path):
    reference = torchvision.models.resnext50_32x4d(num_classes=10)
    path = tmp_path / "tv.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, path)
    ours = mobilezoo.create_model("resnext50_32x4d", num_classes=10, checkpoint_path=path)
    for key, tensor in reference.state_dict().items():
        assert torch.equal(ours.state_dict()[key], tensor), key


def test_stride_is_on_the_grouped_conv_and_group_width():
    model = mobilezoo.create_model("resnext50_32x4d")
    block = model.layer2[0]
    assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)
    assert block.conv2.groups == 32 and block.conv2.in_channels == 256  # int(128 * 4 / 64) * 32
    assert [model.get_submodule(f"layer{i}")[0].conv2.out_channels for i in range(1, 5)] == [128, 256, 512, 1024]

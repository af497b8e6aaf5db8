"""torchvision's model API: get_model / get_model_weights / get_weight, weights enums with transforms and meta."""

from __future__ import annotations

import json

import pytest
import torch

import mobilezoo
from mobilezoo.errors import InvalidInputError
from mobilezoo.weights.packaged import FILES

from .test_train import needs_fmnist


def test_a_weights_enum_per_architecture_with_default_alias_and_meta():
    weights = mobilezoo.get_model_weights("fbnetv2_f1")
    assert weights.__name__ == "FBNETV2_F1_Weights"
    assert list(weights.__members__) == ["MV_IN1K", "FMNIST", "FMNIST_MOCO", "DEFAULT"]
    default = mobilezoo.registry.get_model_entry("fbnetv2_f1").default_tag
    assert weights.DEFAULT is weights[default.upper()]  # an alias, as torchvision's DEFAULT
    record = json.loads((FILES / "fbnetv2_f1.fmnist.json").read_text())
    meta = weights.FMNIST.meta
    assert meta["categories"] == record["class_names"] and meta["_metrics"] == {"Fashion-MNIST": {"acc@1": 92.0}}
    assert meta["num_params"] == sum(p.numel() for p in mobilezoo.create_model("fbnetv2_f1", num_classes=10).parameters())
    assert meta["sha256"] == record["sha256"] and meta["min_size"] == (32, 32)
    assert mobilezoo.get_weight("FBNETV2_F1_Weights.FMNIST") is weights.FMNIST
    with pytest.raises(InvalidInputError, match="members: MV_IN1K, FMNIST, FMNIST_MOCO, DEFAULT"):
        mobilezoo.get_weight("FBNETV2_F1_Weights.IMAGENET")
    with pytest.raises(InvalidInputError, match="has no registered weights"):
        mobilezoo.get_model_weights("anynet_cifar")


@needs_fmnist
def test_transforms_reproduce_the_data_pipeline_on_real_images():
    from mobilezoo.data.fashion_mnist import fashion_mnist, load_fashion_mnist

    for member in (mobilezoo.get_model_weights("fbnetv2_f1").FMNIST,
                   mobilezoo.get_model_weights("dmaskingnas_ort50us").FMNIST):  # 32 and 16 px
        model = mobilezoo.get_model(member.meta["name"].split(".")[0], weights=member).eval()
        transform = member.transforms()
        data = fashion_mnist("test", model.pretrained_cfg, limit=8)
        raw, _ = load_fashion_mnist("test")
        for index in range(8):
            assert torch.equal(transform(raw[index]), data[index][0])  # exactly what the data set feeds
        batch = transform(torch.from_numpy(raw[:4]).unsqueeze(1))
        assert batch.shape == (4, *model.pretrained_cfg.input_size)
        assert all(torch.equal(batch[i], data[i][0]) for i in range(4))  # torchvision's CxHxW uint8 tensors too
    trained = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True)
    by_tag = mobilezoo.get_model("fbnetv2_f1", weights="FMNIST")
    assert all(torch.equal(a, b) for a, b in zip(trained.state_dict().values(), by_tag.state_dict().values()))
    assert mobilezoo.get_model("fbnetv2_f1", num_classes=3).num_classes == 3  # weights=None: random init

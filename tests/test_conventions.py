"""At home for timm and torchvision users: timm's model-test assertions and torchvision's scripting and FX
checks, re-stated over every registered model; stem adaptation for other channel counts."""

from __future__ import annotations

import math

import pytest
import torch

import mobilezoo
from mobilezoo.models.base import FeatureInfo

MODELS = mobilezoo.list_models()
MODELS_2D = [n for n in MODELS if len(mobilezoo.get_pretrained_cfg(n).input_size) == 3]
# every image network has timm's unpooled feature map (the relational MLP's is 1x1: test_relgraph.py has its own)
SPATIAL = [n for n in MODELS_2D if mobilezoo.get_pretrained_cfg(n).pool_size != ()]


def _eval(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return mobilezoo.create_model(name, **kwargs).eval()


@pytest.mark.parametrize("name", SPATIAL)
@torch.no_grad()
def test_timm_default_cfg_and_head_contract(name):
    """timm's test_model_default_cfgs: unpooled features, pre-logits width, classifier resets, cfg keys."""
    model = _eval(name)
    cfg = model.pretrained_cfg
    state = model.state_dict()
    x = torch.randn(1, *cfg["input_size"])
    features = model.forward_features(x)
    assert features.ndim == 4 and features.shape[1] == model.num_features
    assert tuple(features.shape[2:]) == cfg["pool_size"], "forward_features is not the unpooled map of pool_size"
    assert model.forward_head(features, pre_logits=True).shape == (1, model.head_hidden_size)
    logits = model.forward_head(features)
    assert torch.allclose(logits, model(x), rtol=1e-4, atol=1e-5)
    assert cfg["classifier"] + ".weight" in state and cfg["first_conv"] + ".weight" in state
    for key in ("input_size", "mean", "std", "crop_pct", "interpolation", "num_classes", "pool_size", "first_conv",
                "classifier"):
        assert key in cfg, key
    model.reset_classifier(0)
    assert model(x).shape == (1, model.head_hidden_size)
    model.reset_classifier(0, "")
    unpooled = model(x)
    assert unpooled.ndim == 4 and tuple(unpooled.shape[2:]) == cfg["pool_size"]
    model = _eval(name, num_classes=0, global_pool="")
    assert model(x).ndim == 4
    model.reset_classifier(7, "avg")
    assert model(x).shape == (1, 7) and model.get_classifier() is not None


@pytest.mark.parametrize("name", SPATIAL)
@torch.no_grad()
def test_timm_features_only_contract(name):
    """timm's test_model_forward_features: FeatureInfo channels/reduction/module_name match the outputs."""
    model = _eval(name, features_only=True)
    info = model.feature_info
    assert isinstance(info, FeatureInfo) and len(info.channels()) >= 3
    # timm's test reads the wrapper's cfg (input size, mean/std) like any model's
    assert model.default_cfg is model.pretrained_cfg and len(model.default_cfg["input_size"]) == 3
    size = model.default_cfg["input_size"][-1] if model.default_cfg["fixed_input_size"] else 96  # timm's _get_input_size
    outputs = model(torch.randn(2, 3, size, size))
    assert len(outputs) == len(info.channels()) == len(info.reduction()) == len(info.module_name())
    for channels, reduction, output in zip(info.channels(), info.reduction(), outputs):
        assert output.shape[0] == 2 and output.shape[1] == channels
        if output.ndim == 4:  # a map (an MLP's levels are vectors)
            assert output.shape[-1] <= math.ceil(size / reduction) + 1
        assert not torch.isnan(output).any()
    last_two = _eval(name, features_only=True, out_indices=(-2, -1))
    assert last_two.feature_info.channels() == info.channels()[-2:]
    assert [o.shape[1] for o in last_two(torch.randn(1, 3, size, size))] == info.channels()[-2:]


@pytest.mark.parametrize("name", MODELS)
@torch.no_grad()
def test_torchvision_scripting_and_fx(name):
    """torchvision's checks: every model scripts and FX-traces, and both equal eager."""
    model = _eval(name)
    video = len(model.pretrained_cfg.input_size) == 4
    fixed = model.pretrained_cfg.fixed_input_size  # takes its own input size only (an MLP)
    x = torch.randn(1, 3, 4, 32, 32) if video else torch.randn(1, *model.pretrained_cfg.input_size) if fixed else torch.randn(1, 3, 64, 64)
    expected = model(x)
    scripted = torch.jit.script(model)
    assert torch.allclose(scripted(x), expected, rtol=1e-4, atol=1e-5)
    traced = torch.fx.symbolic_trace(model)
    assert torch.allclose(traced(x), expected, rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_grey_image_with_adapted_stem_gives_the_same_top1():
    colour = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True).eval()
    grey = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True, in_chans=1).eval()
    assert grey.pretrained_cfg.input_size == (1, 32, 32) and "adapted" in grey.pretrained_cfg.input_adaptation
    from mobilezoo.data.fashion_mnist import fashion_mnist

    data = fashion_mnist("test", colour.pretrained_cfg, limit=200)  # real images, replicated to 3 channels
    images = torch.stack([data[i][0] for i in range(len(data))])
    one_channel = images[:, :1]  # the grey image itself: the three channels are copies
    top_colour = colour(images).argmax(1)
    top_grey = grey(one_channel).argmax(1)
    assert torch.equal(top_colour, top_grey)
    # the same sums in another order: float rounding only, through ~20 layers
    assert torch.allclose(colour(images), grey(one_channel), rtol=1e-3, atol=2e-3)
    five = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True, in_chans=1, num_classes=5)
    assert five(one_channel[:2]).shape == (2, 5) and five.pretrained_cfg.num_classes == 5


def test_stem_adaptation_to_several_channels_keeps_the_scale():
    from mobilezoo.weights.loading import adapt_input_conv

    model = mobilezoo.create_model("resnext50_32x4d", in_chans=5)
    source = torch.randn(64, 3, 7, 7)
    adapted = adapt_input_conv(model, {"conv1.weight": source})["conv1.weight"]
    assert adapted.shape == (64, 5, 7, 7)
    # timm's rule: the RGB weights cycle over the 5 inputs, scaled by 3/5 so activations keep their size
    for channel in range(5):
        assert torch.allclose(adapted[:, channel], source[:, channel % 3] * 3 / 5)


def test_global_pool_none_with_a_linear_classifier_is_a_clear_error():
    model = mobilezoo.create_model("resnext50_32x4d", num_classes=10)
    with pytest.raises(mobilezoo.MobileZooError, match="num_classes=0"):
        model.set_global_pool("")
    with pytest.raises(mobilezoo.MobileZooError, match="'avg' or ''"):
        model.reset_classifier(3, "max")

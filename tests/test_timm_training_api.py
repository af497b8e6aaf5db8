"""timm's training-time contract on zoo models: drop_rate, drop_path_rate (stochastic depth), output_stride
(dilation), set_grad_checkpointing, forward_intermediates and group_matcher, with timm's own assertions."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn

import mobilezoo
from mobilezoo.errors import InvalidInputError

MODELS_2D = [n for n in mobilezoo.list_models() if len(mobilezoo.get_pretrained_cfg(n).input_size) == 3]
# one network of each family (and both ResNet layouts); small inputs: these tests are about structure
ONE_PER_FAMILY = ["fbnetv2_f1", "fbnet_a", "resnext50_32x4d", "darts_v2", "anynet_cifar", "relgraph_mlp",
                  "relgraph_resnet34", "randwire_ws_small", "s3d"]
RESIDUAL = ["fbnetv2_f1", "resnext50_32x4d", "darts_v2", "anynet_cifar", "relgraph_resnet34"]


def _input(model: nn.Module, batch: int = 2) -> torch.Tensor:
    cfg = model.pretrained_cfg
    if len(cfg.input_size) == 4:
        return torch.randn(batch, 3, 4, 32, 32)
    return torch.randn(batch, *cfg.input_size) if cfg.fixed_input_size else torch.randn(batch, 3, 32, 32)


def _pair(name: str, **kwargs) -> tuple[nn.Module, nn.Module]:
    """The same weights with and without the switch; BN scales set to 1 so no residual branch starts at zero."""
    plain = mobilezoo.create_model(name, num_classes=5)
    for module in plain.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.weight is not None:
            nn.init.ones_(module.weight)
    switched = mobilezoo.create_model(name, num_classes=5, **kwargs)
    switched.load_state_dict(plain.state_dict())
    return plain, switched


@pytest.mark.parametrize("name", MODELS_2D)
@torch.no_grad()
def test_timm_forward_intermediates_contract(name):
    """timm's test_model_forward_intermediates: levels match feature_info, the final output is forward_features,
    and it is unchanged with grad checkpointing on."""
    torch.manual_seed(0)
    model = mobilezoo.create_model(name).eval()
    x = _input(model, 1) if model.pretrained_cfg.fixed_input_size else torch.randn(1, 3, 64, 64)
    output, intermediates = model.forward_intermediates(x, output_fmt="NCHW")
    assert len(intermediates) == len(model.feature_info) >= 3
    for level, feature in zip(model.feature_info, intermediates):
        assert feature.shape[:2] == (1, level["num_chs"])
        if feature.ndim == 4:
            assert feature.shape[-1] <= math.ceil(x.shape[-1] / level["reduction"]) + 1
    assert torch.allclose(output, model.forward_features(x))
    last_two = model.forward_intermediates(x, indices=2, stop_early=True, intermediates_only=True)
    assert len(last_two) == 2 and all(torch.equal(a, b) for a, b in zip(last_two, intermediates[-2:]))
    first, only_first = model.forward_intermediates(x, indices=[0], stop_early=True)
    assert torch.equal(only_first[0], intermediates[0]) and torch.equal(first, intermediates[0])
    model.set_grad_checkpointing()
    again, _ = model.forward_intermediates(x)
    assert torch.allclose(output, again, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS_2D)
def test_group_matcher_groups_every_parameter_shallow_to_deep(name):
    """timm's group_parameters (layer-wise lr decay) over the zoo's matcher: every parameter in one group, the stem
    first, the classifier last, and coarse groups are one per feature level."""
    from timm.models import group_parameters

    model = mobilezoo.create_model(name)
    names = [n for n, _ in model.named_parameters()]
    for coarse in (False, True):
        groups = group_parameters(model, model.group_matcher(coarse=coarse))
        ordered = [n for i in sorted(groups) for n in groups[i]]
        assert sorted(ordered) == sorted(names)
        assert ordered[0] == names[0]  # the stem's first weight opens the first group
        assert model.pretrained_cfg.classifier + ".weight" in groups[max(groups)]
    levels = len(model.feature_info)
    assert len(group_parameters(model, model.group_matcher(coarse=True))) == levels + 1  # + the head
    assert len(group_parameters(model, model.group_matcher())) >= levels + 1


def test_group_matcher_splits_resnet_stages_into_blocks():
    from timm.models import group_parameters

    model = mobilezoo.create_model("resnext50_32x4d")
    groups = group_parameters(model, model.group_matcher())
    # stem (conv1, bn1), 3 + 4 + 6 + 3 bottlenecks, the classifier: as timm groups its own ResNeXt-50
    assert len(groups) == 1 + 16 + 1
    assert groups[0] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert all(n.startswith("layer1.0.") for n in groups[1]) and all(n.startswith("layer4.2.") for n in groups[16])


@pytest.mark.parametrize("name", ONE_PER_FAMILY)
def test_grad_checkpointing_gives_equal_gradients(name):
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = mobilezoo.create_model(name, num_classes=5, drop_path_rate=0.2 if name in RESIDUAL else None)
        if checkpointing:
            model.set_grad_checkpointing()
        torch.manual_seed(1)  # the same drop-path draws: checkpointing replays the RNG state
        model(_input(model)).square().sum().backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) == len(list(model.parameters()))
    for key in grads[0]:
        assert torch.allclose(grads[0][key], grads[1][key], rtol=1e-4, atol=1e-6), key
    model.set_grad_checkpointing(False)
    scripted = torch.jit.script(model.eval())  # off again, the model scripts as before
    x = _input(model)
    assert torch.allclose(scripted(x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", RESIDUAL)
def test_drop_path_changes_training_outputs_and_not_eval_outputs(name):
    plain, dropping = _pair(name, drop_path_rate=0.5)
    rates = [b.drop_path_rate for b in dropping.stochastic_depth_blocks()]
    if name.startswith("darts"):
        assert rates == [0.5] * len(dropping.cells)  # the reference: one rate in every cell
    else:  # timm's schedule: linear from 0 at the first residual block to the rate at the last
        assert rates[0] == 0.0 and rates[-1] == 0.5 and rates == sorted(rates) and len(rates) >= 4
    x = _input(plain)
    plain.eval(), dropping.eval()
    with torch.no_grad():
        assert torch.equal(plain(x), dropping(x))  # inference: stochastic depth is the identity
        scripted = torch.jit.script(dropping)
        assert torch.allclose(scripted(x), dropping(x), rtol=1e-4, atol=1e-5)
    plain.train(), dropping.train()
    torch.manual_seed(0)
    a, b = plain(x), dropping(x)
    assert (a - b).abs().max() > 0.01 * a.abs().max()  # training: branches dropped for some samples


@pytest.mark.parametrize("name", ["fbnetv2_f1", "resnext50_32x4d", "randwire_ws_small", "relgraph_mlp"])
def test_drop_rate_changes_training_outputs_and_not_eval_outputs(name):
    plain, dropping = _pair(name, drop_rate=0.5)
    plain.eval(), dropping.eval()
    x = _input(plain)
    with torch.no_grad():
        assert torch.equal(plain(x), dropping(x))
        plain.train(), dropping.train()  # batch statistics are the same in both: only the dropout differs
        a, b = plain(x), dropping(x)
        assert (a - b).abs().max() > 0.01 * a.abs().max()  # well beyond rounding: features were dropped


def test_s3d_drop_rate_sets_its_classifier_dropout():
    model = mobilezoo.create_model("s3d", drop_rate=0.35)
    assert model.classifier[0].p == 0.35 and model.drop_rate == 0.35
    assert mobilezoo.create_model("s3d").classifier[0].p == 0.2  # upstream's default is kept


def test_drop_switches_are_checked():
    with pytest.raises(InvalidInputError, match="no residual blocks"):
        mobilezoo.create_model("randwire_ws_small", drop_path_rate=0.1)
    with pytest.raises(InvalidInputError, match=r"probability in \[0, 1\)"):
        mobilezoo.create_model("fbnetv2_f1", drop_rate=1.5)
    assert mobilezoo.create_model("randwire_ws_small", drop_path_rate=0.0).drop_rate == 0.0


@pytest.mark.parametrize("output_stride,dilate", [(16, [False, False, True]), (8, [False, True, True])])
@torch.no_grad()
def test_output_stride_dilates_like_torchvision(output_stride, dilate):
    model = mobilezoo.create_model("resnext50_32x4d", output_stride=output_stride).eval()
    reference = torchvision.models.resnext50_32x4d(replace_stride_with_dilation=dilate).eval()
    reference.load_state_dict(model.state_dict())  # the same weights: dilation adds no parameter
    x = torch.randn(1, 3, 64, 64)
    assert torch.allclose(model(x), reference(x), rtol=1e-4, atol=1e-5)
    assert model.forward_features(x).shape[-1] == 64 // output_stride
    assert model.pretrained_cfg.pool_size == (224 // output_stride,) * 2
    assert model.feature_info[-1]["reduction"] == output_stride
    features = mobilezoo.create_model("resnext50_32x4d", output_stride=output_stride, features_only=True)
    assert [f.shape[-1] for f in features(x)][-1] == 64 // output_stride


def test_output_stride_elsewhere_is_a_clear_error():
    shape = mobilezoo.create_model("relgraph_resnet34", output_stride=16).eval().forward_features(torch.randn(1, 3, 64, 64)).shape
    assert shape[-1] == 4
    with pytest.raises(InvalidInputError, match="cannot dilate"):
        mobilezoo.create_model("fbnetv2_f1", output_stride=16)
    with pytest.raises(InvalidInputError, match="8, 16 or 32"):
        mobilezoo.create_model("resnext50_32x4d", output_stride=4)

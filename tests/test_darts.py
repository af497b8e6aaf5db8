"""DARTS-space networks: the published genotypes at the reference's exact sizes, random genotypes, exports."""

from __future__ import annotations

import pytest
import torch

import mobilezoo
from mobilezoo.errors import InvalidInputError
from mobilezoo.models.darts import DARTS_OPS, Genotype, random_genotype
from mobilezoo.models.darts_genotypes import GENOTYPES, PUBLISHED, PUBLISHED_CIFAR
from mobilezoo.profile import profile
from mobilezoo.profile.thop_style import thop_style_macs


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(GENOTYPES))
def test_published_genotypes_have_the_reference_sizes(name):
    model = mobilezoo.create_model(name)
    published = PUBLISHED[name]
    assert _params(model) == published["params"]
    assert round(thop_style_macs(model, (3, 224, 224), conv_fc_only=True) / 1e6, 1) == published["macs_m"]
    if "thop_macs" in published:
        assert thop_style_macs(model, (3, 224, 224)) == published["thop_macs"]
    cifar = mobilezoo.create_model("darts_net", genotype=name, channels=36, layers=20, layout="cifar", num_classes=10)
    assert _params(cifar) == PUBLISHED_CIFAR[name]


def test_auxiliary_head_is_a_training_option_only(tmp_path):
    assert _params(mobilezoo.create_model("darts_v2", auxiliary=True)) == 5_979_528  # + the ImageNet aux head
    cifar = dict(genotype="darts_v2", channels=36, layers=20, layout="cifar", num_classes=10)
    assert _params(mobilezoo.create_model("darts_net", auxiliary=True, **cifar)) - PUBLISHED_CIFAR["darts_v2"] == 476_426
    small = mobilezoo.create_model("darts_net", genotype="darts_v2", channels=8, layers=5, layout="cifar", num_classes=10,
                                   auxiliary=True).train()
    logits, aux = small.forward_with_aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)
    small.eval()
    zeros = torch.zeros(1, 3, 32, 32)
    torch.testing.assert_close(small(zeros), small.forward_with_aux(zeros)[0])  # forward never runs the aux head


def test_conv_fc_count_equals_the_profilers():
    model = mobilezoo.create_model("darts_net", genotype="unnas_imagenet_jig", channels=16, layers=8, num_classes=10)
    counts = profile(model, (3, 96, 96))
    assert thop_style_macs(model, (3, 96, 96), conv_fc_only=True) == counts.by_operator["conv"] + counts.by_operator["linear"]


@pytest.mark.parametrize("seed", range(12))
def test_random_genotypes_build_valid_networks(seed):
    genotype = random_genotype(seed)
    assert genotype == random_genotype(seed)  # deterministic for a seed
    for cell in (genotype.normal, genotype.reduce):
        for index, node in enumerate(cell):
            assert {op for op, _ in node} <= set(DARTS_OPS)
            assert all(0 <= source < index + 2 for _, source in node) and node[0][1] != node[1][1]
    model = mobilezoo.create_model("darts_net", genotype=genotype.to_dict(), channels=8, layers=5, layout="cifar",
                                   num_classes=10).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 28, 28))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    assert model.forward_features(torch.randn(1, 3, 28, 28)).shape[1] == model.num_features


def test_bad_genotypes_are_one_line_errors():
    with pytest.raises(InvalidInputError, match="unknown op 'conv_7x7'"):
        Genotype.coerce({"normal": [[["conv_7x7", 0], ["sep_conv_3x3", 1]]] * 4, "reduce": [[["max_pool_3x3", 0],
                                                                                             ["max_pool_3x3", 1]]] * 4})
    with pytest.raises(InvalidInputError, match="input 3 is not an earlier state"):
        Genotype.parse("s3@3 s3@0 | sk@0 s3@1 | sk@0 s3@1 | s3@0 sk@2", "mp@0 mp@1 | sk@2 mp@0 | mp@0 sk@2 | sk@2 ap@0")
    with pytest.raises(InvalidInputError, match="unknown genotype 'darts_v3'"):
        mobilezoo.create_model("darts_net", genotype="darts_v3")


@pytest.mark.parametrize("fmt", ["onnx", "executorch"])
def test_darts_networks_export_verified(tmp_path, fmt):
    pytest.importorskip("onnxruntime" if fmt == "onnx" else "executorch")
    from mobilezoo.export import export

    model = mobilezoo.create_model("darts_net", genotype="unnas_imagenet_col", channels=8, layers=5, layout="cifar",
                                   num_classes=10, auxiliary=True).eval()
    result = export(model, fmt, tmp_path, input_size=(3, 32, 32), seed=0)
    assert result.checks and all(check["passed"] for check in result.checks)
    if fmt == "onnx":
        import onnx

        shapes = [tuple(t.dims) for t in onnx.load(str(result.path)).graph.initializer]
        assert not any(768 in s for s in shapes)  # the auxiliary head is not in the artifact


def test_channel_padding_leaves_concatenating_cells_alone():
    """ONNX export pads odd channel counts for ONNX Runtime; cells concatenate states, which the padding cannot
    follow: the padded copy is checked against the model and dropped."""
    from mobilezoo.export.channel_padding import needs_padding, pad_channels

    model = mobilezoo.create_model("darts_net", genotype="darts_v2", channels=6, layers=4, layout="cifar",
                                   num_classes=10).eval()
    x = torch.randn(1, 3, 16, 16)
    assert needs_padding(model, 8) and pad_channels(model, 8, x) is model
    chain = mobilezoo.create_model("dmaskingnas_s600k").eval()  # width_divisor 1: odd widths, padded exactly
    padded = pad_channels(chain, 8, x)
    assert padded is not chain and torch.allclose(padded(x), chain(x), rtol=1e-4, atol=1e-5)


def test_profile_command_reports_the_thop_convention(capsys):
    from mobilezoo.cli.main import main

    assert main(["profile", "darts_v2", "--thop"]) == 0
    assert "thop-style MACs:     538.23 M (538,228,992;" in capsys.readouterr().out

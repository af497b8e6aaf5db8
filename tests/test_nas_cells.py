"""NAS-cell design spaces: the reference's sampling distribution, genotypes with none and repeated inputs."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch
from scipy import stats

import mobilezoo
from mobilezoo.designspace.nas_cells import SPACES, get_cell_space, network_params, reference_params
from mobilezoo.models.darts import DartsNetwork, Genotype

# Counted in UnNAS's 500 released sample-based CIFAR-10 DARTS configs (facebookresearch/unnas @ 0ed0dbc,
# configs/sample_based/darts/cifar10/cls/*.yaml): networks holding a none, networks repeating an input within a
# node, and each op's count over their 8,000 edges.
RELEASED = {"networks": 500, "with_none": 410, "repeating_an_input": 486}
RELEASED_OPS = {"sep_conv_5x5": 1549, "sep_conv_3x3": 1345, "dil_conv_5x5": 1099, "dil_conv_3x3": 985,
                "skip_connect": 775, "none": 765, "max_pool_3x3": 750, "avg_pool_3x3": 732}


def _edges(genotype: Genotype):
    return [pair for cell in (genotype.normal, genotype.reduce) for node in cell for pair in node]


def test_the_darts_sampler_matches_the_released_configs_statistics():
    space = SPACES["darts"]
    rng = random.Random(0)
    samples = [space.draw(rng) for _ in range(1500)]
    with_none = sum(any(op == "none" for op, _ in _edges(g)) for g in samples)
    repeating = sum(any(a[1] == b[1] for cell in (g.normal, g.reduce) for a, b in cell) for g in samples)
    for ours, released in ((with_none, RELEASED["with_none"]), (repeating, RELEASED["repeating_an_input"])):
        table = [[ours, len(samples) - ours], [released, RELEASED["networks"] - released]]
        assert stats.fisher_exact(table).pvalue > 0.01, (ours, released)  # same proportion as the released configs
    ops = Counter(op for g in samples for op, _ in _edges(g))
    names = sorted(RELEASED_OPS)
    chi2 = stats.chi2_contingency([[ops[n] for n in names], [RELEASED_OPS[n] for n in names]])
    assert chi2.pvalue > 0.01  # the same op distribution (unfiltered uniform draws: p ~ 1e-100)
    uniform = Counter(op for _ in range(1500) for op, _ in _edges(space.draw_unfiltered(rng)))
    assert stats.chi2_contingency([[uniform[n] for n in names], [RELEASED_OPS[n] for n in names]]).pvalue < 1e-6
    assert all(space.params_band[0] <= reference_params(g) <= space.params_band[1] for g in samples[:50])


def test_parameter_counts_without_building_equal_the_built_networks():
    rng = random.Random(1)
    for space in SPACES.values():
        for _ in range(3):
            genotype = space.draw_unfiltered(rng)
            built = DartsNetwork(genotype, 8, 5, "cifar", 10)
            assert network_params(genotype, 8, 5) == sum(p.numel() for p in built.parameters())


def test_enas_cells_output_their_loose_ends_and_build():
    genotype = get_cell_space("enas").draw_unfiltered(random.Random(3))
    for cell, concat in ((genotype.normal, genotype.normal_concat), (genotype.reduce, genotype.reduce_concat)):
        used = {source for node in cell for _, source in node}
        assert len(cell) == 5 and list(concat) == [s for s in range(2, 7) if s not in used] and 6 in concat
    model = mobilezoo.create_model("darts_net", genotype=genotype.to_dict(), channels=8, layers=5, layout="cifar",
                                   num_classes=10).eval()
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    with pytest.raises(mobilezoo.errors.InvalidInputError, match="spaces: darts, enas"):
        get_cell_space("nasnet")


def test_a_none_edge_contributes_nothing_and_inputs_may_repeat():
    cut = Genotype.parse("no@0 s3@1 | sk@1 sk@1 | s3@2 s3@2 | s3@3 d5@3", "mp@0 no@1 | no@2 sk@0 | s5@3 s5@3 | no@4 ap@1")
    kept = Genotype.parse("mp@0 s3@1 | sk@1 sk@1 | s3@2 s3@2 | s3@3 d5@3", "mp@0 no@1 | no@2 sk@0 | s5@3 s5@3 | no@4 ap@1")
    torch.manual_seed(0)
    model = DartsNetwork(cut, 8, 3, "cifar", 10).eval()
    x = torch.randn(2, 3, 16, 16)
    cell = model.cells[0]
    states = [cell.preprocess0(model.stem0(x)), cell.preprocess1(model.stem0(x))]
    assert torch.equal(cell.ops[0](states[0]), torch.zeros_like(states[0]))  # none: zeros of the edge's shape
    assert DartsNetwork(kept, 8, 3, "cifar", 10).cells[0].ops[0].__class__.__name__ == "MaxPool2d"
    assert Genotype.coerce(cut.to_dict()) == cut  # round trip with none and repeated inputs
    assert model(x).shape == (2, 10)

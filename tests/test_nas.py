"""DMaskingNAS (issue 14): masking equals the padded per-option sum, the resolution branch is exact, the cost is
exact for one-hot choices and differentiable otherwise, a short search runs end to end and resumes."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

import mobilezoo
from mobilezoo.errors import InvalidInputError
from mobilezoo.nas.cost import mac_tables
from mobilezoo.nas.derive import derive_definition, write_definition
from mobilezoo.nas.latency_table import LatencyLookupError, LatencyTable
from mobilezoo.nas.lut_tables import latency_tables, space_blocks
from mobilezoo.nas.space import SearchSpace, SearchSpaceError
from mobilezoo.nas.supernet import MaskedIR, MaskedSupernet, prefix_masks, subsample, zero_interleave

from .conftest import REPO_ROOT
from .test_train import needs_fmnist

SPACE = f"{REPO_ROOT}/configs/search/fmnist_small.yaml"


def _randomize_bn(module: nn.Module, seed: int = 0) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
    return module.eval()


def _narrow(big: MaskedIR, op: str, c_in: int, mid: int, out: int, stride: int) -> MaskedIR:
    """A block with ``mid`` / ``out`` channels whose weights are the first filters of ``big`` (shared weights)."""
    small = MaskedIR(op, c_in, mid, out, stride, has_pw=True)
    state = {}
    for key, value in big.state_dict().items():
        target = small.state_dict()[key]
        state[key] = value[tuple(slice(0, s) for s in target.shape)] if value.dim() else value
    small.load_state_dict(state)
    return small.eval()


def _pad(x: torch.Tensor, channels: int) -> torch.Tensor:
    return nn.functional.pad(x, (0, 0, 0, 0, 0, channels - x.shape[1]))


@pytest.mark.parametrize("op", ["ir_k3", "ir_k5_hs"])
def test_channel_masking_equals_the_padded_sum_of_options(op):
    torch.manual_seed(0)
    outs, mids = (8, 12, 16), (8, 16, 24)
    big = _randomize_bn(MaskedIR(op, 8, max(mids), max(outs), 1, has_pw=True))
    x = torch.randn(2, 8, 6, 6)
    ones_mid, ones_sq = torch.ones(max(mids)), torch.ones(1)
    g = torch.softmax(torch.randn(3), 0)
    with torch.no_grad():
        # output widths: eq. 3 (one map, mask M = sum g_i 1_i) against eq. 1 (each option run, padded, summed)
        masked = big(x, ones_mid, ones_sq, g @ prefix_masks(outs, max(outs)))
        padded = sum(w * _pad(_narrow(big, op, 8, max(mids), c, 1)(x, ones_mid, ones_sq, torch.ones(c)), max(outs))
                     for w, c in zip(g, outs))
        assert torch.allclose(masked, padded, atol=1e-6)
        # expansion (mid) widths, masked after the depthwise conv
        masked = big(x, g @ prefix_masks(mids, max(mids)), ones_sq, torch.ones(max(outs)))
        summed = sum(w * _narrow(big, op, 8, m, max(outs), 1)(x, torch.ones(m), ones_sq, torch.ones(max(outs)))
                     for w, m in zip(g, mids))
        assert torch.allclose(masked, summed, atol=1e-6)


def test_squeeze_excite_mid_mask_equals_the_narrow_block_for_each_option():
    from mobilezoo.nas.supernet import squeeze_width

    torch.manual_seed(1)
    mids = (8, 16, 24)
    big = _randomize_bn(MaskedIR("ir_k3_sehsig", 8, 24, 16, 2, has_pw=True))
    x = torch.randn(2, 8, 8, 8)
    with torch.no_grad():
        for i, m in enumerate(mids):
            one_hot = nn.functional.one_hot(torch.tensor(i), 3).float()
            squeeze = prefix_masks(tuple(squeeze_width(v) for v in mids), squeeze_width(24))
            masked = big(x, one_hot @ prefix_masks(mids, 24), one_hot @ squeeze, torch.ones(16))
            small = _narrow(big, "ir_k3_sehsig", 8, m, 16, 2)
            assert torch.allclose(masked, small(x, torch.ones(m), torch.ones(squeeze_width(m)), torch.ones(16)), atol=1e-6)


def test_resolution_branch_is_subsample_run_interleave_exactly():
    torch.manual_seed(2)
    op = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.ReLU())
    x = torch.randn(1, 3, 16, 16)
    small = op(x[..., ::2, ::2])
    expected = torch.zeros(1, 4, 8, 8)
    for i in range(4):
        for j in range(4):
            expected[..., 2 * i, 2 * j] = small[..., i, j]
    assert torch.equal(zero_interleave(op(subsample(x, 2)), 2), expected)
    # in the supernet, a one-hot resolution runs the network on the subsampled input: pooling the interleaved map
    # (scaled by f^2) gives the small map's mean, so the logits are those of the network at the small size
    space = SearchSpace.from_file(SPACE)
    net = _randomize_bn(MaskedSupernet(space))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        g = {k: nn.functional.one_hot(v.argmax(), v.numel()).float() for k, v in net.gumbel_weights(1.0).items()}
        g["res"] = nn.functional.one_hot(torch.tensor(space.resolutions.index(16)), 2).float()
        f = 32 // 16
        small_map = net.spatial(subsample(x, f), g)
        direct = torch.flatten(net.classifier(net.head_pwl(net.pool(small_map))), 1)
        assert torch.allclose(net(x, g), direct, atol=1e-5)


def test_one_hot_cost_is_the_derived_networks_fvcore_macs_and_soft_cost_has_gradients(tmp_path):
    from mobilezoo.profile import profile

    space = SearchSpace.from_file(SPACE)
    tables = mac_tables(space)
    rng = random.Random(0)
    for trial in range(3):
        choice = {v: rng.randrange(n) for v, n in space.variables().items()}
        definition = derive_definition(space, choice, f"net{trial}")
        path = write_definition(definition, tmp_path / f"net{trial}.yaml")
        model = mobilezoo.create_model(str(path), num_classes=10)
        size = definition["input_size"]
        assert tables.exact(choice) == profile(model, input_size=(3, size, size)).macs_without_bn, choice
    net = MaskedSupernet(space)
    cost = tables.expected({k: v.double() for k, v in net.gumbel_weights(5.0).items()})
    cost.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.arch_parameters())
    assert tables.minimum() <= min(tables.exact({v: rng.randrange(n) for v, n in space.variables().items()})
                                   for _ in range(50))


def test_malformed_spaces_and_budgets_are_one_line_errors(tmp_path):
    import yaml

    data = yaml.safe_load(open(SPACE))
    data["stages"][1]["expansions"] = []
    with pytest.raises(SearchSpaceError, match=r"stage 1: expansions: the option list is empty"):
        SearchSpace.from_dict(data, "space.yaml")
    data = yaml.safe_load(open(SPACE))
    data["stages"][2]["opz"] = ["ir_k3"]
    with pytest.raises(SearchSpaceError, match=r"stage 2: unknown field 'opz'"):
        SearchSpace.from_dict(data, "space.yaml")
    from mobilezoo.nas.search import DMaskingSearch, SearchConfig

    with pytest.raises(InvalidInputError, match=r"target 0.01 MFLOPs is below the smallest network of space 'fmnist_small'"):
        DMaskingSearch(SearchConfig(space=SPACE, target=1e4), tmp_path / "s")
    table = LatencyTable(overhead_ms=0.01, entries={})
    with pytest.raises(LatencyLookupError, match=r"no entry for block xif1_0 \(ir_k3\|in16x8x8\|out8"):
        latency_tables(SearchSpace.from_file(SPACE), table)


def test_latency_cost_of_a_derived_network_equals_the_tables_prediction(tmp_path):
    """Fill a table with made-up entries for every block of a tiny space: the one-hot latency cost must equal
    what `mobilezoo latency` predicts for the derived network."""
    from mobilezoo.nas.latency_table import Calibration, fbnet_blocks

    space = SearchSpace.from_dict({
        "name": "tiny", "resolutions": [16, 8], "stem": {"op": "conv_k3_hs", "channels": 8, "stride": 2},
        "stages": [{"channels": [8, 16], "expansions": [1, 2], "blocks": 2, "stride": 2, "ops": ["ir_k3", "skip"]}],
        "head": {"op": "ir_pool_hs", "channels": 32, "expansion": 2}})
    blocks = list(space_blocks(space))
    # every third block measured under the call overhead (timing noise): it costs 0 in both paths, never less
    table = LatencyTable(overhead_ms=0.05, entries={b.key: 0.05 + 0.001 * (n + 1) - 0.02 * (n % 3 == 0)
                                                    for n, b in enumerate(blocks)},
                         calibration=Calibration(scale=1.08, shift_ms=-0.0007, networks=8))  # the search sees it too
    rng = random.Random(3)
    choices = [{v: rng.randrange(n) for v, n in space.variables().items()} for _ in range(6)]
    sums = []
    for trial, choice in enumerate(choices):
        definition = derive_definition(space, choice, "t")
        model = mobilezoo.create_model(str(write_definition(definition, tmp_path / f"t{trial}.yaml")), num_classes=10)
        size = definition["input_size"]
        sums.append((choice, fbnet_blocks(model, (3, size, size))))
    # a calibration with a large negative shift, fitted on networks bigger than half of these: the fade matters
    middle = sorted(table.block_sum(b) for _, b in sums)[3]
    for calibration in (Calibration(scale=1.08, shift_ms=-0.0007, networks=8),
                        Calibration(scale=1.2, shift_ms=-0.004, networks=8, min_block_sum_ms=middle)):
        table.calibration = calibration
        tables = latency_tables(space, table)
        for choice, built in sums:
            predicted = table.predict(built)
            assert tables.exact(choice) == pytest.approx(predicted, abs=1e-12) and predicted > 0
            one_hot = {v: torch.nn.functional.one_hot(torch.tensor(i), n).double()
                       for (v, n), i in zip(space.variables().items(), (choice[v] for v in space.variables()))}
            assert float(tables.expected(one_hot)) == pytest.approx(predicted, abs=1e-12)
        assert tables.minimum() <= min(tables.exact(c) for c, _ in sums)


@pytest.mark.slow  # end-to-end, ~30-80 s: in CI (tests/run.sh), not in a plain pytest
@needs_fmnist
def test_a_short_search_runs_end_to_end_and_resumes_exactly(tmp_path):
    from mobilezoo.export import export
    from mobilezoo.nas.search import DMaskingSearch, SearchConfig

    config = SearchConfig(space=SPACE, target=2e6, epochs=2, warmup_epochs=1, batch_size=32, limit_train=320,
                          seed=0, threads=2)
    whole = DMaskingSearch(config, tmp_path / "whole")
    path = whole.run(show_progress=False)
    log = [__import__("json").loads(line) for line in (tmp_path / "whole" / "search_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and log[0]["arch_loss"] is None and log[1]["arch_loss"] > 0
    assert log[1]["temperature"] == pytest.approx(5.0 * 2.718281828459045 ** -0.045)
    assert (tmp_path / "whole" / "probabilities.png").stat().st_size > 1000
    part = DMaskingSearch(config, tmp_path / "part")
    assert part.run(stop_after=1, show_progress=False) is None
    resumed = DMaskingSearch(config, tmp_path / "part")
    resumed.run(resume=True, show_progress=False)
    for var in whole.net.arch:
        assert torch.equal(whole.net.arch[var], resumed.net.arch[var]), var
    model = mobilezoo.create_model(str(path), num_classes=10)
    size = model.pretrained_cfg.input_size[-1]
    result = export(model, "onnx", tmp_path / "export", input_size=(3, size, size), seed=0)
    assert result.checks and all(check["passed"] for check in result.checks)


def test_build_lut_measures_every_block_a_latency_search_needs(tmp_path):
    """`--build-lut` over a tiny space in ONNX Runtime: afterwards the latency cost has every entry it reads."""
    pytest.importorskip("onnxruntime")
    import yaml

    from mobilezoo.nas.lut_tables import measure_space

    tiny = {"name": "tiny", "resolutions": [16, 8], "stem": {"op": "conv_k3_hs", "channels": 8, "stride": 2},
            "stages": [{"channels": [8, 16], "expansions": [1], "blocks": 2, "stride": 2, "ops": ["ir_k3", "skip"]}],
            "head": {"op": "ir_pool_hs", "channels": 16, "expansion": 2}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    lut = tmp_path / "lut.json"
    measure_space(SearchSpace.from_file(tmp_path / "tiny.yaml"), lut)
    table = LatencyTable.load(lut)
    space = SearchSpace.from_file(tmp_path / "tiny.yaml")
    assert table.runtime == "onnxruntime" and len(table.entries) == len(list(space_blocks(space)))
    cost = latency_tables(space, table).exact({v: 0 for v in space.variables()})
    assert 0 < cost < 10  # ms, for a network of a few thousand MACs


def test_many_network_costs_equal_one_at_a_time():
    space = SearchSpace.from_file(SPACE)
    tables = mac_tables(space)
    generator = torch.Generator().manual_seed(0)
    choices = {var: torch.randint(n, (50,), generator=generator) for var, n in space.variables().items()}
    many = tables.exact_many(choices)
    one = [tables.exact({var: int(choices[var][k]) for var in choices}) for k in range(50)]
    assert many.tolist() == pytest.approx(one, rel=1e-12)


def test_budget_derivation_returns_the_most_probable_network_that_spends_the_budget():
    """A distribution that favours the smallest option everywhere: its argmax is far under the budget; the
    derivation must return the most probable network in [0.9, 1] x budget, checked against brute force over the
    same candidates, and prefer the argmax whenever the argmax itself is in the band."""
    from mobilezoo.nas.budget_derivation import derive_within_budget

    space = SearchSpace.from_file(SPACE)
    tables = mac_tables(space)
    probabilities = {var: torch.softmax(-torch.arange(n, dtype=torch.float64) * 0.7, 0)
                     for var, n in space.variables().items()}  # option 0 (small) most probable
    argmax = {var: 0 for var in probabilities}
    budget = 3 * tables.exact(argmax)
    result = derive_within_budget(probabilities, tables, budget, band=0.9, samples=4000, seed=1)
    assert result.rule == "in band" and 0.9 * budget <= result.cost <= budget and result.in_band > 0
    assert result.cost == pytest.approx(tables.exact(result.choice)) and result.argmax == argmax
    log_p = lambda choice: sum(float(torch.log(probabilities[v][i])) for v, i in choice.items())  # noqa: E731
    assert result.log_probability == pytest.approx(log_p(result.choice))
    # brute force over every network one step from the result: none in the band is more probable
    for var, n in space.variables().items():
        for option in range(n):
            other = {**result.choice, var: option}
            if 0.9 * budget <= tables.exact(other) <= budget:
                assert log_p(other) <= result.log_probability + 1e-9
    again = derive_within_budget(probabilities, tables, budget, band=0.9, samples=4000, seed=1)
    assert again == result  # seeded
    at_argmax = derive_within_budget(probabilities, tables, tables.exact(argmax), band=0.5, samples=500, seed=0)
    assert at_argmax.choice == argmax  # the most probable network of all is in its own band
    with pytest.raises(InvalidInputError, match="no drawn network is within the budget"):
        derive_within_budget(probabilities, tables, tables.minimum() * 0.5)


def test_single_path_training_draws_one_hot_networks_uniformly():
    net = MaskedSupernet(SearchSpace.from_file(SPACE))
    generator = torch.Generator().manual_seed(0)
    counts = {var: torch.zeros(len(theta)) for var, theta in net.arch.items()}
    for _ in range(600):
        path = net.uniform_path(generator)
        for var in counts:
            assert path[var].sum() == 1 and set(path[var].tolist()) <= {0.0, 1.0}
            counts[var] += path[var]
    for var, seen in counts.items():  # each option about 600 / n times (a loose band: 5 standard deviations)
        n = len(seen)
        expected, spread = 600 / n, (600 * (1 / n) * (1 - 1 / n)) ** 0.5
        assert all(abs(c - expected) <= 5 * spread for c in seen.tolist()), (var, seen)
    assert all(bool((theta == 0).all()) for theta in net.arch.values())  # no architecture parameter moved


def test_a_search_runs_on_the_data_a_provider_gives(tmp_path, capsys):
    """DMaskingSearch takes its data from a provider (Fashion-MNIST by default): here 160 synthetic images at the
    space's full resolution; with show_progress=False it prints nothing."""
    from mobilezoo.nas.search import DMaskingSearch, SearchConfig

    asked = []

    def synthetic(config, space):
        asked.append(space.full_resolution)
        generator = torch.Generator().manual_seed(0)
        size = space.full_resolution
        images = torch.randn(160, 3, size, size, generator=generator)
        return torch.utils.data.TensorDataset(images, torch.randint(0, 10, (160,), generator=generator))

    config = SearchConfig(space=SPACE, target=2e6, epochs=1, warmup_epochs=0, batch_size=32, limit_train=160, seed=0)
    search = DMaskingSearch(config, tmp_path / "s", data=synthetic)
    assert (len(search.weight_set), len(search.arch_set)) == (128, 32) and asked
    search.run(show_progress=False)
    assert capsys.readouterr().out == ""
    log = (tmp_path / "s" / "search_log.jsonl").read_text().splitlines()
    assert len(log) == 1 and "arch_ce" in log[0]

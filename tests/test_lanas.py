"""LaNAS, random search and regularized evolution on spaces with known answers; the NAS-Bench-201 table."""

from __future__ import annotations

import os
import pickle
import random
import statistics

import numpy as np
import pytest

from mobilezoo.errors import InvalidInputError
from mobilezoo.nas import tabular
from mobilezoo.nas.discrete_space import CategoricalSpace
from mobilezoo.nas.lanas import LaNAS, TreeNode, select_child
from mobilezoo.nas.searchers import RandomSearch, RegularizedEvolution, run_search
from mobilezoo.nas.tabular import synthetic_table, tabular_benchmark

from .test_train import needs_fmnist

ALGORITHMS = {"random": (RandomSearch, {}), "evolution": (RegularizedEvolution, {}),
              "lanas": (LaNAS, {"height": 3, "batch": 10})}


def test_encoding_sampling_and_mutation():
    space = CategoricalSpace("s", ("a", "b", "c"), (2, 3, 4))
    x = space.encode([(1, 2, 0), (0, 0, 3)])
    assert x.tolist() == [[0, 1, 0, 0, 1, 1, 0, 0, 0], [1, 0, 1, 0, 0, 0, 0, 0, 1]]
    rng = random.Random(0)
    for _ in range(200):
        arch = space.sample(rng)
        child = space.mutate(arch, rng)
        assert sum(a != b for a, b in zip(arch, child)) == 1  # exactly one variable, to a different option
    assert len(set(space.enumerate())) == 24


def test_first_split_routes_by_true_score_and_linear_prediction():
    bench = synthetic_table(variables=5, options=3, seed=1)  # score is exactly linear in the one-hot encoding
    lanas = LaNAS(bench.space, seed=0, height=3, init_samples=40, ridge=1e-9)
    run_search(lanas, bench.score, 40)
    lanas.build_tree()
    root = lanas.nodes[0]
    good, bad = lanas.children(root)
    scores = [e.score for e in lanas.history]
    assert root.split and sorted(good.members + bad.members) == list(range(40))
    assert good.members and bad.members
    assert all(scores[i] >= root.threshold for i in good.members)
    assert all(scores[i] < root.threshold for i in bad.members)
    # the threshold is the mean prediction, and a linear score is learned exactly: every architecture of the
    # space whose true score is above the threshold is routed to the good child by prediction
    archs = list(bench.space.enumerate())
    routed_good = root.goes_good(bench.space.encode(archs))
    true = np.array([bench.score(a) for a in archs])
    assert np.all(routed_good[true > root.threshold + 1e-6]) and not np.any(routed_good[true < root.threshold - 1e-6])


def test_ucb_picks_an_unvisited_child_first_and_breaks_ties_at_random():
    visited, unvisited = TreeNode(1, 1, n=5, mean=100.0), TreeNode(2, 1, n=0)
    for seed in range(10):
        assert select_child([visited, unvisited], 5, 0.1, random.Random(seed)) is unvisited
    twins = [TreeNode(1, 1, n=3, mean=0.5), TreeNode(2, 1, n=3, mean=0.5)]
    picks = {select_child(twins, 6, 0.1, random.Random(seed)).index for seed in range(20)}
    assert picks == {1, 2}
    better = [TreeNode(1, 1, n=3, mean=0.9), TreeNode(2, 1, n=3, mean=0.5)]
    assert select_child(better, 6, 0.1, random.Random(0)).index == 1


@pytest.mark.parametrize("name", ALGORITHMS)
def test_deterministic_never_repeats_and_stops_at_budget(name):
    bench = synthetic_table(variables=4, options=3, seed=2)  # 81 architectures
    cls, settings = ALGORITHMS[name]
    first = run_search(cls(bench.space, 7, **settings), bench.score, 50)
    again = run_search(cls(bench.space, 7, **settings), bench.score, 50)
    assert [e.arch for e in first.history] == [e.arch for e in again.history]
    assert len(first.history) == 50  # stops at its evaluation budget
    everything = run_search(cls(bench.space, 3, **settings), bench.score, 1000)
    archs = [e.arch for e in everything.history]
    assert len(archs) == len(set(archs)) == 81  # never twice; stops when the table is used up
    assert cls(bench.space, 0, **settings).ask() is not None


def test_lanas_finds_a_planted_optimum_faster_than_random_expectation():
    bench = synthetic_table(variables=4, options=4, seed=0)  # 256 architectures, one optimum
    assert len(bench.optima) == 1
    needed = [run_search(LaNAS(bench.space, seed, height=3, batch=10), bench.score, 256,
                         stop_at=bench.best_score).evaluations_to_reach(bench.best_score) for seed in range(8)]
    random_expectation = (bench.space.size + 1) / 2  # without replacement: (N + 1) / 2
    assert statistics.median(needed) < random_expectation / 2, needed


def test_evolution_population_is_bounded_and_ages():
    bench = synthetic_table(variables=4, options=3, seed=3)
    evolution = RegularizedEvolution(bench.space, seed=0, population_size=6, sample_size=3)
    for _ in range(40):
        arch = evolution.ask()
        evolution.tell(arch, bench.score(arch))
        assert len(evolution.population) <= 6
        # aging: the population is always the most recent members, the oldest discarded whatever its score
        assert list(evolution.population) == evolution.history[-6:]


def test_feasibility_is_respected():
    bench = synthetic_table(variables=3, options=4, seed=0)
    space = CategoricalSpace("budget", bench.space.names, bench.space.sizes, feasible=lambda a: sum(a) <= 4)
    for cls, settings in ALGORITHMS.values():
        result = run_search(cls(space, 0, **settings), bench.score, 64)
        assert all(sum(e.arch) <= 4 for e in result.history)
        assert len(result.history) == sum(1 for a in space.enumerate() if sum(a) <= 4)


def test_bad_input_is_a_one_line_error():
    bench = synthetic_table()
    with pytest.raises(InvalidInputError, match="evaluation budget must be a whole number >= 1"):
        run_search(RandomSearch(bench.space), bench.score, 0)
    with pytest.raises(InvalidInputError, match="unknown tabular space 'nasbench101'; known: nasbench201"):
        tabular_benchmark("nasbench101")
    with pytest.raises(InvalidInputError, match="height >= 1"):
        LaNAS(bench.space, height=0)


def test_nasbench201_table():
    pytest.importorskip("pandas")
    try:
        bench = tabular.load_nasbench201()
    except Exception as exc:  # the optional extra is part of the test install; say so if it is missing
        pytest.fail(f"analog-nasbench not loadable: {exc}")
    assert bench.space.size == len(bench.scores) == 15_625
    assert bench.optima == [(2, 2, 0, 2, 3, 2)] and bench.best_score == pytest.approx(0.940664)
    # index 1 is 'none' in this table: a cell of only that op disconnects the output (chance, 10%)
    assert bench.score((1,) * 6) == pytest.approx(0.10)


def test_benchmark_file_cannot_run_code(tmp_path, monkeypatch):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "data.anb"
    evil.write_bytes(pickle.dumps({(0,) * 6: Payload()}))
    monkeypatch.setattr(tabular, "_analog_nasbench_file", lambda: str(evil))
    with pytest.raises(InvalidInputError, match="not a readable analog-nasbench table"):
        tabular.load_nasbench201()
    assert not marker.exists()


TINY = {"name": "tiny", "resolutions": [16, 8], "stem": {"op": "conv_k3_hs", "channels": 8, "stride": 2},
        "stages": [{"channels": [8, 16], "expansions": [1, 2], "blocks": 2, "stride": 2, "ops": ["ir_k3", "ir_k5", "skip"]}],
        "head": {"op": "ir_pool_hs", "channels": 16, "expansion": 2}}


@needs_fmnist
def test_lanas_on_a_search_space_under_a_latency_budget(tmp_path):
    """Tiny space: a 1-epoch single-path supernet, an ONNX Runtime table; LaNAS keeps every network within the budget,
    the one-shot score is that of the network the choice builds, and the best is a definition the zoo builds."""
    pytest.importorskip("onnxruntime")
    import json

    import torch
    import yaml

    import mobilezoo
    from mobilezoo.cli.main import main
    from mobilezoo.nas.latency_table import LatencyTable
    from mobilezoo.nas.lut_tables import latency_tables, measure_space, space_blocks
    from mobilezoo.nas.oneshot import OneShotEvaluator, budget_space, choice_of, one_hot
    from mobilezoo.nas.space import SearchSpace

    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    space = SearchSpace.from_file(tmp_path / "tiny.yaml")
    lut = tmp_path / "lut.json"
    measure_space(space, lut)
    latency = latency_tables(space, LatencyTable.load(lut))
    names = tuple(space.variables())
    all_ms = sorted(latency.exact(dict(zip(names, a))) for a in budget_space(space, latency, 1e9).enumerate())
    with pytest.raises(InvalidInputError, match="below the fastest network of space 'tiny'"):
        budget_space(space, latency, all_ms[0] - 1.0)  # a tiny space's prediction can be near 0 ms: subtract, not halve
    budget = all_ms[len(all_ms) // 2]  # about half the space is feasible
    # the supernet trained single-path, as one-shot LaNAS trains it (issue 29)
    assert main(["search", "supernet", "--config", str(tmp_path / "tiny.yaml"), "--epochs", "1", "--batch-size", "32",
                 "--limit-train", "192", "--threads", "1", "--out", str(tmp_path / "supernet")]) == 0
    state = torch.load(tmp_path / "supernet" / "search.pt", weights_only=True)
    assert json.loads(state["config"])["sampling"] == "uniform"
    assert all(bool((theta == 0).all()) for key, theta in state["net"].items() if key.startswith("arch."))
    out = tmp_path / "lanas"
    assert main(["search", "lanas", "--space", str(tmp_path / "tiny.yaml"), "--supernet",
                 str(tmp_path / "supernet" / "search.pt"), "--lut", str(lut), "--budget-ms", str(budget),
                 "--evaluations", "6", "--eval-images", "64", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and len({tuple(r["arch"]) for r in rows}) == 6
    assert all(r["latency_ms"] <= budget + 5e-6 for r in rows)  # the history rounds to 5 decimals (up, at times)
    best = max(rows, key=lambda r: r["score"])
    model = mobilezoo.create_model(str(out / "best.yaml"))
    assert model.pretrained_cfg.input_size[-1] == space.resolutions[best["arch"][0]]
    assert yaml.safe_load((out / "best.yaml").read_text())["num_classes"] == 10 == model.num_classes
    # the one-shot forward of a one-hot choice is the supernet restricted to that network: its MACs-exact cost
    # and its score are reproducible, and (below) a choice outside the budget is rejected by the space
    evaluator = OneShotEvaluator.from_search(tmp_path / "supernet" / "search.pt", space, calibration_images=64, eval_images=64)
    assert evaluator(space, tuple(best["arch"])) == evaluator(space, tuple(best["arch"]))
    assert set(one_hot(space, tuple(best["arch"]))) == set(names)
    # matched latency: only networks that spend the budget (a band from the median of those within it). On an
    # invented table with distinct shares: a measured table of this tiny space ties most networks at one latency
    # (its blocks' shares are near 0 and clamp there), which leaves no band to test.
    keys = [block.key for block in space_blocks(space)]
    (tmp_path / "invented.json").write_text(json.dumps({
        "runtime": "onnxruntime", "threads": 1, "host_cpu": "", "overhead_ms": 0.01,
        "entries": {key: 0.01 + 0.001 * (i + 1) for i, key in enumerate(keys)}}))
    invented = latency_tables(space, LatencyTable.load(tmp_path / "invented.json"))
    every = list(budget_space(space, invented, 1e9).enumerate())
    invented_ms = sorted(invented.exact(choice_of(space, a)) for a in every)
    budget = invented_ms[len(invented_ms) // 2]
    over = [a for a in every if invented.exact(choice_of(space, a)) > budget]
    assert over and not budget_space(space, invented, budget).is_feasible(over[0])
    within = [ms for ms in invented_ms if ms <= budget]
    band = within[len(within) // 2] / budget
    banded = budget_space(space, invented, budget, band=band)
    kept = [a for a in every if banded.is_feasible(a)]
    assert kept and all(band * budget <= invented.exact(choice_of(space, a)) <= budget for a in kept)
    assert len(within) // 3 < len(kept) < len(within)
    assert torch.is_grad_enabled()


@needs_fmnist
def test_a_space_search_killed_midway_resumes_to_the_uninterrupted_result(tmp_path, capsys):
    """Issue 28: `search lanas --resume` replays the evaluation log (seeded searcher, recorded scores), so a search
    cut short, even mid-line, continues to exactly what one uninterrupted run finds."""
    import json

    import yaml

    from mobilezoo.cli.main import main
    from mobilezoo.nas.lut_tables import space_blocks
    from mobilezoo.nas.search import DMaskingSearch, SearchConfig
    from mobilezoo.nas.space import SearchSpace

    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(yaml.safe_dump(TINY))
    lut = tmp_path / "lut.json"  # invented, valid latencies: this test is about the log, not the table
    keys = [block.key for block in space_blocks(SearchSpace.from_file(space_file))]
    lut.write_text(json.dumps({"runtime": "onnxruntime", "threads": 1, "host_cpu": "", "overhead_ms": 0.01,
                               "entries": {key: 0.01 + 0.001 * (1 + i % 7) for i, key in enumerate(keys)}}))
    config = SearchConfig(space=str(space_file), target=1e9, epochs=1, warmup_epochs=0, batch_size=32,
                          limit_train=192, seed=0, threads=1)
    DMaskingSearch(config, tmp_path / "supernet").run(show_progress=False)

    def search(out, evaluations, *extra):
        return main(["search", "lanas", "--space", str(space_file), "--supernet", str(tmp_path / "supernet" / "search.pt"),
                     "--lut", str(lut), "--budget-ms", "1", "--evaluations", str(evaluations), "--eval-images", "64",
                     "--out", str(out), *extra])

    assert search(tmp_path / "whole", 8) == 0
    assert search(tmp_path / "cut", 5) == 0
    log = tmp_path / "cut" / "evaluations.jsonl"
    text = log.read_text()
    log.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])  # a kill in the middle of the 5th line
    capsys.readouterr()
    assert search(tmp_path / "cut", 8) == 2  # without --resume the log is not overwritten
    assert "--resume continues it" in capsys.readouterr().err
    assert search(tmp_path / "cut", 8, "--resume", "--seed", "1") == 2  # another search is refused, not mixed in
    assert "seed=0" in capsys.readouterr().err
    assert search(tmp_path / "cut", 8, "--resume") == 0
    whole = (tmp_path / "whole" / "history.jsonl").read_text()
    assert (tmp_path / "cut" / "history.jsonl").read_text() == whole and len(whole.splitlines()) == 8
    definition = [[line for line in (tmp_path / out / "best.yaml").read_text().splitlines() if not line.startswith("#")]
                  for out in ("cut", "whole")]
    assert definition[0] == definition[1]  # the comment differs only in the wall time

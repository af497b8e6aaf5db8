"""Benchmark harness: statistics on a fake clock, records, thread settings, latency-table arithmetic."""

from __future__ import annotations

import json

import pytest
import torch

import mobilezoo
from mobilezoo.bench import LatencyStats, measure
from mobilezoo.nas.latency_table import Block, LatencyLookupError, LatencyTable, fbnet_blocks, prediction_quality, spearman
from mobilezoo.bench.runtimes import RECORD_KEYS, benchmark


def test_statistics_on_known_samples():
    stats = LatencyStats.from_samples([5, 1, 3, 2, 4])
    assert (stats.min_ms, stats.max_ms, stats.mean_ms, stats.p50_ms) == (1, 5, 3, 3)
    assert stats.p90_ms == pytest.approx(4.6) and stats.p99_ms == pytest.approx(4.96)
    assert stats.std_ms == pytest.approx(2**0.5)


def test_measure_with_a_fake_clock():
    ticks = iter(range(0, 1000, 2))  # every clock read advances 2 ms worth of ticks (seconds * 1e-3)
    calls = []
    stats = measure(lambda: calls.append(1), warmup=3, iters=5, clock=lambda: next(ticks) / 1e3)
    assert len(calls) == 8 and stats.iters == 5
    assert stats.mean_ms == pytest.approx(2.0) and stats.p99_ms == pytest.approx(2.0)


def test_interleaved_measurement_keeps_each_networks_quietest_round():
    from mobilezoo.bench.block_timing import measure_interleaved

    now = [0.0]
    calls: list[str] = []
    burst_until = [0.0]

    def runner(name: str, cost_ms: float):
        def run():
            calls.append(name)
            slow = 3.0 if now[0] < burst_until[0] else 1.0  # a shared machine: everything 3x slower for a while
            now[0] += cost_ms * slow / 1e3
        return run

    runs = {"a": runner("a", 1.0), "b": runner("b", 2.0)}
    burst_until[0] = 0.12  # seconds: warm-up, both first rounds and part of a's second are slowed; pass 3 is quiet
    measured = measure_interleaved(runs, passes=3, warmup=2, iters=10, clock=lambda: now[0])
    assert measured == pytest.approx({"a": 1.0, "b": 2.0})
    assert calls[:4] == ["a", "a", "b", "b"]  # warm-up, then pass-major: one round of each network in turn
    assert calls[4:44] == ["a"] * 10 + ["b"] * 10 + ["a"] * 10 + ["b"] * 10
    assert len(calls) == 4 + 3 * 20
    with pytest.raises(mobilezoo.errors.InvalidInputError, match="passes"):
        measure_interleaved(runs, passes=0)


def test_record_schema_and_torch_threads():
    model = mobilezoo.create_model("fbnetv2_f1", num_classes=4).eval()
    before = torch.get_num_threads()
    try:
        record = benchmark(model, "eager", (3, 32, 32), threads=1, warmup=1, iters=3, name="tiny")
        assert torch.get_num_threads() == 1  # really applied
    finally:
        torch.set_num_threads(before)
    assert tuple(record) == RECORD_KEYS
    assert record["threads_used"] == 1 and record["input_shape"] == [1, 3, 32, 32] and record["iters"] == 3
    assert record["min_ms"] <= record["p50_ms"] <= record["max_ms"]
    json.dumps(record)  # one JSON record per run


def test_onnxruntime_session_gets_the_thread_count(monkeypatch, tmp_path):
    import onnxruntime as ort

    seen = []
    real = ort.InferenceSession

    def spy(path, options=None, **kwargs):
        seen.append(options.intra_op_num_threads)
        return real(path, options, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", spy)
    model = mobilezoo.create_model("fbnetv2_f1", num_classes=4).eval()
    record = benchmark(model, "onnxruntime", (3, 32, 32), threads=2, warmup=1, iters=2)
    assert seen and set(seen) == {2} and record["threads_used"] == 2


def test_executorch_threadpool_is_set():
    model = mobilezoo.create_model("fbnetv2_f1", num_classes=4).eval()
    record = benchmark(model, "executorch", (3, 32, 32), threads=1, warmup=1, iters=2)
    assert record["threads_used"] == 1 and record["format"] == "executorch"


def _block(name: str, key: str) -> Block:
    return Block(name, key, torch.nn.Identity(), (1, 3, 8, 8))


def test_table_prediction_counts_the_overhead_once(tmp_path):
    table = LatencyTable(overhead_ms=0.1, entries={"a": 0.5, "b": 1.1})
    assert table.predict([_block("x", "a"), _block("y", "b"), _block("z", "a")]) == pytest.approx(0.1 + 0.4 + 1.0 + 0.4)
    with pytest.raises(LatencyLookupError, match="no entry for block 'late' \\(c\\)"):
        table.predict([_block("x", "a"), _block("late", "c")])
    # an entry under the overhead (noise: the overhead measured while the machine was busy) costs 0, never less: a
    # network of such blocks is predicted at the overhead, not below 0 (CI once saw -0.006 ms for a tiny space)
    table.entries["noisy"] = 0.03
    assert table.exact_share("noisy") == 0.0
    assert table.predict([_block(f"n{i}", "noisy") for i in range(9)]) == pytest.approx(0.1)
    assert table.predict([_block("x", "a"), _block("n", "noisy")]) == pytest.approx(0.5)
    path = tmp_path / "lut.json"
    table.save(path)
    assert LatencyTable.load(path).entries == table.entries
    path.write_text("{not json")
    with pytest.raises(LatencyLookupError, match="is not valid JSON"):
        LatencyTable.load(path)


def test_calibration_recovers_a_known_per_block_model_and_survives_save_load(tmp_path):
    rng = torch.Generator().manual_seed(0)
    entries = {f"k{i}": 0.1 + float(torch.rand((), generator=rng)) for i in range(12)}
    table = LatencyTable(overhead_ms=0.05, entries=entries)
    networks, measured = [], []
    for n in range(6):  # whole networks that follow ms = overhead + sum(1.08 * (entry - overhead) - 0.007)
        keys = [f"k{int(i)}" for i in torch.randint(0, 12, (4 + n,), generator=rng)]
        networks.append([_block(f"b{j}", key) for j, key in enumerate(keys)])
        measured.append(0.05 + sum(1.08 * (entries[k] - 0.05) - 0.007 for k in keys))
    uncalibrated = [table.predict(blocks) for blocks in networks]
    calibration = table.calibrate(networks, measured)
    assert (calibration.scale, calibration.shift_ms, calibration.networks) == pytest.approx((1.08, -0.007, 6))
    assert [table.predict(blocks) for blocks in networks] == pytest.approx(measured)
    assert uncalibrated != pytest.approx(measured)
    assert table.block_ms("k3") == pytest.approx(1.08 * (entries["k3"] - 0.05) - 0.007)
    # Below the smallest fitted network the fit says nothing: a network of one 1e-4 ms block would be predicted
    # under the call overhead by the per-block shift; it fades to the exact sum instead, and halfway at half size.
    smallest = min(sum(entries[b.key] - 0.05 for b in blocks) for blocks in networks)
    assert calibration.min_block_sum_ms == pytest.approx(smallest)
    table.entries.update(tiny=0.05 + 1e-4, half=0.05 + smallest / 2)
    assert table.predict([_block("t", "tiny")]) == pytest.approx(0.05 + 1e-4, abs=1e-6)
    half = smallest / 2
    assert table.predict([_block("h", "half")]) == pytest.approx(0.05 + 0.5 * (1.08 * half - 0.007) + 0.5 * half)
    assert sum(table.block_shares(networks[0])) == pytest.approx(measured[0] - 0.05)
    del table.entries["tiny"], table.entries["half"]
    table.save(tmp_path / "lut.json")
    assert LatencyTable.load(tmp_path / "lut.json").calibration == calibration
    with pytest.raises(mobilezoo.MobileZooError, match="at least 3 measured networks"):
        table.calibrate(networks[:2], measured[:2])


def test_block_keys_describe_configuration():
    f1 = fbnet_blocks(mobilezoo.create_model("fbnetv2_f1"), (3, 128, 128))
    f2 = fbnet_blocks(mobilezoo.create_model("fbnetv2_f2"), (3, 128, 128))
    assert [b.key for b in f1] == [b.key for b in f2]  # same network, same input size: same entries
    assert len({b.key for b in f1}) == len(f1)
    assert f1[4].name == "xif3_0" and f1[4].key.startswith("ir_k5_sehsig|in24x32x32|out32|s2|e5.3501")
    with pytest.raises(mobilezoo.MobileZooError, match="FBNet-family"):
        fbnet_blocks(mobilezoo.create_model("resnext50_32x4d"), (3, 64, 64))


def test_rank_correlation_and_quality():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    quality = prediction_quality([1.0, 2.1, 2.9, 5.0], [1.0, 2.0, 3.0, 4.0])  # errors 0, +5%, -3.3%, +25%
    assert quality["within_10pct"] == pytest.approx(0.75)
    assert quality["rmspe_pct"] == pytest.approx(((0.05**2 + (0.1 / 3) ** 2 + 0.25**2) / 4) ** 0.5 * 100)


def test_latency_cli(tmp_path, capsys):
    from mobilezoo.cli.main import main

    lut = tmp_path / "lut.json"
    assert main(["latency", "configs/models/fbnet_tiny_example.yaml", "--lut", str(lut)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["latency", "configs/models/fbnet_tiny_example.yaml", "--lut", str(lut), "--build-lut"]) == 0
    assert "predicted latency" in capsys.readouterr().out
    assert main(["bench", "fbnetv2_f1", "--runtime", "tensorrt"]) == 2
    assert "unknown runtime 'tensorrt'" in capsys.readouterr().err


def test_every_benchmarked_network_follows_the_weights_rule():
    """No all-zero parameter or statistic in any family as benchmarked (zero residual branches let runtimes skip work),
    and every record says which weights ran."""
    from mobilezoo.bench.weights import representative_model, zero_tensors

    assert "backbone.stages.xif2_1.pwl.bn.weight" in zero_tensors(mobilezoo.create_model("fbnetv2_f1"))  # the hazard
    for name in ("fbnetv2_f1", "fbnetv3_a", "dmasking_f1", "mnv3", "fbnet_a", "resnext50_32x4d", "randwire_ws_small",
                 "s3d", "s3d_g", "fbnetv2_f1.fmnist"):
        video = name.startswith("s3d")
        model = representative_model(name, (3, 4, 32, 32) if video else None)
        assert zero_tensors(model) == [], name
        expected = "fbnetv2_f1.fmnist (" if "." in name else "synthetic, seed 0"
        assert model.pretrained_cfg.weights.startswith(expected), name
    record = benchmark(representative_model("fbnetv2_f1"), "eager", (3, 32, 32), warmup=1, iters=2)
    assert record["weights"] == "synthetic, seed 0"


def test_latency_refuses_a_table_of_another_runtime(tmp_path, capsys):
    from mobilezoo.cli.main import main

    from .conftest import REPO_ROOT

    data = json.loads(open(f"{REPO_ROOT}/benchmarks/results/lut_onnxruntime_1t.json").read())
    data["runtime"] = "tflite"
    (tmp_path / "tflite.json").write_text(json.dumps(data))
    assert main(["latency", "fbnetv2_f1", "--lut", str(tmp_path / "tflite.json")]) == 2
    err = capsys.readouterr().err
    assert "measured in tflite, not onnxruntime" in err and err.count("\n") == 1

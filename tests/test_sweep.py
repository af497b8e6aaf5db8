"""Sweeps on Ray and design-space analysis (issue 13): formulas on hand-made cases, samplers against the
paper's value lists and fvcore, a real sweep on a local Ray killed midway and resumed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import mobilezoo
from mobilezoo.designspace import SPACES, ComplexityRange, count_macs, count_params, edf, get_space, ks_test
from mobilezoo.designspace.analysis import edf_at, normalized_weights, random_search_efficiency
from mobilezoo.designspace.spaces import NetSpec, log_spaced_ints
from mobilezoo.errors import InvalidInputError
from mobilezoo.sweep import SweepConfig, make_trials
from mobilezoo.sweep.store import ResultStore

from .conftest import REPO_ROOT
from .test_train import needs_fmnist

# --- normalized EDF, KS, search efficiency --------------------------------------------------------


def test_normalized_edf_equals_plain_edf_when_complexities_are_already_uniform():
    rng = np.random.default_rng(0)
    complexity = np.repeat([0.5, 1.5, 2.5, 3.5], 100) + rng.uniform(-0.4, 0.4, 400)  # 100 models in each bin
    rng.shuffle(complexity)
    errors_a, errors_b = rng.normal(10, 2, 400), rng.normal(12, 3, 400)
    norm = normalized_weights(complexity, 4, 0, 4)
    assert norm.kept.size == 400 and np.allclose(norm.weights, 1 / 400)
    for errors in (errors_a, errors_b):  # two spaces with the same complexities: normalizing changes neither EDF
        x_plain, y_plain = edf(errors)
        x_norm, y_norm = edf(errors, norm.weights)
        assert np.array_equal(x_plain, x_norm) and np.allclose(y_plain, y_norm)
        for threshold in (8, 10, 12, 14):
            assert edf_at(errors, threshold, norm.weights) == pytest.approx(edf_at(errors, threshold))


def test_normalized_weights_follow_the_formula_and_drop_models_outside_the_range():
    # bins of width 2 over (0, 8): [0,2) [2,4) [4,6) [6,8]; 10 and 0 (the open range's end) and 8 are dropped
    complexity = [1.0, 1.5, 3.0, 4.5, 5.0, 5.5, 7.0, 10.0, 0.0, 8.0]
    norm = normalized_weights(complexity, 4, 0, 8)
    assert norm.kept.tolist() == [0, 1, 2, 3, 4, 5, 6]
    hist = np.array([2, 1, 3, 1])  # models per bin
    bins = np.array([0, 0, 1, 2, 2, 2, 3])
    assert np.allclose(norm.weights, 1 / hist[bins] / 4)  # w = 1 / hist[bin] / num_bins
    assert norm.weights.sum() == pytest.approx(1.0)
    x, y = edf([5, 1, 3, 2, 4, 6, 7], norm.weights)
    assert x.tolist() == [1, 2, 3, 4, 5, 6, 7] and y[-1] == pytest.approx(1.0)


def test_an_empty_bin_is_a_clear_error_naming_it():
    with pytest.raises(InvalidInputError, match=r"complexity bin 2 \[4, 6\) holds no model"):
        normalized_weights([1.0, 3.0, 7.0], 4, 0, 8)


def test_ks_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(1)
    for n1, n2, shift in ((30, 50, 0.3), (100, 100, 0.0), (200, 80, 1.0), (7, 9, 0.5)):
        a, b = rng.normal(0, 1, n1), rng.normal(shift, 1, n2)
        ours, reference = ks_test(a, b), stats.ks_2samp(a, b)
        assert ours.statistic == pytest.approx(reference.statistic, abs=1e-12)
        assert ours.pvalue == pytest.approx(reference.pvalue, rel=1e-9)
    tied = [1, 1, 2, 2, 3]
    assert ks_test(tied, [2, 2, 3, 3, 3]).statistic == pytest.approx(stats.ks_2samp(tied, [2, 2, 3, 3, 3]).statistic)


def test_random_search_efficiency_known_cases():
    errors = [5.0, 6.0, 7.0, 8.0]
    # all weight on one model: every draw returns it
    result = random_search_efficiency(errors, [0, 0, 1.0, 0], ks=[1, 4])
    assert [(r.mean, r.std) for r in result] == [(7.0, 0.0), (7.0, 0.0)]
    # uniform: E[min of 2 draws] = sum_e P(min = e) e, repeated n // k = 1000 times
    many = [float(e) for e in range(1, 2001)]
    points = random_search_efficiency(many, ks=[1, 2], seed=3)
    assert points[0].repeats == 2000 and points[1].repeats == 1000
    assert points[1].mean == pytest.approx(2001 / 3, rel=0.05)  # E[min of 2 uniform on 1..n] ~ n/3
    assert points[1].mean < points[0].mean


# --- design spaces ---------------------------------------------------------------------------------


def test_value_lists_are_the_papers_and_samples_stay_inside_them():
    assert log_spaced_ints(1, 24, 9) == (1, 2, 3, 4, 5, 7, 11, 16, 24)
    assert len(log_spaced_ints(16, 256, 12)) == 12 and log_spaced_ints(16, 256, 12)[::11] == (16, 256)
    assert log_spaced_ints(64, 1024, 5) == (64, 128, 256, 512, 1024)
    assert get_space("resnext_a").groups == (1, 2, 4) and get_space("resnext_b").groups == (1, 2, 4, 8, 16)
    assert get_space("resnext_b").bottleneck_ratios == (1.0, 2.0, 4.0)
    rng = random.Random(0)
    for space in SPACES.values():
        for _ in range(300):
            assert space.contains(space.draw(rng))
    limit = ComplexityRange("params", 20_000, 300_000)
    for space in SPACES.values():
        spec = space.sample(rng, [limit], input_size=28)
        assert space.contains(spec) and limit.contains(count_params(spec))


def test_analytic_params_and_macs_equal_fvcore_for_sampled_networks():
    from fvcore.nn import FlopCountAnalysis

    rng = random.Random(5)
    for space in SPACES.values():
        for _ in range(2):
            spec = space.sample(rng, [ComplexityRange("params", 1_000, 400_000)])
            model = mobilezoo.create_model("anynet_cifar", **spec.model_kwargs()).eval()
            assert sum(p.numel() for p in model.parameters()) == count_params(spec)
            counts = FlopCountAnalysis(model, torch.zeros(1, 3, 20, 20))
            counts.unsupported_ops_warnings(False)
            counts.uncalled_modules_warnings(False)
            by_op = counts.by_operator()
            assert by_op["conv"] + by_op["linear"] == count_macs(spec, 20), (space.name, spec)


def test_anynet_is_a_zoo_model():
    model = mobilezoo.create_model("anynet_cifar").eval()  # ResNet-20 layout (3 basic blocks per stage)
    assert sum(p.numel() for p in model.parameters()) == 272_474
    assert [f["num_chs"] for f in model.feature_info] == [16, 16, 32, 64]
    features = mobilezoo.create_model("anynet_cifar", features_only=True, out_indices=(-1,))
    assert features(torch.zeros(1, 3, 32, 32))[0].shape == (1, 64, 8, 8)
    torch.jit.script(model)


def test_a_sampled_design_space_network_exports_verified(tmp_path):
    """Grouped bottlenecks (ResNeXt-B) through ONNX and TorchScript, each artifact checked against eager."""
    from mobilezoo.export import export

    spec = get_space("resnext_b").sample(random.Random(2), [ComplexityRange("params", 10_000, 150_000)])
    model = mobilezoo.create_model("anynet_cifar", **spec.model_kwargs())
    for fmt in ("onnx", "torchscript"):
        result = export(model, fmt, tmp_path, input_size=(3, 16, 16), seed=0)
        assert result.checks and all(check["passed"] for check in result.checks), result.checks


def test_unknown_space_or_key_is_a_one_line_error(tmp_path):
    base = {"name": "x", "spaces": ["resnet"], "samples": 2}
    with pytest.raises(InvalidInputError, match="unknown design space 'resnt'; did you mean 'resnet'"):
        SweepConfig.from_dict({**base, "spaces": ["resnt"]})
    with pytest.raises(InvalidInputError, match="unknown sweep config key 'sample'; did you mean 'samples'"):
        SweepConfig.from_dict({**base, "sample": 3})
    with pytest.raises(InvalidInputError, match="unknown training option 'epoch'"):
        SweepConfig.from_dict({**base, "recipe": {"epoch": 1}})
    with pytest.raises(InvalidInputError, match="may not set 'seed'"):
        SweepConfig.from_dict({**base, "recipe": {"seed": 1}})
    with pytest.raises(InvalidInputError, match="unknown complexity key 'hi'"):
        SweepConfig.from_dict({**base, "complexity": {"metric": "params", "hi": 5}})
    from mobilezoo.cli.main import main

    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nspaces: [vanila]\nsamples: 1\n")
    code = main(["sweep", "run", "--config", str(path), "--out", str(tmp_path / "out")])
    assert code == 2 and not (tmp_path / "out").exists()


def test_an_unreachable_ray_address_is_a_one_line_error(tmp_path, capsys):
    import socket

    from mobilezoo.cli.main import main

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nspaces: [resnet]\nsamples: 1\n")
    started = time.perf_counter()
    code = main(["sweep", "run", "--config", str(path), "--out", str(tmp_path / "o"), "--address", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach a Ray cluster at '127.0.0.1:" in err and err.count("\n") == 1
    assert time.perf_counter() - started < 30
    assert main(["sweep", "run", "--config", str(path), "--out", str(tmp_path / "o"), "--address", "nonsense"]) == 2


def test_trials_are_deterministic_and_extend_with_more_samples():
    config = SweepConfig.from_dict({"name": "x", "spaces": ["resnet", "vanilla"], "samples": 3,
                                    "complexity": [{"metric": "params", "high": 200_000}]})
    more = SweepConfig.from_dict({**config.to_dict(), "samples": 5,
                                  "complexity": [{"metric": "params", "high": 200_000}], "trials": []})
    first, again, extended = make_trials(config), make_trials(config), make_trials(more)
    assert [t.to_dict() for t in first] == [t.to_dict() for t in again]
    assert [t.id for t in first] == ["resnet-0000", "resnet-0001", "resnet-0002", "vanilla-0000", "vanilla-0001", "vanilla-0002"]
    assert {t.id: t.model_kwargs for t in first}.items() <= {t.id: t.model_kwargs for t in extended}.items()
    assert config.fingerprint() == more.fingerprint()


def test_nas_cell_spaces_sample_darts_networks_inside_the_complexity_ranges():
    from mobilezoo.designspace.nas_cells import NETWORK_DEPTHS, NETWORK_WIDTHS
    from mobilezoo.profile.thop_style import thop_style_macs

    config = SweepConfig.from_dict({"name": "x", "spaces": ["darts", "enas"], "samples": 3,
                                    "recipe": {"input_size": 16},
                                    "complexity": [{"metric": "params", "low": 15_000, "high": 60_000},
                                                   {"metric": "macs", "high": 3_000_000}]})
    trials = make_trials(config)
    assert [t.to_dict() for t in trials] == [t.to_dict() for t in make_trials(config)]  # deterministic
    assert [t.id for t in trials] == ["darts-0000", "darts-0001", "darts-0002", "enas-0000", "enas-0001", "enas-0002"]
    for trial in trials:
        kwargs = trial.model_kwargs
        assert trial.model == "darts_net" and trial.space == trial.id[:-5]
        assert kwargs["channels"] in NETWORK_WIDTHS and kwargs["layers"] in NETWORK_DEPTHS
        model = mobilezoo.create_model("darts_net", num_classes=10, **kwargs)
        assert trial.info["params"] == sum(p.numel() for p in model.parameters())
        assert 15_000 < trial.info["params"] < 60_000
        assert trial.info["macs"] == thop_style_macs(model, (3, 16, 16), conv_fc_only=True) < 3_000_000
    with pytest.raises(InvalidInputError, match="did you mean 'enas'"):
        SweepConfig.from_dict({"name": "x", "spaces": ["enas2"], "samples": 1})


def test_a_partial_last_line_is_dropped_and_duplicates_collapse(tmp_path):
    store = ResultStore(tmp_path)
    store.append({"id": "a", "status": "ok", "error": 1.0})
    store.append({"id": "b", "status": "ok", "error": 2.0})
    store.append({"id": "a", "status": "ok", "error": 3.0})
    with open(store.path, "ab") as handle:
        handle.write(b'{"id": "c", "sta')  # killed mid-append
    records = store.records(repair=True)
    assert sorted(records) == ["a", "b"] and records["a"]["error"] == 3.0
    assert store.path.read_bytes().endswith(b"}\n")
    store.compact()
    assert [json.loads(line)["id"] for line in store.path.read_text().splitlines()] == ["a", "b"]



def test_a_whole_last_record_without_its_newline_is_repaired_not_appended_onto(tmp_path):
    store = ResultStore(tmp_path)
    store.append({"id": "a", "status": "ok", "error": 1.0})
    with open(store.path, "ab") as handle:
        handle.write(b'{"id": "b", "status": "ok", "error": 2.0}')  # killed between the record and its newline
    assert sorted(store.records(repair=True)) == ["a", "b"]  # kept: the trial finished
    store.append({"id": "c", "status": "ok", "error": 3.0})  # would have glued onto b's line
    assert [json.loads(line)["id"] for line in store.path.read_text().splitlines()] == ["a", "b", "c"]


# --- a local Ray: loopback only, nothing left behind ------------------------------------------------


def _marked_pids(prefix: str) -> list[int]:
    """Processes whose environment carries a sweep driver's owner mark starting with ``prefix``."""
    from mobilezoo.sweep.reaper import OWNER_VARIABLE

    mark = f"{OWNER_VARIABLE}={prefix}".encode()
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                environment = open(f"/proc/{entry.name}/environ", "rb").read().split(b"\0")
            except OSError:
                continue
            if any(item.startswith(mark) for item in environment):
                pids.append(int(entry.name))
    return pids


def _listening_addresses(pids: list[int]) -> list[str]:
    """The local addresses the TCP sockets of ``pids`` listen on, read from /proc (what ``ss -ltnp`` shows)."""
    import ipaddress

    inodes = {}
    for pid in pids:
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                target = os.readlink(fd.path)
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = pid
        except OSError:
            continue
    found = []
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            hex_address = fields[1].split(":")[0]
            raw = b"".join(bytes.fromhex(hex_address[i:i + 8])[::-1] for i in range(0, 2 * width, 8))
            found.append(str(ipaddress.ip_address(raw)))
    return found


def _is_loopback(address: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(address)
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper reads /proc")
def test_the_reaper_ends_marked_processes_when_the_driver_is_killed(tmp_path):
    # a stand-in driver: starts the reaper the way a sweep does, then a marked child (as Ray's are), then waits
    driver_code = (
        "import os, subprocess, sys, time\n"
        "from mobilezoo.sweep.local_ray import start_reaper\n"
        "from mobilezoo.sweep.reaper import OWNER_VARIABLE\n"
        "token = f'{os.getpid()}-test'\n"
        "start_reaper(token)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],\n"
        "                         env={**os.environ, OWNER_VARIABLE: token}, start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n")
    driver = subprocess.Popen([sys.executable, "-c", driver_code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": REPO_ROOT}, start_new_session=True)
    child = int(driver.stdout.readline())
    assert _marked_pids(f"{driver.pid}-") == [child]  # the driver itself carries no mark
    unmarked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.time() + 10
        while time.time() < deadline and _marked_pids(f"{driver.pid}-"):
            time.sleep(0.1)
        assert _marked_pids(f"{driver.pid}-") == []
        assert unmarked.poll() is None  # only the marked processes are ended
    finally:
        unmarked.kill()
        for pid in _marked_pids(f"{driver.pid}-"):
            os.kill(pid, signal.SIGKILL)


# --- a real sweep on a local Ray -------------------------------------------------------------------

SWEEP = """name: tiny
spaces: [resnet, vanilla]
samples: 3
seed: 0
complexity:
  - {metric: params, low: 5000, high: 60000}
  - {metric: macs, low: 0, high: 3000000}
recipe: {epochs: 1, batch_size: 32, input_size: 16, limit_train: 256, limit_eval: 128, warmup_epochs: 0, lr: 0.05}
trials:
  - {id: too-big-batch, model: anynet_cifar, recipe: {batch_size: 512}}
"""


@pytest.mark.slow  # end-to-end, ~30-80 s: in CI (tests/run.sh), not in a plain pytest
@needs_fmnist
def test_sweep_on_local_ray_resumes_after_a_kill_and_records_failures(tmp_path):
    pytest.importorskip("ray")
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(SWEEP)
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "mobilezoo", "sweep", "run", "--config", str(config_path), "--out", str(out),
               "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    results = out / "results.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and first.poll() is None:
        if results.exists() and results.read_text().count("\n") >= 1:
            break
        time.sleep(0.2)
    assert first.poll() is None, "the sweep finished before it could be killed"
    ray_processes = _marked_pids(f"{first.pid}-")
    assert len(ray_processes) >= 3  # gcs_server, raylet, agents, workers: all carry the driver's mark
    listening = _listening_addresses([first.pid, *ray_processes])
    assert listening and all(_is_loopback(a) for a in listening), listening  # nothing reachable from the network
    os.kill(first.pid, signal.SIGKILL)  # the driver alone: what Ray started must not outlive it
    first.wait()
    deadline = time.time() + 20
    while time.time() < deadline and _marked_pids(f"{first.pid}-"):
        time.sleep(0.2)
    assert _marked_pids(f"{first.pid}-") == []
    done_before = {json.loads(line)["id"] for line in results.read_text().splitlines()}
    assert 1 <= len(done_before) < 7
    second = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    stdout, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr[-2000:]
    deadline = time.time() + 20  # a normal exit leaves nothing either
    while time.time() < deadline and _marked_pids(f"{second.pid}-"):
        time.sleep(0.2)
    assert _marked_pids(f"{second.pid}-") == []
    assert f"ran {7 - len(done_before)} trial(s)" in stdout and f"{len(done_before)} already recorded" in stdout
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    ids = [r["id"] for r in lines]
    assert sorted(ids) == sorted(t.id for t in make_trials(SweepConfig.from_file(config_path))) and len(set(ids)) == 7
    failed = [r for r in lines if r["status"] == "failed"]
    assert [r["id"] for r in failed] == ["too-big-batch"] and "batch_size 512 is larger" in failed[0]["failure"]
    ok = [r for r in lines if r["status"] == "ok"]
    assert all(0 <= r["error"] <= 100 and r["threads"] == 1 and r["wall_seconds"] > 0 for r in ok)
    assert all(r["params"] == count_params(NetSpec.from_dict(r["spec"])) for r in ok)
    assert not any((out / "trials" / r["id"] / "last.pt").exists() for r in ok)  # checkpoints not kept
    status = subprocess.run([sys.executable, "-m", "mobilezoo", "sweep", "status", str(out)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert "7/7 done, 1 failed, 0 missing" in status.stdout
    nodes = {r["host"]["ray_node_id"] for r in lines}  # where each trial ran: one node per local Ray started
    assert len(nodes) == 2 and all(isinstance(n, str) and len(n) == 56 for n in nodes)
    assert "ran on: " in status.stdout and status.stdout.count("(node ") == 2
    analysis = subprocess.run([sys.executable, "-m", "mobilezoo", "sweep", "analyze", str(out), "--out",
                               str(tmp_path / "report"), "--bins", "1"], env=env, capture_output=True, text=True, timeout=120)
    assert analysis.returncode == 0, analysis.stderr[-2000:]
    report = json.loads((tmp_path / "report" / "analysis.json").read_text())
    assert set(report["spaces"]) == {"resnet", "vanilla"} and len(report["ks"]) == 1
    assert all((tmp_path / "report" / f).stat().st_size > 1000 for f in ("edf.png", "edf_normalized.png",
                                                                        "search_efficiency.png", "error_vs_complexity.png"))


def test_an_explicit_trial_keeps_the_seed_its_recipe_names():
    config = SweepConfig.from_dict({"name": "x", "seed": 10, "trials": [
        {"id": "a-s0", "model": "anynet_cifar", "seed": 0},
        {"id": "a-s1", "model": "anynet_cifar", "seed": 1},
        {"id": "b", "model": "anynet_cifar"}]})
    assert [t.seed for t in make_trials(config)] == [0, 1, 12]  # the last: sweep seed + its index
    with pytest.raises(InvalidInputError, match="seed must be a whole number"):
        SweepConfig.from_dict({"name": "x", "trials": [{"id": "a", "model": "anynet_cifar", "seed": -1}]})
    # a sweep recorded before trials had seeds keeps its fingerprint (its folder still resumes)
    unseeded = SweepConfig.from_dict({"name": "x", "trials": [{"id": "b", "model": "anynet_cifar"}]})
    import hashlib

    data = unseeded.to_dict()
    data.pop("samples"), data.pop("keep_checkpoints")
    data["trials"] = [{k: v for k, v in t.items() if k != "seed"} for t in data["trials"]]
    assert unseeded.fingerprint() == hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def test_trial_records_read_back_and_feed_the_analysis_unchanged(tmp_path):
    """One record type for every results line: reading the recorded ResNet/Vanilla sweep back and writing it again
    gives the same JSON, and its design samples are the ok draws with their error and complexity."""
    import json

    from mobilezoo.sweep.store import ResultStore, design_samples
    from mobilezoo.sweep.trials import TrialRecord

    folder = Path(REPO_ROOT) / "benchmarks" / "results" / "design_spaces" / "resnet_vs_vanilla"
    raw = ResultStore(folder).records()
    for record in raw.values():
        assert json.loads(json.dumps(TrialRecord.from_dict(record).to_dict())) == record
    samples = design_samples([folder])
    assert len(samples) == sum(r["status"] == "ok" for r in raw.values()) == 200
    first = raw["resnet-0000"]
    match = next(s for s in samples if s.params == first["params"] and s.macs == first["macs"])
    assert (match.space, match.error) == ("resnet", first["error"])

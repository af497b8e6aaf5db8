"""RandWire and graph generators: counts over seeds, determinism across processes, wiring in checkpoints."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import networkx as nx
import pytest
import torch

import mobilezoo
from mobilezoo.errors import CheckpointError, InvalidInputError
from mobilezoo.graphs import (average_path_length, barabasi_albert, clustering_coefficient, erdos_renyi, to_dag,
                              watts_strogatz, ws_flex)
from mobilezoo.models.randwire import from_state_dict
from mobilezoo.profile import count_params, profile

# targets: mean over seeds of an independent analytic count that reproduces the paper (5.6M / 583M etc.)
TARGETS = {
    "randwire_ws_small": (5.64e6, 581e6, 5),
    "randwire_ws_c109": (32.3e6, 4.00e9, 3),
    "randwire_ws_c154": (62.2e6, 7.87e9, 3),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_params_and_macs_within_2_percent_over_seeds(name):
    params_target, macs_target, seeds = TARGETS[name]
    params, macs = [], []
    for seed in range(seeds):
        result = profile(mobilezoo.create_model(name, seed=seed))
        params.append(result.params)
        macs.append(result.macs_without_bn)
    assert statistics.mean(params) == pytest.approx(params_target, rel=0.02)
    assert statistics.mean(macs) == pytest.approx(macs_target, rel=0.02)


def _edges_in_subprocess(seed: int) -> str:
    code = (
        "import json, mobilezoo; m = mobilezoo.create_model('randwire_ws_small', seed=%d);"
        "print(json.dumps({n: s.stage_graph.edges for n, s in m.random_stages().items()}))" % seed
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_same_seed_same_edges_in_two_processes():
    assert _edges_in_subprocess(3) == _edges_in_subprocess(3)
    in_process = mobilezoo.create_model("randwire_ws_small", seed=3)
    assert json.loads(_edges_in_subprocess(3))["conv4"] == [list(e) for e in in_process.conv4.stage_graph.edges]


def test_different_seeds_and_stages_differ():
    a = mobilezoo.create_model("randwire_ws_small", seed=0)
    b = mobilezoo.create_model("randwire_ws_small", seed=1)
    assert a.conv3.stage_graph.edges != b.conv3.stage_graph.edges
    assert a.conv3.stage_graph.edges != a.conv4.stage_graph.edges  # each stage draws its own graph


@pytest.mark.parametrize(
    "graph",
    [watts_strogatz(32, 4, 0.75, 0), erdos_renyi(32, 0.2, 0), barabasi_albert(32, 5, 0), ws_flex(64, 7.3, 0.4, 2)],
    ids=["ws", "er", "ba", "ws_flex"],
)
def test_graph_measures_match_networkx(graph):
    reference = nx.Graph()
    reference.add_nodes_from(range(graph.num_nodes))
    reference.add_edges_from(graph.edges)
    assert clustering_coefficient(graph) == pytest.approx(nx.average_clustering(reference), abs=1e-12)
    if nx.is_connected(reference):
        assert average_path_length(graph) == pytest.approx(nx.average_shortest_path_length(reference), abs=1e-12)


def test_generator_structure():
    ws = watts_strogatz(32, 4, 0.0, 0)  # no rewiring: the ring lattice
    assert len(ws.edges) == 64 and clustering_coefficient(ws) == pytest.approx(0.5)
    assert len(watts_strogatz(32, 4, 0.75, 5).edges) == 64 and watts_strogatz(32, 4, 0.75, 5).is_connected()
    ba = barabasi_albert(32, 5, 1)
    assert len(ba.edges) == 27 * 5 and to_dag(ba).inputs == (0, 1, 2, 3, 4)  # M isolated seed nodes
    flex = ws_flex(64, 7.3, 0.0, 0)
    assert len(flex.edges) == round(7.3 * 64 / 2)
    with pytest.raises(InvalidInputError, match="even K"):
        watts_strogatz(32, 3, 0.5)
    with pytest.raises(InvalidInputError, match="out of range"):
        erdos_renyi(32, 1.5)


def test_dag_conversion_and_stage_io():
    graph = watts_strogatz(16, 4, 0.5, 7)
    dag = to_dag(graph)
    for node, preds in enumerate(dag.predecessors):
        assert all(p < node for p in preds)
    model = mobilezoo.create_model("randwire_ws_small", seed=7)
    stage = model.conv3
    assert [m.depthwise.stride for i, m in enumerate(stage.nodes) if i in to_dag(stage.stage_graph).inputs] == [(2, 2)] * len(
        to_dag(stage.stage_graph).inputs
    )
    assert model.conv1[0].groups == 1 and model.conv2[1].groups == 1  # dense stems, not separable


@pytest.mark.parametrize("name", ["randwire_ws_small", "randwire_er_small", "randwire_ba_small", "randwire_ws_c109"])
def test_forward_on_cpu(name):
    model = mobilezoo.create_model(name, num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 10)


def test_wiring_is_saved_and_checked(tmp_path):
    trained = mobilezoo.create_model("randwire_ws_small", seed=1, num_classes=10)
    path = tmp_path / "rw.pth"
    torch.save(trained.state_dict(), path)
    assert "conv3.wiring" in trained.state_dict()
    same = mobilezoo.create_model("randwire_ws_small", seed=1, num_classes=10, checkpoint_path=path)
    assert torch.equal(same.conv5.wiring, trained.conv5.wiring)
    with pytest.raises(CheckpointError, match="different wiring in stage 'conv3'"):
        mobilezoo.create_model("randwire_ws_small", seed=2, num_classes=10, checkpoint_path=path)
    rebuilt = from_state_dict(torch.load(path, weights_only=True), channels=78, regime="small").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), trained.eval()(x))


def test_graph_cli_png(tmp_path, capsys):
    from mobilezoo.cli.main import main

    png = tmp_path / "graphs.png"
    assert main(["graph", "randwire_ws_small", "--seed", "2", "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["graphs.png"]  # no temporary file left behind
    assert main(["graph", "resnext50_32x4d"]) == 2
    assert main(["graph", "randwire_ws_small", "--png", "/nonexistent/dir/x.png"]) == 2
    assert "not writable" in capsys.readouterr().err

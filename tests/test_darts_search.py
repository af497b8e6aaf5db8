"""DARTS search (UnNAS's search phase): the derivation rule, the bi-level loop, resume, the definition it writes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import mobilezoo
from mobilezoo.errors import ArchDefError, InvalidInputError
from mobilezoo.models.darts import SEARCH_OPS
from mobilezoo.nas.darts_search import DartsSearch, DartsSearchConfig
from mobilezoo.nas.darts_supernet import EDGES, DartsSupernet, derive_cell

HAVE_FMNIST = os.path.isfile("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") or bool(
    os.environ.get("MOBILEZOO_FASHION_MNIST"))
needs_fmnist = pytest.mark.skipif(not HAVE_FMNIST, reason="apt-get install dataset-fashion-mnist (tests/run.sh does)")
TINY = dict(channels=4, layers=3, limit_train=64, batch_size=16, input_size=16, threads=1)


def test_derivation_takes_each_nodes_two_strongest_edges_and_never_none():
    weights = torch.full((EDGES, len(SEARCH_OPS)), 0.1)
    op = SEARCH_OPS.index
    # node 0 (edges 0, 1): edge 1 strongest with sep_conv_3x3; edge 0 with skip; none's 0.9 on edge 0 is ignored
    weights[0, op("none")], weights[0, op("skip_connect")], weights[1, op("sep_conv_3x3")] = 0.9, 0.3, 0.5
    # node 1 (edges 2, 3, 4): edges 4 and 2 win; edge 3 holds only none
    weights[2, op("max_pool_3x3")], weights[3, op("none")], weights[4, op("dil_conv_5x5")] = 0.4, 0.99, 0.6
    cell = derive_cell(weights)
    assert cell[0] == (("sep_conv_3x3", 1), ("skip_connect", 0))
    assert cell[1] == (("dil_conv_5x5", 4 - 2), ("max_pool_3x3", 0))
    assert all(op != "none" for node in cell for op, _ in node)
    assert all(len({source for _, source in node}) == 2 for node in cell)  # two distinct inputs per node
    assert cell[2] == (("max_pool_3x3", 0), ("max_pool_3x3", 1))  # ties: the first op, the lower input


def test_the_supernet_mixes_every_op_of_every_edge():
    net = DartsSupernet(channels=4, layers=3, num_classes=10)
    cell = net.cells[0]
    assert len(cell.edges) == EDGES == 14 and all(len(edge.ops) == len(SEARCH_OPS) == 8 for edge in cell.edges)
    assert not any(m.affine for m in net.cells.modules() if isinstance(m, torch.nn.BatchNorm2d))  # the reference's
    assert {id(p) for p in net.arch_parameters()}.isdisjoint(id(p) for p in net.weight_parameters())
    with torch.no_grad():  # all weight on none: every node is zero, so the cell's output is zero
        net.alphas_normal.fill_(-1e9)
        net.alphas_normal[:, SEARCH_OPS.index("none")] = 0.0
    s = net.stem(torch.randn(2, 3, 16, 16))
    assert torch.equal(cell(s, s, torch.softmax(net.alphas_normal, -1)), torch.zeros(2, 16, 16, 16))


@needs_fmnist
@pytest.mark.parametrize("task", ["classification", "jigsaw"])
def test_a_resumed_search_ends_where_an_uninterrupted_one_does(tmp_path, task):
    straight = DartsSearch(DartsSearchConfig(task=task, epochs=3, **TINY), tmp_path / "a")
    assert straight.run(show_progress=False) is not None
    first = DartsSearch(DartsSearchConfig(task=task, epochs=3, **TINY), tmp_path / "b")
    assert first.run(stop_after=2, show_progress=False) is None
    resumed = DartsSearch(DartsSearchConfig(task=task, epochs=3, **TINY), tmp_path / "b")
    resumed.run(resume=True, show_progress=False)
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    log = straight.history
    # the weights-only first epoch leaves the architecture as initialised; later epochs move it
    assert log[0]["arch_loss"] is None and log[1]["arch_loss"] is not None
    init = DartsSupernet(4, 3, seed=0).alphas_normal
    assert not torch.equal(straight.supernet.alphas_normal.detach(), init)
    with pytest.raises(InvalidInputError, match="another task"):
        DartsSearch(DartsSearchConfig(task="rotation", epochs=3, **TINY), tmp_path / "a").run(resume=True)


@needs_fmnist
def test_the_derived_definition_builds_trains_and_keeps_its_genotype(tmp_path):
    search = DartsSearch(DartsSearchConfig(task="rotation", epochs=2, name="rot_cell", **TINY), tmp_path)
    path = search.run(show_progress=False)
    model = mobilezoo.create_model(str(path)).eval()
    assert model.genotype == search.supernet.genotype() and model.num_classes == 10
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert mobilezoo.create_model(str(path), num_classes=3).num_classes == 3
    broken = tmp_path / "broken.yaml"
    broken.write_text(path.read_text().replace("sep_conv", "sepconv").replace("dil_conv", "sepconv")
                      .replace("skip_connect", "sepconv").replace("_pool_", "sepconv"))
    with pytest.raises(ArchDefError, match="unknown op"):
        mobilezoo.create_model(str(broken))


def test_search_config_errors_name_the_fix(tmp_path):
    with pytest.raises(InvalidInputError, match="--dataset colour_crops"):
        DartsSearchConfig(task="colorization").resolved()
    with pytest.raises(InvalidInputError, match="tasks: classification"):
        DartsSearchConfig(task="segmentation").resolved()
    assert DartsSearchConfig(task="rotation").resolved().batch_size == 32  # the reference's per-task defaults
    assert DartsSearchConfig(task="classification").resolved().arch_lr == 3e-4
    result = subprocess.run([sys.executable, "-m", "mobilezoo", "search", "darts", "--task", "jigsaw", "--input-size",
                             "15", "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode != 0 and "even --input-size" in result.stderr

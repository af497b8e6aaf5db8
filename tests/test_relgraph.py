"""Relational graphs: WS-flex against the reference's published graphs and networkx, relational layers against
dense ones, MAC matching against the published widths and baselines, exports."""

from __future__ import annotations

import subprocess
import sys

import networkx as nx
import pytest
import torch
from torch import nn

import mobilezoo
from mobilezoo.errors import CheckpointError, InvalidInputError
from mobilezoo.graphs import ws_flex
from mobilezoo.graphs.metrics import average_path_length, clustering_coefficient
from mobilezoo.models.relational import RelationalConv2d, RelationalLinear, fold_masks, relational_mask
from mobilezoo.models.relgraph import (BEST_GRAPHS, RESNET_WIDTHS, RelationalGraph, match_width, mlp_macs,
                                       resnet_macs, scaled_widths)
from mobilezoo.profile import profile

SPARSE = RelationalGraph(64, 0.2, 0.3, 5)


def _nx(graph):
    g = nx.Graph()
    g.add_nodes_from(range(graph.num_nodes))
    g.add_edges_from(graph.edges)
    return g


@pytest.mark.parametrize("k, p, seed", [(8.19, 0.13, 4), (5.5, 0.0, 0), (20.24, 0.5, 8), (40.0, 0.9, 2), (2.0, 1.0, 7)])
def test_ws_flex_edge_count_connected_and_measures_equal_networkx(k, p, seed):
    graph = ws_flex(64, k, p, seed)
    assert len(graph.edges) == round(k * 64 / 2)
    assert graph.is_connected() and nx.is_connected(_nx(graph))
    assert clustering_coefficient(graph) == pytest.approx(nx.average_clustering(_nx(graph)), abs=1e-12)
    assert average_path_length(graph) == pytest.approx(nx.average_shortest_path_length(_nx(graph)), abs=1e-12)


def test_ws_flex_is_the_same_in_another_process():
    code = "from mobilezoo.graphs import ws_flex; print(ws_flex(64, 9.3, 0.4, 11).edges)"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == str(ws_flex(64, 9.3, 0.4, 11).edges)


@pytest.mark.parametrize("task", sorted(BEST_GRAPHS))
def test_published_best_graphs_come_out_with_their_clustering_and_path_length(task):
    spec, (c, l) = BEST_GRAPHS[task]
    measured_c, measured_l = spec.measures()
    assert (round(measured_c, 3), round(measured_l, 3)) == (c, l)


def test_complete_graph_layers_equal_dense_layers():
    torch.manual_seed(0)
    complete = RelationalGraph(64, 1.0).build()
    linear = RelationalLinear(96, 130, complete, bias=True)
    dense = nn.Linear(96, 130)
    dense.load_state_dict({k: v for k, v in linear.state_dict().items() if k != "mask"})
    x = torch.randn(5, 96)
    torch.testing.assert_close(linear(x), dense(x), rtol=0, atol=0)
    conv = RelationalConv2d(64, 72, 3, complete, 2, 1)
    plain = nn.Conv2d(64, 72, 3, 2, 1, bias=False)
    plain.weight.data.copy_(conv.weight.data)
    image = torch.randn(2, 64, 9, 9)
    torch.testing.assert_close(conv(image), plain(image), rtol=0, atol=0)


def test_sparse_layers_mask_their_weights_and_gradients():
    torch.manual_seed(0)
    graph = SPARSE.build()
    mask = relational_mask(graph, 100, 70)
    assert 0 < float(mask.mean()) < 0.5 and mask.shape == (70, 100)
    linear = RelationalLinear(100, 70, graph)
    x = torch.randn(4, 100)
    linear(x).square().sum().backward()
    assert torch.all(linear.weight.grad[mask == 0] == 0) and torch.any(linear.weight.grad[mask == 1] != 0)
    torch.testing.assert_close(linear(x), x @ (linear.weight * mask).T)
    conv = RelationalConv2d(64, 96, 3, graph, 1, 1)
    image = torch.randn(2, 64, 6, 6)
    conv(image).sum().backward()
    conv_mask = relational_mask(graph, 64, 96)[:, :, None, None].expand_as(conv.weight)
    assert torch.all(conv.weight.grad[conv_mask == 0] == 0)
    expected = nn.functional.conv2d(image, conv.weight * conv_mask, padding=1)
    torch.testing.assert_close(conv(image), expected)
    before = conv(image)
    fold_masks(conv)
    assert torch.all(conv.weight[conv_mask == 0] == 0)
    torch.testing.assert_close(conv(image), before, rtol=0, atol=0)


def test_mlp_macs_and_matching_to_the_published_width():
    complete = mobilezoo.create_model("relgraph_mlp")
    counts = profile(complete, (3, 32, 32))
    assert counts.macs_without_bn == 2_364_416 and counts.effective_macs_without_bn == 2_364_416
    best = mobilezoo.create_model("relgraph_mlp_best")
    assert best.width == 1522
    effective = profile(best, (3, 32, 32)).effective_macs_without_bn
    assert effective == round(mlp_macs(BEST_GRAPHS["mlp"][0], 1522))
    assert 2_364_416 <= effective <= 1.01 * 2_364_416
    matched = mobilezoo.create_model("relgraph_mlp", graph=BEST_GRAPHS["mlp"][0].to_dict(), width="match")
    assert matched.width == 1522


@pytest.mark.parametrize("depth, first, baseline", [(34, 165, 3_663_761_408), (50, 412, 4_089_184_256)])
def test_resnet_macs_match_the_dense_baseline_at_the_published_widths(depth, first, baseline):
    assert resnet_macs(RelationalGraph(), depth, RESNET_WIDTHS[depth]) == baseline  # complete graph = torchvision
    graph = BEST_GRAPHS[f"resnet{depth}"][0]
    widths = scaled_widths(RESNET_WIDTHS[depth], first)
    assert baseline <= resnet_macs(graph, depth, widths) <= 1.01 * baseline
    assert match_width(lambda w: resnet_macs(graph, depth, scaled_widths(RESNET_WIDTHS[depth], w)), baseline,
                       RESNET_WIDTHS[depth][0]) == first


@pytest.mark.parametrize("depth", [34, 50])
def test_analytic_resnet_macs_equal_the_profilers_effective_macs(depth):
    widths = [64, 128, 256, 512] if depth == 34 else [256, 512, 1024, 2048]
    model = mobilezoo.create_model(f"relgraph_resnet{depth}", graph=SPARSE.to_dict(), widths=widths, num_classes=10)
    counts = profile(model, (3, 64, 64))
    conv_fc = counts.by_operator["conv"] + counts.by_operator["linear"]
    dense = resnet_macs(RelationalGraph(), depth, widths, num_classes=10, side=64)
    assert conv_fc == dense
    pooled = counts.macs_without_bn - conv_fc  # the profiler also counts the average pool
    assert counts.effective_macs_without_bn - pooled == round(resnet_macs(SPARSE, depth, widths, num_classes=10, side=64))


def test_checkpoint_carries_its_graph(tmp_path):
    from safetensors.torch import save_file

    model = mobilezoo.create_model("relgraph_mlp", graph=SPARSE.to_dict(), width=128, in_chans=1, input_size=8)
    assert any(key.endswith(".mask") for key in model.state_dict())
    path = tmp_path / "mlp.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    same = mobilezoo.create_model("relgraph_mlp", graph=SPARSE.to_dict(), width=128, in_chans=1, input_size=8,
                                  checkpoint_path=path)
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(same.eval()(x), model.eval()(x), rtol=0, atol=0)
    other = {"sparsity": 0.2, "p": 0.3, "seed": 6}
    with pytest.raises(CheckpointError, match="another relational graph"):
        mobilezoo.create_model("relgraph_mlp", graph=other, width=128, in_chans=1, input_size=8, checkpoint_path=path)


def test_bad_graphs_and_widths_are_one_line_errors():
    with pytest.raises(InvalidInputError, match="unknown field 'k'"):
        mobilezoo.create_model("relgraph_mlp", graph={"k": 4})
    with pytest.raises(InvalidInputError, match="at least one channel per node"):
        mobilezoo.create_model("relgraph_mlp", graph=SPARSE.to_dict(), width=32)
    with pytest.raises(InvalidInputError, match="widths must be 4 stage widths"):
        mobilezoo.create_model("relgraph_resnet50", widths=[64, 128, 256, 512])


@pytest.mark.parametrize("fmt", ["onnx", "executorch"])
def test_relational_networks_export_verified_with_folded_masks(tmp_path, fmt):
    pytest.importorskip("onnxruntime" if fmt == "onnx" else "executorch")
    from mobilezoo.export import export

    mlp = mobilezoo.create_model("relgraph_mlp", graph=SPARSE.to_dict(), width=128, in_chans=1, input_size=12).eval()
    unfolded = {k: v.clone() for k, v in mlp.state_dict().items()}
    result = export(mlp, fmt, tmp_path / "mlp", input_size=(1, 12, 12), seed=0)
    assert result.checks and all(check["passed"] for check in result.checks)
    for key, value in mlp.state_dict().items():  # the export folded a copy of the view, then restored the model
        assert torch.equal(value, unfolded[key]), key
    if fmt == "onnx":
        import onnx

        graph = onnx.load(str(result.path)).graph
        assert not [n for n in graph.node if n.op_type == "Mul"]  # masks folded: no multiply by the mask at run time
        resnet = mobilezoo.create_model("relgraph_resnet34", graph=SPARSE.to_dict(), widths=[64, 64, 64, 64],
                                        num_classes=10).eval()
        result = export(resnet, fmt, tmp_path / "resnet", input_size=(3, 32, 32), seed=0)
        assert result.checks and all(check["passed"] for check in result.checks)


@torch.no_grad()
def test_mlp_classifier_contract_with_a_1x1_feature_map():
    model = mobilezoo.create_model("relgraph_mlp", graph=SPARSE.to_dict(), width=96, in_chans=1, input_size=10).eval()
    cfg = model.pretrained_cfg
    assert cfg.input_size == (1, 10, 10) and cfg.pool_size == (1, 1) and cfg.fixed_input_size  # the flattening fixes it
    x = torch.randn(2, 1, 10, 10)
    features = model.forward_features(x)  # timm's unpooled features: the vector as a 1x1 map
    assert features.shape == (2, 96, 1, 1) and model.forward_head(features, pre_logits=True).shape == (2, 96)
    torch.testing.assert_close(model.forward_head(features), model(x))
    model.reset_classifier(0)
    assert model(x).shape == (2, 96)
    model.reset_classifier(0, "")
    assert model(x).shape == (2, 96, 1, 1)
    model.reset_classifier(4, "avg")
    assert model(x).shape == (2, 4)
    extractor = mobilezoo.create_model("relgraph_mlp", graph=SPARSE.to_dict(), width=96, in_chans=1, input_size=10,
                                       features_only=True).eval()
    # each level a 1x1 map, as forward_features gives the last: timm's NCHW levels
    assert [o.shape for o in extractor(x)] == [(2, 96, 1, 1)] * 3 and extractor.feature_info.channels() == [96] * 3

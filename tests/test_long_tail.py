"""Long-tailed recognition by decoupling (arXiv 1910.09217): data cut, samplers, stage-2 classifiers, reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from mobilezoo.data.long_tail import long_tail_counts, long_tail_split, scaled_shot_split
from mobilezoo.data.samplers import ClassAwareSampler, class_probabilities, make_sampler, progressive_probabilities
from mobilezoo.errors import InvalidInputError
from mobilezoo.train.decoupling import LWSClassifier, NCMClassifier, TauNormClassifier, pick_tau

from .test_train import needs_fmnist

COUNTS = [400, 120, 30, 8]
LABELS = np.repeat(np.arange(4), COUNTS)


def _frequencies(sampler, epochs: int) -> np.ndarray:
    drawn = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        drawn.extend(LABELS[list(sampler)])
    return np.bincount(drawn, minlength=4) / len(drawn)


@pytest.mark.parametrize("kind,q", [("sqrt", 0.5), ("class", 0.0)])
def test_class_aware_samplers_draw_classes_in_proportion_to_counts_to_the_q(kind, q):
    sampler = make_sampler(kind, LABELS, len(LABELS), seed=0, epochs=1)
    epochs = 40
    observed = _frequencies(sampler, epochs)
    expected = np.power(COUNTS, q) / np.power(COUNTS, q).sum()
    draws = epochs * len(LABELS)
    sigma = np.sqrt(expected * (1 - expected) / draws)
    assert np.all(np.abs(observed - expected) < 4 * sigma), (observed, expected)


def test_instance_sampler_is_a_shuffle_so_classes_come_in_exact_proportion():
    sampler = make_sampler("instance", LABELS, len(LABELS), seed=0, epochs=1)
    assert sorted(sampler) == list(range(len(LABELS)))
    assert np.allclose(_frequencies(sampler, 3), class_probabilities(COUNTS, 1.0))


def test_progressive_sampler_moves_linearly_from_instance_to_class_balanced():
    epochs = 5
    instance, balanced = class_probabilities(COUNTS, 1.0), class_probabilities(COUNTS, 0.0)
    for epoch in range(epochs):
        t = epoch / (epochs - 1)
        assert np.allclose(progressive_probabilities(COUNTS, epoch, epochs), (1 - t) * instance + t * balanced)
    sampler = ClassAwareSampler(LABELS, "progressive", seed=1, epochs=epochs)
    sampler.set_epoch(epochs - 1)
    last = np.bincount(LABELS[list(sampler) * 1], minlength=4) / len(LABELS)
    assert np.all(np.abs(last - 0.25) < 4 * np.sqrt(0.25 * 0.75 / len(LABELS)))


def test_each_ddp_rank_takes_its_shard_of_the_same_sampled_epoch():
    single = list(ClassAwareSampler(LABELS, "sqrt", seed=3))
    shards = [list(ClassAwareSampler(LABELS, "sqrt", seed=3, rank=r, world=2)) for r in (0, 1)]
    assert shards[0] == single[0::2][: len(shards[0])] and shards[1] == single[1::2][: len(shards[1])]
    assert len(shards[0]) == len(shards[1]) == len(LABELS) // 2


def test_long_tail_counts_follow_the_exponential_profile_exactly():
    # CIFAR-10-LT at rho = 100 (Cao et al. 2019): the published per-class counts
    assert long_tail_counts(5000, 10, 100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    for rho in (10, 50, 100):
        assert long_tail_counts(4000, 10, rho) == [int(np.floor(4000 * rho ** (-c / 9) + 1e-9)) for c in range(10)]
    with pytest.raises(InvalidInputError, match="imbalance ratio >= 1"):
        long_tail_counts(100, 10, 0.5)


def test_long_tail_split_is_seeded_keeps_validation_apart_and_refuses_an_impossible_head():
    labels = np.repeat(np.arange(5), 300)
    split = long_tail_split(labels, rho=10, n_max=200, val_per_class=50, seed=4)
    assert np.bincount(labels[split.train]).tolist() == long_tail_counts(200, 5, 10) == split.counts
    assert np.bincount(labels[split.validation]).tolist() == [50] * 5
    assert not set(split.train) & set(split.validation)
    again, other = long_tail_split(labels, 10, 200, 50, seed=4), long_tail_split(labels, 10, 200, 50, seed=5)
    assert np.array_equal(again.train, split.train) and not np.array_equal(other.train, split.train)
    with pytest.raises(InvalidInputError, match="lower lt_max_per_class"):
        long_tail_split(labels, 10, n_max=280, val_per_class=50)


def test_shot_groups_keep_the_papers_thresholds_at_their_place_on_the_log_axis():
    split = scaled_shot_split([1280, 5])  # ImageNet-LT's own range: its thresholds come back
    assert split.many_above == pytest.approx(100) and split.few_below == pytest.approx(20)
    counts = long_tail_counts(5000, 10, 100)
    split = scaled_shot_split(counts)
    groups = [split.group(c) for c in counts]
    assert groups == ["many"] * 5 + ["medium"] * 2 + ["few"] * 3, (groups, split.rule)


def _joint() -> nn.Linear:
    torch.manual_seed(0)
    layer = nn.Linear(6, 4)
    with torch.no_grad():
        layer.weight.mul_(torch.tensor([4.0, 2.0, 1.0, 0.5]).view(4, 1))  # head classes with larger norms
        layer.bias.uniform_(-1, 1)
    return layer


def test_tau_zero_is_the_joint_classifier_without_bias_and_tau_one_uses_unit_norm_rows():
    joint, features = _joint(), torch.randn(10, 6)
    assert torch.allclose(TauNormClassifier(joint, 0.0)(features), features @ joint.weight.T)
    unit = TauNormClassifier(joint, 1.0)
    assert torch.allclose(unit.weight.norm(dim=1), torch.ones(4))
    assert torch.allclose(unit(features), features @ nn.functional.normalize(joint.weight, dim=1).T, atol=1e-6)
    folded = unit.as_linear()
    assert torch.allclose(folded(features), unit(features), atol=1e-6) and torch.all(folded.bias == 0)


def test_tau_is_picked_on_validation_where_the_norms_favour_head_classes():
    joint = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        joint.weight.copy_(torch.diag(torch.tensor([8.0, 4.0, 2.0, 1.0])))
    features = torch.eye(4).repeat(5, 1) + 0.3  # every class equally present; raw norms bias towards class 0
    labels = torch.arange(4).repeat(5)
    choice = pick_tau(joint, features, labels)
    assert choice.validation_top1[0.0] < 100.0 and choice.validation_top1[choice.tau] == 100.0
    assert choice.tau > 0


def test_lws_with_unit_scales_is_the_joint_classifier_bias_included():
    joint, features = _joint(), torch.randn(10, 6)
    lws = LWSClassifier(joint)
    assert torch.equal(lws(features), joint(features))
    with torch.no_grad():
        lws.scales.copy_(torch.tensor([0.5, 1.0, 2.0, 3.0]))
    assert torch.allclose(lws(features), joint(features) * lws.scales)
    assert torch.allclose(lws.as_linear()(features), lws(features), atol=1e-6)
    assert [p for p in lws.parameters() if p.requires_grad] == [lws.scales]


def test_ncm_on_separated_clusters_is_always_right():
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(5, 16, generator=generator) * 10
    labels = torch.tensor([0] * 50 + [1] * 20 + [2] * 8 + [3] * 4 + [4] * 2)  # long-tailed
    features = centres[labels] + 0.1 * torch.randn(len(labels), 16, generator=generator)
    ncm = NCMClassifier(features, labels, 5)
    test_labels = torch.arange(5).repeat(10)
    test = centres[test_labels] + 0.1 * torch.randn(50, 16, generator=generator)
    assert torch.equal(ncm(test).argmax(1), test_labels)


STAGE1 = ["model=anynet_cifar", "model_kwargs={depths: [1, 1, 1], widths: [8, 8, 16], stem_width: 8}",
          "dataset=fashion_mnist_lt", "imbalance_ratio=10", "lt_max_per_class=100", "lt_val_per_class=20",
          "input_size=16", "epochs=1", "batch_size=32", "lr=0.05", "warmup_epochs=0", "label_smoothing=0",
          "ema_decay=0", "threads=1", "seed=2"]


@needs_fmnist
def test_stage_one_on_fashion_mnist_lt_and_stage_two_leave_the_backbone_untouched(tmp_path):
    from mobilezoo.cli.main import main
    from mobilezoo.train.config import TrainConfig
    from mobilezoo.train.decoupling import stage_two
    from mobilezoo.train.engine import Trainer

    trainer = Trainer(TrainConfig.from_file(None, [*STAGE1, "sampler=sqrt", f"out_dir={tmp_path / 'run'}"]),
                      show_progress=False)
    assert len(trainer.train_set) == sum(long_tail_counts(100, 10, 10))
    assert trainer.eval_set.labels.bincount().tolist() == [1000] * 10  # the test split stays balanced
    assert trainer.train_set.dataset is not trainer.eval_set  # train images come from the training split only
    trainer.fit()
    counts = json.loads((tmp_path / "run" / "class_counts.json").read_text())
    assert counts["train_counts"] == long_tail_counts(100, 10, 10) and counts["sampler"] == "sqrt"
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["model"]
    result = stage_two(str(tmp_path / "run" / "last.pt"), crt_epochs=2, lws_epochs=1)
    for key, value in result.model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert set(result.reports) == {"joint", "ncm", "crt", "tau_norm", "lws"}
    report = result.reports["joint"]
    assert report.groups["many"] and report.groups["few"] and "log-count axis" in report.thresholds
    assert 0 <= report.overall <= 100 and len(report.per_class) == 10
    out = tmp_path / "stage2"
    assert main(["evaluate", str(tmp_path / "run" / "last.pt"), "--protocol", "rebalance", "--crt-epochs", "1",
                 "--lws-epochs", "1", "--release", "anynet_cifar.fmnist_lt_test", "--out", str(out)]) == 0
    record = json.loads((out / "result.json").read_text())
    assert record["train_counts"] == long_tail_counts(100, 10, 10)
    release = json.loads((out / "anynet_cifar.fmnist_lt_test.json").read_text())
    assert release["metrics"]["protocol"].endswith(record["best_on_validation"])
    with pytest.raises(InvalidInputError, match="long-tailed data set"):
        plain = Trainer(TrainConfig.from_file(None, [*STAGE1[:2], "input_size=16", "epochs=1", "limit_train=64",
                                                      "limit_eval=32", "batch_size=32", "threads=1",
                                                      f"out_dir={tmp_path / 'plain'}"]), show_progress=False)
        plain.fit()
        stage_two(str(tmp_path / "plain" / "last.pt"))


def test_a_1x1_conv_classifier_is_read_and_written_as_a_linear_layer():
    from mobilezoo.evaluation.protocols import attach_classifier, classifier_as_linear
    from mobilezoo.factory import create_model

    model = create_model("dmaskingnas_s600k", num_classes=10).eval()  # FBNet head: a 1x1 convolution
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        features = model.forward_head(model.forward_features(x), pre_logits=True)
        linear = classifier_as_linear(model.get_classifier())
        assert torch.allclose(linear(features), model(x), atol=1e-5)
        replacement = nn.Linear(linear.in_features, 4)
        attach_classifier(model, replacement)
        assert torch.allclose(model(x), replacement(features), atol=1e-5) and model.num_classes == 4

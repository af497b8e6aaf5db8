"""MoCo v1/v2 (mobilezoo.train.moco) and the frozen-backbone protocols (mobilezoo.evaluation)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mobilezoo.errors import InvalidInputError
from mobilezoo.factory import create_model
from mobilezoo.train.moco import MoCo, MoCoOptions, SplitBatchNorm2d

from .conftest import REPO_ROOT
from .test_train import needs_fmnist

SMALL = dict(depths=(1, 1, 1), widths=(8, 8, 16), stem_width=8)


def tiny_moco(**kwargs) -> MoCo:
    torch.manual_seed(0)
    return MoCo(lambda: create_model("anynet_cifar", num_classes=0, **SMALL), **{"dim": 8, "queue_size": 16, **kwargs})


def test_momentum_update_is_exact_over_parameters_only_and_keys_get_no_gradient():
    moco = tiny_moco(momentum=0.9, bn_splits=2).train()
    optimizer = torch.optim.SGD(moco.encoder_q.parameters(), lr=0.5)
    key_before = [p.clone() for p in moco.encoder_k.parameters()]
    query_before = [p.clone() for p in moco.encoder_q.parameters()]
    key_buffers = {n: b.clone() for n, b in moco.encoder_k.named_buffers()}
    images = torch.randn(8, 3, 16, 16)
    logits, labels = moco(images, images.flip(-1))
    F.cross_entropy(logits, labels).backward()
    optimizer.step()
    for old_key, old_query, key in zip(key_before, query_before, moco.encoder_k.parameters()):
        assert torch.equal(key, old_key.mul(0.9).add(old_query, alpha=1 - 0.9))  # from the query before its step
        assert key.grad is None and not key.requires_grad
    assert any(not torch.equal(a, b) for a, b in zip(query_before, moco.encoder_q.parameters()))
    # the key encoder's BN statistics come from its own forward pass, not from the query encoder
    for name, buffer in moco.encoder_k.named_buffers():
        if name.endswith("running_mean"):
            assert not torch.equal(buffer, key_buffers[name])
            assert not torch.equal(buffer, dict(moco.encoder_q.named_buffers())[name])


def test_queue_enqueues_at_the_pointer_wraps_and_refuses_a_batch_that_does_not_divide_it():
    moco = tiny_moco(queue_size=12)
    first, second = F.normalize(torch.randn(8, 8), dim=1), F.normalize(torch.randn(4, 8), dim=1)
    with pytest.raises(InvalidInputError, match="not a multiple of the global batch 8"):
        moco.enqueue(first)
    three = [F.normalize(torch.randn(4, 8), dim=1) for _ in range(4)]
    for batch in three[:3]:
        moco.enqueue(batch)
    assert int(moco.queue_ptr) == 0  # 3 x 4 = 12: wrapped
    assert torch.equal(moco.queue[:, 4:8], three[1].T)
    moco.enqueue(three[3])
    assert torch.equal(moco.queue[:, :4], three[3].T) and int(moco.queue_ptr) == 4
    q, k = F.normalize(torch.randn(4, 8), dim=1), second
    logits = moco.logits(q, k)
    assert logits.shape == (4, 13)
    assert torch.allclose(logits[:, 0], (q * k).sum(1) / moco.temperature)
    assert torch.allclose(logits[:, 1:], q @ moco.queue / moco.temperature)


def test_split_batchnorm_gives_each_virtual_sub_batch_its_own_statistics():
    torch.manual_seed(1)
    split = SplitBatchNorm2d(3, splits=4).train()
    plain = nn.BatchNorm2d(3).train()
    with torch.no_grad():
        split.weight.uniform_(0.5, 2)
        split.bias.uniform_(-1, 1)
    plain.load_state_dict(split.state_dict(), strict=False)
    x = torch.randn(8, 3, 5, 5) * torch.arange(1, 9.0).view(8, 1, 1, 1)  # sub-batches with different scales
    out = split(x)
    means, variances = [], []
    for s in range(4):
        part = nn.BatchNorm2d(3).train()
        part.load_state_dict(plain.state_dict())
        assert torch.allclose(out[2 * s : 2 * s + 2], part(x[2 * s : 2 * s + 2]), atol=1e-5)
        means.append(part.running_mean)
        variances.append(part.running_var)
    assert torch.allclose(split.running_mean, torch.stack(means).mean(0), atol=1e-6)
    assert torch.allclose(split.running_var, torch.stack(variances).mean(0), atol=1e-5)
    assert not torch.allclose(out, plain(x), atol=1e-3)  # one batch norm over all 8 would differ
    split.eval()
    assert torch.allclose(split(x), nn.functional.batch_norm(x, split.running_mean, split.running_var, split.weight,
                                                             split.bias, False, 0.0, split.eps))


def test_shuffling_bn_across_two_gloo_ranks_matches_the_permuted_batch(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", port, os.path.join(REPO_ROOT, "tests", "moco_shuffle_worker.py"), str(tmp_path)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rank in (0, 1):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert torch.allclose(result["keys"], result["reference"], atol=1e-6)
        assert not torch.allclose(result["keys"], result["unshuffled"], atol=1e-3)  # the shuffle changed BN's batch


def test_options_take_the_version_defaults_and_refuse_unknown_knobs():
    v1, v2 = MoCoOptions.from_dict({"version": "v1"}), MoCoOptions.from_dict({})
    assert (v1.temperature, v1.mlp, v1.augmentation.jitter_p, v1.augmentation.blur_p) == (0.07, False, 1.0, 0.0)
    assert (v2.temperature, v2.mlp, v2.augmentation.jitter_p, v2.augmentation.blur_p) == (0.2, True, 0.8, 0.5)
    assert MoCoOptions.from_dict({"version": "v1", "temperature": 0.2}).temperature == 0.2
    for bad, message in [({"version": "v3"}, "v1 or v2"), ({"queue": 5}, "unknown moco option 'queue'"),
                         ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"), ({"mlp": 1}, "mlp must be bool"),
                         ({"augmentation": {"blur": 1}}, "unknown augmentation option 'blur'")]:
        with pytest.raises(InvalidInputError, match=message):
            MoCoOptions.from_dict(bad)


def test_grey_views_skip_the_colour_no_ops_and_keep_the_channels_equal():
    from mobilezoo.data.contrastive_views import TwoViews, ViewAugmentation

    grey = ViewAugmentation.v2().transform(16, grey=True)
    colour = ViewAugmentation.v2().transform(16, grey=False)
    names = lambda t: repr(t)
    assert "RandomGrayscale" not in names(grey) and "saturation" not in names(grey) and "hue" not in names(grey)
    assert "RandomGrayscale" in names(colour) and "hue" in names(colour)
    torch.manual_seed(0)
    images = torch.rand(4, 1, 16, 16).expand(-1, 3, -1, -1)
    first, second = TwoViews(ViewAugmentation.v2(), 16, grey=True)(images)
    assert first.shape == (4, 3, 16, 16) and torch.equal(first[:, 0], first[:, 2])
    assert not torch.equal(first, second)  # independent views
    # saturation, hue and greyscale change a grey image by float rounding only (< 1/4 of a uint8 step)
    from torchvision.transforms.v2 import functional as TF

    one = images[0]
    for changed in (TF.adjust_saturation(one, 1.7), TF.adjust_hue(one, 0.3), TF.rgb_to_grayscale(one, 3)):
        assert torch.allclose(changed, one, atol=1e-3)
    assert not torch.allclose(TF.adjust_brightness(one, 1.3), one, atol=1e-2)  # brightness is not a no-op


def test_knn_on_separated_clusters_is_exact_and_votes_are_weighted():
    from mobilezoo.evaluation.knn import knn_accuracy, knn_predict

    generator = torch.Generator().manual_seed(0)
    centres = torch.eye(4) * 10
    bank_labels = torch.arange(4).repeat_interleave(25)
    bank = centres[bank_labels] + torch.randn(100, 4, generator=generator)
    query_labels = torch.arange(4).repeat(5)
    queries = centres[query_labels] + torch.randn(20, 4, generator=generator)
    assert knn_accuracy(queries, query_labels, bank, bank_labels, 4, k=10) == 100.0
    # one very close neighbour of class 1 outvotes two far ones of class 0 (exp(sim / t) weights)
    scores = knn_predict(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.05], [0.6, 0.8], [0.6, -0.8]]),
                         torch.tensor([1, 0, 0]), 2, k=3, t=0.1)
    assert scores.argmax().item() == 1


def test_linear_probe_learns_separable_features_and_never_touches_the_backbone():
    from mobilezoo.evaluation.protocols import evaluate_frozen

    backbone = create_model("anynet_cifar", num_classes=0, **SMALL).train()
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(2).repeat(32)
    images = torch.randn(64, 3, 16, 16, generator=generator) + labels.view(-1, 1, 1, 1) * 3.0
    data = torch.utils.data.TensorDataset(images, labels)
    result = evaluate_frozen(backbone, "linear", data, data, 2, epochs=20, lrs=(0.1, 1.0))
    assert result.top1 == 100.0 and result.details["backbone_unchanged"]
    assert backbone.training  # its mode is restored
    knn = evaluate_frozen(backbone, "knn", data, data, 2, knn_k=5)
    assert knn.top1 == 100.0


def test_labelled_fraction_is_stratified_seeded_and_nested():
    from mobilezoo.data.subsets import labelled_fraction

    labels = np.repeat(np.arange(10), 600)
    one, ten = labelled_fraction(labels, 0.01, seed=3), labelled_fraction(labels, 0.1, seed=3)
    assert len(one) == 60 and np.bincount(labels[one]).tolist() == [6] * 10
    assert np.array_equal(one, labelled_fraction(labels, 0.01, seed=3))
    assert not np.array_equal(one, labelled_fraction(labels, 0.01, seed=4))
    assert set(one) <= set(ten) and len(ten) == 600
    with pytest.raises(InvalidInputError, match="label fraction"):
        labelled_fraction(labels, 0.0)


MOCO_RUN = ["model=anynet_cifar", "model_kwargs={depths: [1, 1, 1], widths: [8, 8, 16], stem_width: 8}",
            "method=moco", "moco={queue_size: 256, momentum: 0.9, bn_splits: 4, knn_k: 20, augmentation: {blur_p: 0.0}}",
            "input_size=16", "batch_size=32", "limit_train=320", "limit_eval=64", "lr=0.06", "weight_decay=5e-4",
            "warmup_epochs=0", "label_smoothing=0", "threads=1", "seed=1"]


def _pair_loss(moco: MoCo, first: torch.Tensor, second: torch.Tensor) -> float:
    moco.eval()
    with torch.no_grad():
        q, k = F.normalize(moco.encoder_q(first), dim=1), F.normalize(moco.encoder_k(second), dim=1)
        return F.cross_entropy(q @ k.T / moco.temperature, torch.arange(len(q))).item()


@needs_fmnist
def test_two_epoch_moco_run_lowers_the_loss_and_resumes_exactly(tmp_path):
    from mobilezoo.train.config import TrainConfig
    from mobilezoo.train.engine import Trainer

    straight = Trainer(TrainConfig.from_file(None, [*MOCO_RUN, "epochs=2", f"out_dir={tmp_path / 'a'}"]), show_progress=False)
    # the running loss rises while real keys replace the queue's random ones, so the loss that must fall is measured
    # on fixed views of held-out images against in-batch negatives, before and after training
    rng = torch.get_rng_state()  # the run's own random stream must not see this probe
    torch.manual_seed(123)
    images = torch.stack([straight.eval_set[i][0] for i in range(64)])
    (first_views, second_views), _ = straight.task.prepare(images, torch.zeros(64))
    before = _pair_loss(straight.model, first_views, second_views)
    torch.set_rng_state(rng)
    history = straight.fit()
    assert _pair_loss(straight.model, first_views, second_views) < before - 0.1
    assert 10.0 < history[1]["eval_top1"] <= 100.0 and history[1]["knn_bank"] == 320
    first = Trainer(TrainConfig.from_file(None, [*MOCO_RUN, "epochs=2", f"out_dir={tmp_path / 'b'}"]), show_progress=False)
    first.fit(stop_after=1)
    resumed = Trainer(TrainConfig.from_file(None, [*MOCO_RUN, "epochs=2", f"out_dir={tmp_path / 'b'}"]), show_progress=False)
    resumed.fit(resume=True)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert int(a["queue_ptr"]) == (2 * 10 * 32) % 256
    for key in a:
        assert torch.equal(a[key], b[key]), key  # weights, key encoder, queue and pointer
    with pytest.raises(InvalidInputError, match="no classifier to release"):
        resumed.save_release("anynet_cifar.x")


@needs_fmnist
def test_evaluate_command_probes_a_moco_checkpoint_and_packages_a_loadable_classifier(tmp_path):
    from mobilezoo.cli.main import main
    from mobilezoo.train.config import TrainConfig
    from mobilezoo.train.engine import Trainer

    Trainer(TrainConfig.from_file(None, [*MOCO_RUN, "epochs=1", f"out_dir={tmp_path / 'run'}"]), show_progress=False).fit()
    out = tmp_path / "release"
    code = main(["evaluate", str(tmp_path / "run" / "last.pt"), "--protocol", "linear", "--input-size", "16",
                 "--limit-train", "200", "--limit-eval", "100", "--epochs", "5", "--release",
                 "anynet_cifar.fmnist_moco_test", "--out", str(out)])
    assert code == 0
    import json

    record = json.loads((out / "result.json").read_text())
    assert record["details"]["backbone_unchanged"] and record["train_samples"] == 200 and record["test_samples"] == 100
    release = json.loads((out / "anynet_cifar.fmnist_moco_test.json").read_text())
    assert release["metrics"]["top1"] == round(record["top1"], 2) and release["recipe_config"]["method"] == "moco"
    # the packaged file is a whole classifier: the zoo model loads it and reproduces the probe's accuracy
    from mobilezoo.data.fashion_mnist import fashion_mnist, fmnist_cfg

    model = create_model("anynet_cifar", num_classes=10, checkpoint_path=str(out / "anynet_cifar.fmnist_moco_test.safetensors"),
                         **SMALL).eval()
    test = fashion_mnist("test", fmnist_cfg(model.pretrained_cfg, 16).to_dict(), 100)
    with torch.no_grad():
        predicted = model(torch.stack([test[i][0] for i in range(100)])).argmax(1)
    top1 = 100.0 * (predicted == test.labels).float().mean().item()
    assert abs(top1 - record["top1"]) <= 2.0  # fp16 storage may flip a borderline image or two


def test_linear_probe_standardises_features_of_any_scale_and_folds_it_into_the_layer():
    from mobilezoo.evaluation.linear_probe import fold_standardisation, linear_probe, standardiser

    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat(40)
    features = (torch.randn(120, 5, generator=generator) + torch.eye(3, 5)[labels] * 3) * 1e-9  # a random init's scale
    result = linear_probe(features, labels, features, labels, 3, lrs=(1.0,), epochs=10)
    assert result.top1 > 95.0  # learnable at 1e-9 because the probe standardises
    mean, std = standardiser(features)
    layer = torch.nn.Linear(5, 3)
    folded = fold_standardisation(layer, mean, std)
    assert torch.allclose(folded(features), layer((features - mean) / std), atol=1e-4)


@needs_fmnist
def test_moco_trains_under_ddp_with_one_queue_and_one_set_of_weights(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    overrides = [o for o in MOCO_RUN if not o.startswith("batch_size")] + ["batch_size=16", "epochs=1",
                                                                            f"out_dir={tmp_path / 'ddp'}"]
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", port, os.path.join(REPO_ROOT, "tests", "ddp_worker.py"), str(tmp_path), *overrides],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    # 320 images / 2 ranks / 16 = 10 steps of a global batch of 32 keys, all-gathered into the one queue
    assert int(rank0["queue_ptr"]) == int(rank1["queue_ptr"]) == (10 * 32) % 256
    for key in rank0:
        if key.startswith("encoder_q") and not key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            assert torch.equal(rank0[key], rank1[key]), key
    assert torch.equal(rank0["queue"], rank1["queue"])

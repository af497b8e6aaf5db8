"""Training: exact resume, DDP on 2 CPU processes vs one process, schedule, optimiser groups, data errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from mobilezoo.errors import InvalidInputError, MobileZooError
from mobilezoo.train.config import TrainConfig
from mobilezoo.train.engine import ShardedSampler, Trainer
from mobilezoo.train.optim import cosine_with_warmup, parameter_groups

from .conftest import REPO_ROOT

TINY = os.path.join(REPO_ROOT, "configs", "models", "fbnet_tiny_example.yaml")
HAVE_FMNIST = os.path.isfile("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") or bool(
    os.environ.get("MOBILEZOO_FASHION_MNIST")
)
needs_fmnist = pytest.mark.skipif(not HAVE_FMNIST, reason="apt-get install dataset-fashion-mnist (tests/run.sh does)")


def tiny_config(tmp_path, **overrides) -> TrainConfig:
    base = dict(model=TINY, dataset="fashion_mnist", input_size=32, epochs=2, batch_size=32, limit_train=256,
                limit_eval=64, lr=0.05, ema_decay=0.9, grad_clip=2.0, out_dir=str(tmp_path), threads=1)
    base.update(overrides)
    return TrainConfig.from_dict(base)


@needs_fmnist
def test_interrupted_and_resumed_run_ends_with_identical_weights(tmp_path):
    straight = Trainer(tiny_config(tmp_path / "a"), show_progress=False)
    straight.fit()
    first = Trainer(tiny_config(tmp_path / "b"), show_progress=False)
    first.fit(stop_after=1)  # "interrupted" after epoch 1; its checkpoint is on disk
    assert first.epoch == 1 and (tmp_path / "b" / "last.pt").exists()
    resumed = Trainer(tiny_config(tmp_path / "b"), show_progress=False)
    resumed.fit(resume=True)
    assert resumed.epoch == 2
    for key, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[key]), key
    for key, tensor in straight.ema.module.state_dict().items():
        assert torch.equal(tensor, resumed.ema.module.state_dict()[key]), key
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and (tmp_path / "b" / "curves.png").stat().st_size > 1000


@needs_fmnist
def test_initial_checkpoint_starts_from_its_weights_with_a_fresh_schedule(tmp_path):
    earlier = Trainer(tiny_config(tmp_path / "a", epochs=1), show_progress=False)
    earlier.fit()
    start = tiny_config(tmp_path / "b", epochs=1, initial_checkpoint=str(tmp_path / "a" / "last.pt"))
    continued = Trainer(start, show_progress=False)
    fresh_lr = continued.optimizer.param_groups[0]["lr"]
    continued.fit(stop_after=0)  # loads the weights, trains nothing
    assert continued.epoch == 0 and continued.optimizer.param_groups[0]["lr"] == fresh_lr
    for key, tensor in earlier.model.state_dict().items():
        assert torch.equal(tensor, continued.model.state_dict()[key]), key
        assert torch.equal(earlier.ema.module.state_dict()[key], continued.ema.module.state_dict()[key]), key
    other = Trainer(tiny_config(tmp_path / "c", num_classes=7, initial_checkpoint=start.initial_checkpoint),
                    show_progress=False)
    with pytest.raises(MobileZooError, match="num_classes=10.*num_classes=7"):
        other.fit()


@needs_fmnist
def test_ddp_two_cpu_processes_match_single_process(tmp_path):
    common = [f"model={TINY}", "input_size=32", "epochs=1", "limit_train=256", "limit_eval=32", "lr=0.05",
              "ema_decay=0", "label_smoothing=0", "threads=1", "seed=3", "freeze_bn=true"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    import socket

    with socket.socket() as probe:  # a free loopback port, so a busy 29500 never breaks the test
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", port,
         os.path.join(REPO_ROOT, "tests", "ddp_worker.py"), str(tmp_path), *common, "batch_size=16",
         f"out_dir={tmp_path / 'ddp'}"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]) or key.endswith(("running_mean", "running_var")), key
    single = Trainer(TrainConfig.from_file(None, [*common, "batch_size=32", f"out_dir={tmp_path / 'single'}"]), show_progress=False)
    initial = {k: v.clone() for k, v in single.model.state_dict().items()}
    single.fit()
    # Same global batches, gradients averaged over ranks. BN is frozen here because per-rank batch
    # statistics (16 vs 32 samples) would otherwise differ by design. Measured: 2e-7 of the update.
    keys = [k for k in rank0 if rank0[k].is_floating_point()]
    difference = sum(((single.model.state_dict()[k] - rank0[k]) ** 2).sum() for k in keys).sqrt()
    update = sum(((rank0[k] - initial[k]) ** 2).sum() for k in keys).sqrt()
    assert update > 0 and (difference / update).item() < 1e-4


def test_sharded_sampler_union_equals_single_process_order():
    single = list(ShardedSampler(100, seed=1, rank=0, world=1))
    rank0, rank1 = list(ShardedSampler(100, 1, 0, 2)), list(ShardedSampler(100, 1, 1, 2))
    assert sorted(rank0[:8] + rank1[:8]) == sorted(single[:16])
    other_epoch = ShardedSampler(100, 1)
    other_epoch.set_epoch(1)
    assert list(other_epoch) != single


def test_warmup_then_cosine_schedule():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    scheduler = cosine_with_warmup(optimizer, warmup_steps=4, total_steps=14)
    rates = []
    for _ in range(14):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert rates[4] == pytest.approx(1.0) and rates[9] == pytest.approx(0.5) and rates[-1] < 0.03


def test_no_weight_decay_on_bn_and_biases():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2))
    decay, no_decay = parameter_groups(model, 1e-4)
    assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0
    assert {p.shape for p in decay["params"]} == {torch.Size([4, 3, 3, 3]), torch.Size([2, 4])}
    assert len(no_decay["params"]) == 4  # conv bias, BN weight and bias, linear bias


def test_config_errors():
    with pytest.raises(InvalidInputError, match="unknown training option 'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 1})
    with pytest.raises(InvalidInputError, match="optimizer must be"):
        TrainConfig.from_file(None, ["optimizer=adam"])
    assert TrainConfig.from_file(None, ["epochs=3", "lr=0.5"]).lr == 0.5


def test_missing_fashion_mnist_names_the_apt_command(tmp_path, monkeypatch):
    from mobilezoo.data.fashion_mnist import load_fashion_mnist

    monkeypatch.setenv("MOBILEZOO_FASHION_MNIST", str(tmp_path))
    with pytest.raises(MobileZooError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train")


def test_folder_dataset(tmp_path):
    from PIL import Image

    from mobilezoo.data.folders import folder_cfg, image_folder
    from mobilezoo.registry import get_pretrained_cfg

    for split in ("train", "val"):
        for index, name in enumerate(("cat", "dog")):
            (tmp_path / split / name).mkdir(parents=True)
            Image.new("RGB", (40, 30), (index * 200, 20, 20)).save(tmp_path / split / name / "a.png")
    cfg = folder_cfg(get_pretrained_cfg("fbnetv2_f1"), 32, tmp_path / "train")
    data = image_folder(tmp_path / "train", cfg)
    assert cfg["class_names"] == ("cat", "dog") and len(data) == 2
    image, label = data[1]
    assert image.shape == (3, 32, 32) and label == 1
    with pytest.raises(InvalidInputError, match="does not exist"):
        image_folder(tmp_path / "nope", cfg)


def test_clip_folder_trains_s3d_for_a_step(tmp_path):
    import shutil

    from mobilezoo.data.video import sample_clip_path

    for split in ("train", "val"):
        for name, clip in (("bikes", "bikes.mp4"), ("phone", "carphone_pristine.mp4")):
            (tmp_path / split / name).mkdir(parents=True)
            shutil.copy(sample_clip_path(clip), tmp_path / split / name / clip)
    config = TrainConfig.from_dict(dict(model="s3d", dataset="clips", data_dir=str(tmp_path), input_size=32, clip_frames=4,
                                        num_classes=2, epochs=1, batch_size=2, lr=0.01, ema_decay=0, threads=1,
                                        out_dir=str(tmp_path / "run")))
    trainer = Trainer(config, show_progress=False)
    assert trainer.cfg["input_size"] == (3, 4, 32, 32) and trainer.cfg["class_names"] == ("bikes", "phone")
    images, label = trainer.train_set[0]
    assert images.shape == (3, 4, 32, 32)
    history = trainer.fit()
    assert len(history) == 1 and history[0]["eval_samples"] == 2


@needs_fmnist
def test_eval_every_skips_evaluations_but_always_evaluates_the_last_epoch(tmp_path):
    config = TrainConfig.from_file(None, [f"model={TINY}", "input_size=32", "epochs=3", "eval_every=2", "limit_train=64",
                                          "limit_eval=32", "batch_size=32", "threads=1", "ema_decay=0",
                                          f"out_dir={tmp_path}"])
    history = Trainer(config, show_progress=False).fit()
    assert ["eval_top1" in r for r in history] == [False, True, True]
    assert (tmp_path / "curves.png").is_file()


@needs_fmnist
def test_eval_split_val_holds_out_the_last_10000_training_images_and_reports_test_once(tmp_path):
    import numpy as np

    from mobilezoo.data.fashion_mnist import VALIDATION_START, load_fashion_mnist

    trainer = Trainer(tiny_config(tmp_path, epochs=2, eval_split="val", limit_train=0, limit_eval=64,
                                  ema_decay=0.0), show_progress=False)
    images, labels = load_fashion_mnist("train")
    assert len(trainer.train_set) == VALIDATION_START == 50_000 and len(trainer.eval_set) == 64
    # the evaluation images are the training file's images 50,000..50,063; none of them is trained on
    assert torch.equal(trainer.eval_set.labels, torch.from_numpy(labels[VALIDATION_START:VALIDATION_START + 64]))
    assert np.array_equal(trainer.train_set.labels.numpy(), labels[:VALIDATION_START])
    trainer = Trainer(tiny_config(tmp_path, epochs=2, eval_split="val", limit_train=128, limit_eval=64,
                                  ema_decay=0.0), show_progress=False)
    history = trainer.fit()
    assert ["test_top1" in r for r in history] == [False, True]  # the test split once, after the last epoch
    assert history[-1]["test_samples"] == 64 and 0 <= history[-1]["test_top1"] <= 100
    release = json.loads(trainer.save_release("tiny.val").with_suffix(".json").read_text())
    assert release["metrics"]["top1"] == round(history[-1]["test_top1"], 2)  # a release reports test, not validation
    assert release["metrics"]["val_top1"] == round(history[-1]["eval_top1"], 2)
    with pytest.raises(InvalidInputError, match="eval_split must be test, val or probe_fifth"):
        tiny_config(tmp_path, eval_split="validation")
    with pytest.raises(InvalidInputError, match="eval_split=val carves Fashion-MNIST"):
        tiny_config(tmp_path, eval_split="val", dataset="folder", data_dir=str(tmp_path))


@needs_fmnist
def test_eval_split_probe_fifth_validates_on_the_images_the_linear_probe_validates_on(tmp_path, monkeypatch):
    """A supervised baseline tuned with eval_split probe_fifth is chosen on the very images a linear probe with the same
    label draw chooses its lr on (issue 31: tune both on one validation split)."""
    import numpy as np

    from mobilezoo.data.fashion_mnist import load_fashion_mnist
    from mobilezoo.data.subsets import dataset_labels, labelled_fraction, validation_fifth
    from mobilezoo.evaluation import linear_probe as probe_module

    trainer = Trainer(tiny_config(tmp_path, label_fraction=0.01, eval_split="probe_fifth", seed=2, limit_train=0),
                      show_progress=False)
    labels = load_fashion_mnist("train")[1]
    labelled = labelled_fraction(labels, 0.01, seed=2)
    validation, fit = validation_fifth(len(labelled), seed=2)
    assert (len(trainer.eval_set), len(trainer.train_set)) == (120, 480)
    assert np.array_equal(dataset_labels(trainer.eval_set), labels[labelled[validation.numpy()]])
    assert np.array_equal(dataset_labels(trainer.train_set), labels[labelled[fit.numpy()]])
    assert not set(trainer.eval_set.indices) & set(trainer.train_set.indices)
    calls = []

    def spy(count, seed=0):
        calls.append((count, seed))
        return validation_fifth(count, seed)

    monkeypatch.setattr(probe_module, "validation_fifth", spy)
    features, targets = torch.randn(600, 8), torch.from_numpy(labels[labelled]).long()
    probe_module.linear_probe(features, targets, features[:10], targets[:10], 10, lrs=(0.1,), epochs=1, seed=2)
    assert calls == [(600, 2)]  # the probe holds out validation_fifth(600, 2): the supervised run's eval images


def test_seeded_blocks_and_runs_give_back_the_process_state(tmp_path):
    """One place sets seeds and threads (mobilezoo.seeding); a block, a training or a search gives them back."""
    import random as pyrandom

    import numpy as np

    from mobilezoo.seeding import seeded

    threads = torch.get_num_threads()
    torch.manual_seed(123), np.random.seed(123), pyrandom.seed(123)
    expected = (torch.rand(3), np.random.rand(), pyrandom.random())
    torch.manual_seed(123), np.random.seed(123), pyrandom.seed(123)
    with seeded(0, threads=1):
        assert torch.get_num_threads() == 1
        inside = torch.rand(3)
    with seeded(0):
        assert torch.equal(torch.rand(3), inside)  # the same seed, the same draws
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.rand(3), expected[0]) and np.random.rand() == expected[1] and pyrandom.random() == expected[2]


@needs_fmnist
def test_a_trainer_used_as_a_context_gives_back_the_generators(tmp_path):
    before = torch.get_rng_state()
    threads = torch.get_num_threads()
    with Trainer(tiny_config(tmp_path, threads=1), show_progress=False) as trainer:
        assert torch.get_num_threads() == 1 and trainer.epoch == 0
    assert torch.equal(torch.get_rng_state(), before) and torch.get_num_threads() == threads

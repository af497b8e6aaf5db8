"""UnNAS pretext tasks: rotation, jigsaw and colorization transforms with known answers; short trainings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mobilezoo.errors import InvalidInputError
from mobilezoo.train.config import TrainConfig
from mobilezoo.train.lab_color import ab_bins, lab_to_rgb, nearest_bin, rgb_to_lab
from mobilezoo.train.pretext import Task, from_tiles, maximal_hamming_permutations, to_tiles

from .test_train import needs_fmnist


def test_rotation_yields_the_four_rotations_with_their_labels():
    images = torch.randn(3, 2, 8, 8)
    inputs, labels = Task("rotation").prepare(images, torch.zeros(3, dtype=torch.long))
    assert inputs.shape == (12, 2, 8, 8)
    for index in range(12):
        k = int(labels[index])
        assert torch.equal(inputs[index], torch.rot90(images[index % 3], k, dims=(1, 2)))
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


@pytest.mark.parametrize("grid, count", [(2, 24), (3, 12)])
def test_every_jigsaw_permutation_reassembles_the_image(grid, count):
    task = Task("jigsaw", jigsaw_grid=grid, jigsaw_permutations=count)
    assert len(task.permutations) == count and len({tuple(p.tolist()) for p in task.permutations}) == count
    image = torch.randn(1, 3, 6 * grid, 6 * grid)
    tiles = to_tiles(image, grid)
    assert torch.equal(from_tiles(tiles, grid), image)
    for order in task.permutations:
        shuffled = tiles[:, order]  # what prepare() feeds the network for this permutation (before normalising)
        restored = torch.empty_like(shuffled)
        restored[:, order] = shuffled
        assert torch.equal(from_tiles(restored, grid), image)
    inputs, labels = task.prepare(image.expand(4, -1, -1, -1).contiguous(), torch.zeros(4, dtype=torch.long))
    for b in range(4):
        order = task.permutations[labels[b]]
        expected = tiles[0, order]
        expected = (expected - expected.mean(dim=(-2, -1), keepdim=True)) / expected.std(dim=(-2, -1), keepdim=True)
        torch.testing.assert_close(inputs[b], expected)  # per-tile normalised, in the permutation's order


def test_maximal_hamming_set_is_spread_and_deterministic():
    chosen = maximal_hamming_permutations(9, 10, seed=3)
    assert torch.equal(chosen, maximal_hamming_permutations(9, 10, seed=3))
    distances = [int((a != b).sum()) for a, b in itertools.combinations(chosen, 2)]
    assert min(distances) >= 8  # greedy max-min over 9! permutations keeps them nearly disjoint
    assert len(maximal_hamming_permutations(4, 24)) == 24


def test_lab_round_trip_on_real_photos_and_nearest_bin_targets():
    from mobilezoo.data.samples import sample_photos

    for photo in sample_photos()[:3]:
        rgb = torch.from_numpy(photo).permute(2, 0, 1).double() / 255
        assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max() < 1e-3
    bins = torch.from_numpy(ab_bins())
    assert len(bins) == 261  # every ab cell of grid 10 that an 8-bit sRGB colour reaches (Zhang et al.: 313)
    ab = torch.from_numpy(np.random.default_rng(0).uniform(-80, 80, size=(2, 5, 7)))
    index = nearest_bin(ab, bins)
    for i in range(5):
        for j in range(7):
            distances = ((bins.double() - ab[:, i, j]) ** 2).sum(1)
            assert distances[index[i, j]] == distances.min()


def test_bad_tasks_and_grids_are_one_line_errors():
    with pytest.raises(InvalidInputError, match="task must be one of"):
        TrainConfig.from_dict({"task": "inpainting"})
    with pytest.raises(InvalidInputError, match="does not divide a 10x10 image"):
        Task("jigsaw", jigsaw_grid=3, jigsaw_permutations=10).prepare(torch.randn(1, 3, 10, 10), torch.zeros(1))
    with pytest.raises(InvalidInputError, match="colorization needs colour images: dataset=colour_crops"):
        TrainConfig.from_dict({"task": "colorization", "dataset": "fashion_mnist"})


@needs_fmnist
@pytest.mark.parametrize("task", ["rotation", "jigsaw", "colorization"])
def test_a_short_pretext_training_lowers_the_loss(tmp_path, task):
    from mobilezoo.train.engine import Trainer

    config = TrainConfig.from_dict({
        "model": "darts_net", "model_kwargs": {"genotype": "darts_v2", "channels": 8, "layers": 4, "layout": "cifar"},
        "task": task, "dataset": "colour_crops" if task == "colorization" else "fashion_mnist",
        "input_size": 16 if task == "colorization" else 28, "epochs": 2, "batch_size": 32, "lr": 0.05,
        "warmup_epochs": 0, "limit_train": 192, "limit_eval": 64, "out_dir": str(tmp_path), "threads": 1,
        "label_smoothing": 0.0})
    history = Trainer(config, show_progress=False).fit()
    assert history[1]["train_loss"] < history[0]["train_loss"]
    assert 0 <= history[1]["eval_top1"] <= 100

"""UnNAS pretext tasks: rotation, jigsaw and colorization transforms with known answers; short trainings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mobilezoo.errors import InvalidInputError
from mobilezoo.train.config import TrainConfig
from mobilezoo.train.lab_color import ab_bins, lab_to_rgb, nearest_bin, reference_ab_bins, rgb_to_lab
from mobilezoo.train.pretext import from_tiles, make_task, maximal_hamming_permutations, to_tiles

from .test_train import needs_fmnist


def test_rotation_yields_the_four_rotations_with_their_labels():
    images = torch.randn(3, 2, 8, 8)
    inputs, labels = make_task("rotation").prepare(images, torch.zeros(3, dtype=torch.long))
    assert inputs.shape == (12, 2, 8, 8)
    for index in range(12):
        k = int(labels[index])
        assert torch.equal(inputs[index], torch.rot90(images[index % 3], k, dims=(1, 2)))
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


@pytest.mark.parametrize("grid, count", [(2, 24), (3, 12)])
def test_every_jigsaw_permutation_reassembles_the_image(grid, count):
    task = make_task("jigsaw", jigsaw_grid=grid, jigsaw_permutations=count, jigsaw_tile_ratio=1.0)  # no gap: whole cells
    assert len(task.permutations) == count and len({tuple(p.tolist()) for p in task.permutations}) == count
    image = torch.randn(1, 3, 6 * grid, 6 * grid)
    cells = to_tiles(image, grid)
    assert torch.equal(from_tiles(cells, grid), image)
    inputs, labels = task.prepare(image.expand(4, -1, -1, -1).contiguous(), torch.zeros(4, dtype=torch.long))
    for b in range(4):
        order = task.permutations[labels[b]]
        restored = inputs[b][order]  # cell k sits at position order[k] (the reference's tiles[perm[k]] = tile k)
        for k in range(grid * grid):
            cell = cells[0, k]
            expected = (cell - cell.mean()) / cell.std(unbiased=False)  # one scalar mean and std per tile
            torch.testing.assert_close(restored[k], expected)
    if grid == 2:  # the reference's permutations_24: all 24, lexicographic
        assert [tuple(p.tolist()) for p in task.permutations] == list(itertools.permutations(range(4)))


def test_jigsaw_tiles_are_gapped_crops_and_training_greys_a_share_of_colour_images():
    task = make_task("jigsaw", seed=1)
    images = torch.randn(64, 3, 32, 32)
    to_rgb = lambda x: x * 0.25 + 0.5  # noqa: E731  (the data's normalisation, inverted)
    inputs, labels = task.prepare(images, torch.zeros(64, dtype=torch.long), to_rgb, training=False)
    assert inputs.shape == (64, 4, 3, 12, 12)  # int(16 * 0.76) = 12 px tiles from 16 px cells
    cells = to_tiles(images, 2)
    offsets = set()
    for b in range(4):
        restored = inputs[b][task.permutations[labels[b]]]
        for k in range(4):
            windows = [(i, j) for i in range(5) for j in range(5)
                       if torch.allclose(restored[k], _scalar_normalised(cells[b, k, :, i:i + 12, j:j + 12]), atol=1e-5)]
            assert len(windows) == 1  # the tile is one 12 x 12 window of its own cell
            offsets.add(windows[0])
    assert len(offsets) > 4  # at random offsets
    assert not _grey(inputs).any()  # evaluation: no image turned grey
    trained, _ = task.prepare(images, torch.zeros(64, dtype=torch.long), to_rgb, training=True)
    share = _grey(trained).float().mean().item()
    assert 0.15 < share < 0.45  # ~30% of training images turned grey
    grey_image = images[:1, :1].expand(-1, 3, -1, -1).contiguous()  # a grey data set (Fashion-MNIST) stays as it is
    weights = torch.tensor([0.2125, 0.7154, 0.0721]).view(1, 3, 1, 1)
    assert torch.allclose((to_rgb(grey_image) * weights).sum(1), to_rgb(grey_image)[:, 0])


def _scalar_normalised(tile: torch.Tensor) -> torch.Tensor:
    return (tile - tile.mean()) / tile.std(unbiased=False)


def _grey(inputs: torch.Tensor) -> torch.Tensor:
    """Per image: every tile's three channels equal."""
    return (inputs - inputs[:, :, :1]).abs().amax(dim=(1, 2, 3, 4)) < 1e-5


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
    assert len(ab_bins()) == 261  # every ab cell of grid 10 an 8-bit sRGB colour reaches: fewer than the reference's
    bins = torch.from_numpy(reference_ab_bins())
    assert len(bins) == 313 and len(make_task("colorization").bins) == 313  # Zhang et al.'s in-gamut bins, as UnNAS
    assert bins[:3].tolist() == [[-90, 50], [-90, 60], [-90, 70]] and bins[-1].tolist() == [100, 0]  # its order
    assert {tuple(b) for b in bins.tolist()} >= {tuple(b) for b in ab_bins().tolist()}  # every sRGB bin is one of them
    colour = torch.rand(2, 3, 4, 4)
    inputs, targets = make_task("colorization").prepare((colour - 0.5) / 0.25, torch.zeros(2), lambda x: x * 0.25 + 0.5)
    lab = rgb_to_lab(colour)
    torch.testing.assert_close(inputs, (lab[:, :1] / 100 - 0.5) / 0.25)  # L / 100, normalised as the data is
    assert torch.equal(targets, nearest_bin(lab[:, 1:], bins.to(lab)))
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
        make_task("jigsaw", jigsaw_grid=3, jigsaw_permutations=10).prepare(torch.randn(1, 3, 10, 10), torch.zeros(1))
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

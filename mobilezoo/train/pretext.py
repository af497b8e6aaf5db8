"""Training tasks: supervised classification and the label-free pretext tasks of UnNAS (arXiv 2003.12056).

A :class:`Task` is a batch transform (images, labels -> inputs, targets), a network around any zoo backbone, a loss
and an accuracy. The trainer selects one with ``task:`` in the training YAML.

- ``classification``: the labels, the backbone's classifier.
- ``rotation``: every image of the batch in all four rotations (0, 90, 180, 270 degrees, ``torch.rot90`` on H, W),
  labels 0-3, the backbone's classifier set to 4 outputs.
- ``jigsaw`` (as UnNAS's ``prepare_jig``): in training, 30% of the images turned grey first (luminance
  0.2125 R + 0.7154 G + 0.0721 B in every channel; a grey data set such as Fashion-MNIST is unchanged); the image cut
  into ``grid x grid`` cells; from each cell a tile of ``int(0.76 x cell)`` pixels at a random offset (the gap keeps
  edges from matching across tiles); each tile normalised by one scalar mean and std; cell k placed at position
  ``perm[k]`` of a permutation drawn from a fixed set (2 x 2: all 24 in lexicographic order, the reference's
  ``permutations_24``; 3 x 3: ``permutations`` chosen greedily for maximal Hamming distance); label = the
  permutation's index. One backbone (pre-logits features) runs on every tile, the tile features are concatenated in
  position order and a linear layer predicts the permutation.
- ``colorization`` (as ``prepare_col``): input the L channel of CIE Lab, L / 100 normalised by the mean of the
  data's per-channel mean and std; target per pixel the index of the nearest of the reference's 313 ab bins
  (:mod:`.lab_color`); the backbone's feature map, a 1x1 conv to the bins, bilinear upsampling to the input size,
  per-pixel cross-entropy. Needs colour images.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidInputError

# --- jigsaw geometry ---------------------------------------------------------------------------------------


def to_tiles(images: torch.Tensor, grid: int) -> torch.Tensor:
    """[B, C, H, W] -> [B, grid*grid, C, H/grid, W/grid], tiles in row-major order."""
    b, c, h, w = images.shape
    if h % grid or w % grid:
        raise InvalidInputError(f"a {grid}x{grid} jigsaw grid does not divide a {h}x{w} image; use an input size that "
                                f"is a multiple of {grid}")
    tiles = images.view(b, c, grid, h // grid, grid, w // grid).permute(0, 2, 4, 1, 3, 5)
    return tiles.reshape(b, grid * grid, c, h // grid, w // grid)


def from_tiles(tiles: torch.Tensor, grid: int) -> torch.Tensor:
    """Inverse of :func:`to_tiles`."""
    b, _, c, th, tw = tiles.shape
    return tiles.view(b, grid, grid, c, th, tw).permute(0, 3, 1, 4, 2, 5).reshape(b, c, grid * th, grid * tw)


def maximal_hamming_permutations(tiles: int, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` permutations of ``tiles`` chosen greedily so each new one is as far (Hamming) from the chosen as
    possible (Noroozi & Favaro's selection); all of them when ``count`` is the total. Deterministic for a seed."""
    every = np.array(list(itertools.permutations(range(tiles))), dtype=np.int8)
    if count >= len(every):
        return torch.from_numpy(every.astype(np.int64))
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(every)))]
    nearest = (every != every[chosen[0]]).sum(axis=1)  # distance of every permutation to the chosen set
    for _ in range(count - 1):
        best = int(np.flatnonzero(nearest == nearest.max())[0])
        chosen.append(best)
        nearest = np.minimum(nearest, (every != every[best]).sum(axis=1))
    return torch.from_numpy(every[chosen].astype(np.int64))


def normalise_tiles(tiles: torch.Tensor) -> torch.Tensor:
    """Each tile ([..., C, H, W]) to zero mean and unit std, one scalar each over its channels and pixels (the
    reference's ``np.mean`` / ``np.std``); a flat tile is only centred."""
    mean = tiles.mean(dim=(-3, -2, -1), keepdim=True)
    std = tiles.std(dim=(-3, -2, -1), keepdim=True, unbiased=False)
    return (tiles - mean) / torch.where(std > 0, std, torch.ones_like(std))


def crop_tiles(cells: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """From every cell ([B, T, C, S, S]) a ``size x size`` tile at a uniformly random offset."""
    b, t, c, s, _ = cells.shape
    if not 1 <= size <= s:
        raise InvalidInputError(f"a jigsaw tile of {size} px does not fit a {s} px cell")
    top = torch.randint(s - size + 1, (b, t), generator=generator).to(cells.device)
    left = torch.randint(s - size + 1, (b, t), generator=generator).to(cells.device)
    span = torch.arange(size, device=cells.device)
    rows = (top[..., None] + span).view(b, t, 1, size, 1).expand(b, t, c, size, s)
    cells = torch.gather(cells, 3, rows)
    columns = (left[..., None] + span).view(b, t, 1, 1, size).expand(b, t, c, size, size)
    return torch.gather(cells, 4, columns)


GREY = (0.2125, 0.7154, 0.0721)  # skimage.color.rgb2gray's luminance weights, as the reference greys images


def _affine_of(rgb: Callable[[torch.Tensor], torch.Tensor], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(shift, scale) per channel of the data's normalisation: ``rgb(x) = x * scale + shift``."""
    zero = torch.zeros(1, like.shape[1], 1, 1, dtype=like.dtype, device=like.device)
    shift = rgb(zero)
    return shift, rgb(zero + 1) - shift


class JigsawNet(nn.Module):
    """A shared trunk on every tile, concatenated pooled features, a linear layer over permutations."""

    def __init__(self, trunk: nn.Module, tiles: int, permutations: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.tiles = tiles
        self.fc = nn.Linear(tiles * trunk.head_hidden_size, permutations)

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        b, t = tiles.shape[:2]
        features = self.trunk(tiles.flatten(0, 1))  # [B*T, F] pre-logits
        return self.fc(features.view(b, t * features.shape[1]))


class ColorizationNet(nn.Module):
    """The trunk's feature map -> 1x1 conv to the ab bins -> bilinear upsampling to the input size."""

    def __init__(self, trunk: nn.Module, bins: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = nn.Conv2d(trunk.num_features, bins, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.trunk.forward_features(x))
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


# --- tasks ----------------------------------------------------------------------------------------------


@dataclass
class Task:
    """What a training optimises (``task: classification`` here; each pretext task is a subclass below, picked by
    :func:`make_task`). ``build(make_model)`` gets a function that builds the backbone."""

    name: str = "classification"
    num_classes: int = 10
    jigsaw_grid: int = 2
    jigsaw_permutations: int = 24
    seed: int = 0
    jigsaw_tile_ratio: float = 0.76  # tile side / cell side (the reference's int(psz * 0.76))
    jigsaw_grey: float = 0.3  # share of training images turned grey (the reference's GRAY_PERCENTAGE)
    #: input channels the backbone must take (None: the data's)
    in_chans = None
    #: label smoothing applies to the labels' classification only
    smooths_labels = True
    #: eval_top1 is classification top-1, or the pretext task's accuracy (rotation, permutation, ab bin per pixel)
    metric_label = "eval top-1 (%)"

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed + 17)

    def build(self, make_model: Callable[..., nn.Module]) -> nn.Module:
        return make_model(num_classes=self.num_classes)

    def prepare(self, images: torch.Tensor, labels: torch.Tensor, rgb: Callable[[torch.Tensor], torch.Tensor] | None = None,
                training: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's inputs and targets for a batch. ``rgb`` maps normalised images back to [0, 1] colour
        (colorization converts colour to Lab, jigsaw greys colour images); ``training=False`` (evaluation) turns no
        image grey, as the reference does only in training."""
        return images, labels

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        return F.cross_entropy(logits, targets, label_smoothing=label_smoothing if self.smooths_labels else 0.0)

    @staticmethod
    def correct(logits: torch.Tensor, targets: torch.Tensor) -> tuple[int, int]:
        """(right, total) predictions: per image, or per pixel for colorization."""
        hits = logits.argmax(1) == targets
        return int(hits.sum()), hits.numel()

    # --- the rest of the trainer's interface (train/methods.py) ---------------------------------------

    @staticmethod
    def backbone(model: nn.Module) -> nn.Module:
        return getattr(model, "trunk", model)  # jigsaw and colorization wrap it with their heads

    def configure(self, mean: tuple[float, ...], std: tuple[float, ...], global_batch: int, model: nn.Module) -> None:
        """Nothing to set: the batch comes normalised and any global batch works."""

    def monitor(self, trainer: object) -> None:
        return None  # the trainer's accuracy on the eval split

    def release_problem(self, checkpoint: str) -> str | None:
        return None


class PretextTask(Task):
    """A label-free task: its labels are made from the images, so they are never smoothed and its head is no
    classifier to release."""

    smooths_labels = False

    def release_problem(self, checkpoint: str) -> str | None:
        return (f"a {self.name} training is a pretext: its head is not a classifier to release; fine-tune the "
                "backbone with task=classification")


class RotationTask(PretextTask):
    def build(self, make_model: Callable[..., nn.Module]) -> nn.Module:
        return make_model(num_classes=4)

    def prepare(self, images: torch.Tensor, labels: torch.Tensor, rgb: Callable[[torch.Tensor], torch.Tensor] | None = None,
                training: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        rotated = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in range(4)])
        return rotated, torch.arange(4).repeat_interleave(len(images)).to(images.device)


class JigsawTask(PretextTask):
    def __post_init__(self) -> None:
        if self.jigsaw_grid not in (2, 3):
            raise InvalidInputError(f"jigsaw_grid must be 2 or 3, got {self.jigsaw_grid}")
        total = 24 if self.jigsaw_grid == 2 else 362_880
        if not 2 <= self.jigsaw_permutations <= total:
            raise InvalidInputError(f"jigsaw_permutations must be in [2, {total}] for a {self.jigsaw_grid}x"
                                    f"{self.jigsaw_grid} grid, got {self.jigsaw_permutations}")
        self.permutations = maximal_hamming_permutations(self.jigsaw_grid ** 2, self.jigsaw_permutations, self.seed)
        super().__post_init__()

    def build(self, make_model: Callable[..., nn.Module]) -> nn.Module:
        return JigsawNet(make_model(num_classes=0), self.jigsaw_grid ** 2, len(self.permutations))

    def prepare(self, images: torch.Tensor, labels: torch.Tensor, rgb: Callable[[torch.Tensor], torch.Tensor] | None = None,
                training: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        if training and self.jigsaw_grey > 0 and rgb is not None and images.shape[1] == 3:
            grey = torch.rand(len(images), generator=self.generator) < self.jigsaw_grey
            if grey.any():
                shift, scale = _affine_of(rgb, images)
                weights = torch.tensor(GREY, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
                luminance = (rgb(images[grey]) * weights).sum(1, keepdim=True)
                images = images.clone()
                images[grey] = (luminance - shift) / scale  # grey in every channel, normalised as the data is
        cells = to_tiles(images, self.jigsaw_grid)
        tiles = normalise_tiles(crop_tiles(cells, int(cells.shape[-1] * self.jigsaw_tile_ratio), self.generator))
        index = torch.randint(len(self.permutations), (len(images),), generator=self.generator)
        where = self.permutations[index].to(images.device)  # [B, T]: the position each cell goes to
        placed = torch.empty_like(tiles).scatter_(1, where.view(*where.shape, 1, 1, 1).expand_as(tiles), tiles)
        return placed, index.to(images.device)


class ColorizationTask(PretextTask):
    in_chans = 1  # the L channel

    def __post_init__(self) -> None:
        from .lab_color import reference_ab_bins

        self.bins = torch.from_numpy(reference_ab_bins())
        super().__post_init__()

    def build(self, make_model: Callable[..., nn.Module]) -> nn.Module:
        return ColorizationNet(make_model(num_classes=0, in_chans=1), len(self.bins))

    def prepare(self, images: torch.Tensor, labels: torch.Tensor, rgb: Callable[[torch.Tensor], torch.Tensor] | None = None,
                training: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        if rgb is None:
            raise InvalidInputError("colorization needs colour images (dataset: colour_crops)")
        from .lab_color import nearest_bin, rgb_to_lab

        lab = rgb_to_lab(rgb(images).clamp(0, 1))
        shift, scale = _affine_of(rgb, images)
        lightness = (lab[:, :1] / 100 - shift.mean()) / scale.mean()
        return lightness, nearest_bin(lab[:, 1:], self.bins.to(lab)).to(images.device)


#: task name -> its class; a new pretext task is one class and one entry here
TASK_CLASSES: dict[str, type[Task]] = {"classification": Task, "rotation": RotationTask, "jigsaw": JigsawTask,
                                       "colorization": ColorizationTask}
TASKS = tuple(TASK_CLASSES)


def make_task(name: str = "classification", *args: object, **options: object) -> Task:
    """The task called ``name`` (``task:`` in a training YAML); the other arguments are :class:`Task`'s fields."""
    if name not in TASK_CLASSES:
        raise InvalidInputError(f"unknown task '{name}'; tasks: {', '.join(TASKS)}")
    return TASK_CLASSES[name](name, *args, **options)

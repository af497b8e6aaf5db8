"""Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (IDX files; never downloaded).

The images are 28x28 grey; models take the size and channels of their cfg, so the adaptation
(resize, replicate the grey channel to three, normalise with Fashion-MNIST statistics) is written in
the pretrained cfg and applied by :func:`mobilezoo.data.transforms.preprocess_image`.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import torch
from torchvision.transforms import functional as TF

from ..errors import MobileZooError
from ..pretrained_cfg import PretrainedCfg

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
MEAN, STD = 0.2860, 0.3530  # of the 60k training images, pixels scaled to [0, 1]
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


class MissingDataError(MobileZooError):
    """A data set is not installed where it is looked for."""


def data_dir() -> Path:
    return Path(os.environ.get("MOBILEZOO_FASHION_MNIST", DEFAULT_DIR))


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into an array, checking its header."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise MissingDataError(f"'{path}' is not an unsigned-byte IDX file; reinstall dataset-fashion-mnist")
    dims = data[3]
    shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise MissingDataError(f"'{path}' is truncated ({body.size} of {int(np.prod(shape))} values)")
    return body.reshape(shape)


def load_fashion_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels int64 (N,)) of the ``train`` (60k) or ``test`` (10k) split."""
    if split not in FILES:
        raise MobileZooError(f"Fashion-MNIST split must be 'train' or 'test', got '{split}'")
    directory = data_dir()
    paths = [directory / name for name in FILES[split]]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise MissingDataError(
            f"Fashion-MNIST is not installed ({missing[0]} missing); install it with: "
            "sudo apt-get install dataset-fashion-mnist (or set MOBILEZOO_FASHION_MNIST)"
        )
    images, labels = read_idx(paths[0]), read_idx(paths[1]).astype(np.int64)
    if len(images) != len(labels):
        raise MissingDataError(f"Fashion-MNIST {split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def fmnist_cfg(base: PretrainedCfg, size: int) -> PretrainedCfg:
    """``base`` (a model's cfg) with the preprocessing of Fashion-MNIST at ``size`` px, three replicated channels."""
    return base.replace(input_size=(3, size, size), resize=size, resize_mode="shorter_side", interpolation="bilinear",
                        antialias=True, mean=(MEAN,) * 3, std=(STD,) * 3, num_classes=10, class_names=CLASS_NAMES,
                        dataset="Fashion-MNIST",
                        input_adaptation=f"28x28 grey resized to {size}x{size} (bilinear), replicated to 3 channels, "
                                         f"normalised with mean {MEAN} / std {STD}")


class TensorImageSet(torch.utils.data.Dataset):
    """Images resized once to the model's size (uint8, one channel) and normalised per item.

    Equal, image by image, to :func:`preprocess_image` with the same cfg (resize then normalise), but
    the resize is done once for the whole split.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, cfg: dict) -> None:
        size = cfg["input_size"][-1]
        batch = torch.from_numpy(np.array(images, copy=True))[:, None]
        if batch.shape[-1] != size:
            batch = TF.resize(batch, size, antialias=cfg.get("antialias", True))
        self.images = batch.contiguous()
        self.labels = torch.from_numpy(labels)
        self.channels = cfg["input_size"][0]
        self.mean = torch.tensor(cfg["mean"][0])
        self.std = torch.tensor(cfg["std"][0])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = (self.images[index].float() / 255.0 - self.mean) / self.std
        return image.expand(self.channels, -1, -1), self.labels[index]


#: the validation split carved from the training file: its last 10,000 images (a training run with
#: ``eval_split: val`` never trains on them, and searches read only images before them)
VALIDATION_START = 50_000
SPLITS = ("train", "test", "val", "train_without_val")


def fashion_mnist(split: str, cfg: dict, limit: int | None = None) -> TensorImageSet:
    """``train`` (60,000), ``test`` (10,000), or the training file cut in two: ``train_without_val`` (its first
    50,000 images) and ``val`` (its last 10,000); ``limit`` keeps the first N of the split."""
    if split not in SPLITS:
        raise MobileZooError(f"Fashion-MNIST split must be one of {', '.join(SPLITS)}, got '{split}'")
    images, labels = load_fashion_mnist("test" if split == "test" else "train")
    if split == "val":
        images, labels = images[VALIDATION_START:], labels[VALIDATION_START:]
    elif split == "train_without_val":
        images, labels = images[:VALIDATION_START], labels[:VALIDATION_START]
    if limit:
        images, labels = images[:limit], labels[:limit]
    return TensorImageSet(images, labels, cfg)

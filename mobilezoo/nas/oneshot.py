"""Search a DMaskingNAS space with a sample-based searcher: the trained supernet scores, the latency table limits.

- :class:`OneShotEvaluator`: a network of the space is scored without training it. It inherits the weights of
  the trained masked supernet (one-hot choice weights make the supernet compute exactly that network), its
  batch-norm statistics are re-estimated on calibration images (the supernet's running statistics belong to the
  mixture it was trained on, not to one network), and it is scored by top-1 on held-out Fashion-MNIST training
  images the supernet never saw (those after the search's ``limit_train``).
- :func:`budget_space`: the space's choices as a :class:`CategoricalSpace` whose feasibility is the latency the
  lookup table predicts, at most ``budget_ms``: a hard budget, as LaNAS's paper uses FLOPs.
- :func:`search_space_file`: run LaNAS (or a baseline) and write the best network as an FBNet definition file.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..errors import InvalidInputError
from ..fileio import atomic_path, ensure_writable_dir
from .cost import CostTables
from .derive import derive_definition, write_definition
from .discrete_space import Arch, CategoricalSpace
from .searchers import Evaluation, Searcher, run_search
from .space import SearchSpace
from .supernet import MaskedSupernet


def choice_of(space: SearchSpace, arch: Arch) -> dict[str, int]:
    """Architecture tuple (in ``space.variables()`` order) -> {variable: option index}."""
    return dict(zip(space.variables(), arch))


def one_hot(space: SearchSpace, arch: Arch) -> dict[str, torch.Tensor]:
    return {var: nn.functional.one_hot(torch.tensor(index), n).float()
            for (var, n), index in zip(space.variables().items(), arch)}


def budget_space(space: SearchSpace, latency: CostTables, budget_ms: float, band: float = 0.0) -> CategoricalSpace:
    """The space's choices; feasible = predicted latency in ``[band * budget_ms, budget_ms]`` (``band`` 0: LaNAS's
    plain hard budget; 0.9: networks that spend the budget, for comparisons at matched latency). A budget below
    the fastest network is an error."""
    fastest = latency.minimum()
    if not (math.isfinite(budget_ms) and budget_ms >= fastest):
        raise InvalidInputError(f"latency budget {budget_ms:g} ms is below the fastest network of space '{space.name}' "
                                f"({fastest:.4g} ms in this table); raise --budget-ms")
    if not 0 <= band < 1:
        raise InvalidInputError(f"--band must be in [0, 1), got {band}")
    names = tuple(space.variables())
    low = band * budget_ms if band > 0 else -math.inf  # band 0: the plain budget, whatever a table predicts below

    def feasible(arch: Arch) -> bool:
        return low <= latency.exact(dict(zip(names, arch))) <= budget_ms

    return CategoricalSpace(space.name, names, tuple(space.variables().values()), feasible)


@dataclass
class OneShotEvaluator:
    """Top-1 (fraction) of a network of the space, with the supernet's weights and re-estimated batch norm."""

    net: MaskedSupernet
    calibration: torch.Tensor  # images for batch-norm statistics
    images: torch.Tensor  # held-out images to score on
    labels: torch.Tensor
    batch_size: int = 250

    @classmethod
    def from_search(cls, checkpoint: str | Path, space: SearchSpace, calibration_images: int = 500,
                    eval_images: int = 1000) -> "OneShotEvaluator":
        """Load a ``mobilezoo search dmasking`` checkpoint (weights only) and the images it did not train on."""
        from ..data.fashion_mnist import VALIDATION_START, TensorImageSet, fmnist_cfg, load_fashion_mnist
        from ..registry import default_cfg

        from .search import read_search_checkpoint

        path = Path(checkpoint)
        if not path.exists():
            raise InvalidInputError(f"supernet checkpoint '{path}' does not exist; train one with "
                                    "`mobilezoo search dmasking --config SPACE ... --out DIR` (DIR/search.pt)")
        state, config = read_search_checkpoint(path)  # safe reader: no zip bomb, no FIFO, no foreign layout
        try:
            net = MaskedSupernet(space, int(config["num_classes"]))
            net.load_state_dict(state["net"])
        except Exception as exc:  # a checkpoint of another space is never trusted
            raise InvalidInputError(f"'{path}' is not a supernet of space '{space.name}' ({type(exc).__name__}); "
                                    "pass the search.pt of a dmasking search over the same space") from None
        start = int(config["limit_train"])  # the search trained on the first limit_train images
        images, labels = load_fashion_mnist("train")
        stop = start + calibration_images + eval_images
        if stop > VALIDATION_START:  # the validation split is for choosing between trained networks, not for scores
            raise InvalidInputError(f"the search used {start} training images; {calibration_images} + {eval_images} "
                                    f"more would reach the validation split (images {VALIDATION_START:,} on): lower "
                                    "--eval-images")
        cfg = fmnist_cfg(default_cfg(space.full_resolution, num_classes=net.classifier.out_channels), space.full_resolution)
        data = TensorImageSet(images[start:stop], labels[start:stop], cfg)
        x = torch.stack([data[i][0] for i in range(len(data))])
        return cls(net.eval(), x[:calibration_images], x[calibration_images:], data.labels[calibration_images:].long())

    @torch.no_grad()
    def recalibrate(self, g: dict[str, torch.Tensor]) -> None:
        """Batch-norm running statistics re-estimated for this network (cumulative average over the calibration set)."""
        norms = [m for m in self.net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
        self.net.train()
        for batch in self.calibration.split(self.batch_size):
            self.net(batch, g)
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        self.net.eval()

    @torch.no_grad()
    def __call__(self, space: SearchSpace, arch: Arch) -> float:
        g = one_hot(space, arch)
        self.recalibrate(g)
        correct = 0
        for images, labels in zip(self.images.split(self.batch_size), self.labels.split(self.batch_size)):
            correct += int((self.net(images, g).argmax(1) == labels).sum())
        return correct / len(self.labels)


@dataclass
class SpaceSearchResult:
    best: Evaluation
    best_latency_ms: float
    definition: Path
    history: list[dict[str, Any]]


def search_space_file(space: SearchSpace, searcher: Searcher, evaluate: Callable[[Arch], float], latency: CostTables,
                      evaluations: int, out_dir: str | Path, name: str, budget_ms: float,
                      progress: Callable[[Evaluation], None] | None = None, resume: bool = False,
                      settings: dict[str, Any] | None = None, num_classes: int = 10) -> SpaceSearchResult:
    """Run ``searcher`` for ``evaluations``; write history.jsonl and the best network's definition (best.yaml).

    Every evaluation is appended to ``evaluations.jsonl`` as it finishes; ``resume`` continues from that log
    exactly (:class:`~mobilezoo.nas.evaluation_log.EvaluationLog`). ``settings`` (what must match to resume)
    default to the searcher's algorithm and seed, the space and the budget."""
    from .evaluation_log import EvaluationLog

    out = ensure_writable_dir(out_dir, "--out")
    started = time.perf_counter()
    settings = {"algorithm": searcher.algorithm, "seed": searcher.seed, "space": space.name, "budget_ms": budget_ms,
                **(settings or {})}
    log = EvaluationLog(out, settings, resume)
    result = run_search(searcher, log.replaying(evaluate), evaluations, progress=progress)
    rows = []
    for index, evaluation in enumerate(result.history):
        choice = choice_of(space, evaluation.arch)
        rows.append({"evaluation": index + 1, "arch": list(evaluation.arch), "score": evaluation.score,
                     "latency_ms": round(latency.exact(choice), 5)})
    with atomic_path(out / "history.jsonl") as temporary:
        temporary.write_text("".join(json.dumps(r) + "\n" for r in rows))
    best = result.best
    best_latency = latency.exact(choice_of(space, best.arch))
    comment = (f"Found by `mobilezoo search lanas` ({searcher.algorithm}, seed {searcher.seed}) in space '{space.name}' "
               f"({space.source}) under a latency budget of {budget_ms:g} ms ({latency.unit} from the lookup table): "
               f"predicted {best_latency:.4g} ms, one-shot top-1 {best.score:.4f} after {len(rows)} evaluations "
               f"({time.perf_counter() - started:.0f} s).\n"
               "Build: mobilezoo.create_model('<this file>'); train, profile, export and bench by path.")
    path = write_definition(derive_definition(space, choice_of(space, best.arch), name, num_classes), out / "best.yaml",
                            comment)
    return SpaceSearchResult(best, best_latency, path, rows)

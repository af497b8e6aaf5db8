"""The DMaskingNAS search loop (FBNet's DNAS schedule, FBNetV2's masked supernet).

Each epoch alternates, batch by batch, a weight step (SGD, cross-entropy) on one split of the training data and,
after the warm-up epochs, an architecture step (Adam) on the other split with the FBNet loss::

    L = CE * alpha * max(1, cost / target) ** beta

FBNet writes ``alpha * log(LAT) ** beta`` for a latency in ms; with a budget to meet we measure the cost in units
of the target instead and do not reward going below it (our choice; the paper's exact form for FLOPs is not
public): above the budget the multiplier grows as ``(cost / target) ** beta`` and pushes the architecture down,
within it the multiplier is ``alpha`` and cross-entropy alone decides. (A plain ratio, rewarding every saving,
drove short searches to the space's smallest network whatever the budget.) The Gumbel
temperature starts at 5.0 and is multiplied by exp(-0.045) every epoch. Every epoch ends with a checkpoint and a
JSON line (losses, expected cost, temperature, the argmax architecture and its exact cost, the probabilities);
``resume`` continues from the checkpoint. The result is an FBNet definition file: by default the most probable
network whose exact cost spends the budget (:mod:`.budget_derivation`), or each choice's argmax.

``sampling: uniform`` trains the same supernet single-path instead (one network drawn uniformly per batch, no
architecture steps): the supernet one-shot LaNAS scores networks with (``search lanas --supernet``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InvalidInputError
from ..seeding import seed_everything
from ..data.fashion_mnist import VALIDATION_START
from ..fileio import ensure_writable_dir, save_png, write_json_atomic
from .budget_derivation import Derivation, derive_within_budget
from .cost import CostTables, mac_tables
from .derive import derive_definition, write_definition
from .space import SearchSpace
from .resumable import CHECKPOINT, ResumableEpochs, read_search_checkpoint
from .supernet import MaskedSupernet

DEFINITION, PLOT = "derived.yaml", "probabilities.png"
DERIVATION = "derivation.json"
SAMPLINGS = ("gumbel", "uniform")
#: settings that only shape the derivation at the end: a resumed search may change them
DERIVATION_SETTINGS = ("derivation", "band")


@dataclass(frozen=True)
class SearchConfig:
    space: str  # path of the search-space YAML
    target: float  # budget in the cost's unit (MACs, or ms for latency)
    cost: str = "macs"  # macs | latency
    lut: str = ""  # latency table for cost=latency
    epochs: int = 10
    warmup_epochs: int = 2  # weights only
    batch_size: int = 64
    limit_train: int = 2000
    split: float = 0.8  # share of the training images for the weights; the rest trains the architecture
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    arch_lr: float = 0.01
    arch_weight_decay: float = 5e-4
    alpha: float = 0.2
    beta: float = 0.6
    temperature: float = 5.0
    temperature_decay: float = 0.045
    num_classes: int = 10
    seed: int = 0
    threads: int = 0
    name: str = "searched"
    sampling: str = "gumbel"  # gumbel: DMaskingNAS; uniform: single-path supernet training only (no architecture steps)
    derivation: str = "budget"  # budget: the most probable network in [band * target, target]; argmax: per choice
    band: float = 0.9

    def check(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise InvalidInputError(f"sampling must be one of {', '.join(SAMPLINGS)}, got '{self.sampling}'")
        if self.derivation not in ("budget", "argmax"):
            raise InvalidInputError(f"derivation must be budget or argmax, got '{self.derivation}'")
        if not 0 < self.band <= 1:
            raise InvalidInputError(f"band must be in (0, 1], got {self.band}")
        if self.limit_train > VALIDATION_START:
            raise InvalidInputError(f"limit_train {self.limit_train} reaches into the validation split (training "
                                    f"images {VALIDATION_START:,} on, kept for choosing between trained networks); "
                                    f"use at most {VALIDATION_START:,}")
        if self.cost not in ("macs", "latency"):
            raise InvalidInputError(f"cost must be macs or latency, got '{self.cost}'")
        if self.cost == "latency" and not self.lut:
            raise InvalidInputError("cost=latency needs a latency table: --lut FILE")
        for key in ("epochs", "batch_size", "limit_train"):
            if getattr(self, key) < 1:
                raise InvalidInputError(f"{key} must be >= 1, got {getattr(self, key)}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise InvalidInputError(f"warmup_epochs must be in [0, epochs), got {self.warmup_epochs} of {self.epochs}")
        if not 0 < self.split < 1:
            raise InvalidInputError(f"split must be in (0, 1), got {self.split}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise InvalidInputError(f"temperature must be a positive number, got {self.temperature}")
        if self.sampling == "gumbel" and not (math.isfinite(self.target) and self.target > 0):
            raise InvalidInputError(f"the target budget must be a positive number, got {self.target}")


def cost_tables(config: SearchConfig, space: SearchSpace) -> CostTables:
    if config.cost == "macs":
        return mac_tables(space, config.num_classes)
    from .latency_table import LatencyTable
    from .lut_tables import latency_tables

    return latency_tables(space, LatencyTable.load(config.lut), config.num_classes, config.lut)


#: what a search trains on: (config, space) -> a labelled image dataset at the space's full resolution
DataProvider = Callable[[SearchConfig, SearchSpace], torch.utils.data.Dataset]


def fashion_mnist_provider(config: SearchConfig, space: SearchSpace) -> torch.utils.data.Dataset:
    """The default: the first ``limit_train`` Fashion-MNIST training images, never the validation split."""
    from ..data.fashion_mnist import fashion_mnist, fmnist_cfg
    from ..registry import default_cfg

    cfg = fmnist_cfg(default_cfg(space.full_resolution, num_classes=config.num_classes), space.full_resolution)
    return fashion_mnist("train_without_val", cfg, config.limit_train)


def _data(config: SearchConfig, space: SearchSpace, provider: DataProvider = fashion_mnist_provider):
    data = provider(config, space)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(config.seed)).tolist()
    if config.sampling == "uniform":  # no architecture steps: every image trains the weights
        if len(order) < config.batch_size:
            raise InvalidInputError(f"limit_train {config.limit_train} is fewer than batch_size {config.batch_size}")
        return torch.utils.data.Subset(data, order), None
    cut = int(len(order) * config.split)
    if cut < config.batch_size or len(order) - cut < config.batch_size:
        raise InvalidInputError(f"limit_train {config.limit_train} leaves fewer than batch_size {config.batch_size} "
                                "images in a split; raise limit_train or lower batch_size")
    return torch.utils.data.Subset(data, order[:cut]), torch.utils.data.Subset(data, order[cut:])


class DMaskingSearch(ResumableEpochs):
    """One search: ``run()`` trains (or resumes) to ``config.epochs`` and writes the derived definition."""

    PRINTED = ("epoch", "temperature", "weight_ce", "arch_ce", "expected_cost", "argmax_cost")

    def __init__(self, config: SearchConfig, out_dir: str | Path, data: DataProvider = fashion_mnist_provider) -> None:
        """``data``: what to search on (default: Fashion-MNIST); a provider gets the config and the space and
        returns a labelled dataset of images at the space's full resolution, cut here into weight / architecture
        halves (``config.split``)."""
        config.check()
        self.config = config
        self.space = SearchSpace.from_file(config.space)
        self.out = ensure_writable_dir(out_dir, "--out")
        self.tables = cost_tables(config, self.space)
        smallest = self.tables.minimum()
        if config.sampling == "gumbel" and config.target < smallest:
            unit = "MFLOPs" if config.cost == "macs" else "ms"
            scale = 1e6 if config.cost == "macs" else 1.0
            raise InvalidInputError(f"target {config.target / scale:g} {unit} is below the smallest network of space "
                                    f"'{self.space.name}' ({smallest / scale:.4g} {unit}); raise the target")
        self._process_before = seed_everything(config.seed, config.threads)
        self.net = MaskedSupernet(self.space, config.num_classes)
        self.weight_opt = torch.optim.SGD(self.net.weight_parameters(), lr=config.lr, momentum=config.momentum,
                                          weight_decay=config.weight_decay, nesterov=True)
        self.arch_opt = torch.optim.Adam(self.net.arch_parameters(), lr=config.arch_lr, betas=(0.9, 0.999),
                                         weight_decay=config.arch_weight_decay)
        self.weight_set, self.arch_set = _data(config, self.space, data)
        self.epoch = 0
        self.history: list[dict[str, Any]] = []

    # --- state ------------------------------------------------------------------------------------

    def temperature(self, epoch: int | None = None) -> float:
        return self.config.temperature * math.exp(-self.config.temperature_decay * (self.epoch if epoch is None else epoch))

    def state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "weight_opt": self.weight_opt.state_dict(),
                "arch_opt": self.arch_opt.state_dict(), "epoch": self.epoch, "rng": torch.get_rng_state(),
                "config": json.dumps(dataclasses.asdict(self.config)), "history": json.dumps(self.history)}

    def load(self) -> None:
        state, recorded = read_search_checkpoint(self.out / CHECKPOINT, ("net", "weight_opt"))
        defaults = {f.name: f.default for f in dataclasses.fields(SearchConfig)}  # a search recorded before a field existed
        self.refuse_other_settings(recorded, ("epochs", "threads", *DERIVATION_SETTINGS), defaults)
        self.net.load_state_dict(state["net"])
        self.weight_opt.load_state_dict(state["weight_opt"])
        self.arch_opt.load_state_dict(state["arch_opt"])
        self.epoch = int(state["epoch"])
        torch.set_rng_state(state["rng"])
        self.history = json.loads(state["history"])

    # --- one epoch --------------------------------------------------------------------------------

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, cost: torch.Tensor) -> torch.Tensor:
        over = torch.clamp(cost / self.config.target, min=1.0)
        return F.cross_entropy(logits, labels) * self.config.alpha * over ** self.config.beta

    def run_epoch(self, show_progress: bool = True) -> dict[str, Any]:
        from ..progress import progress_bar

        config = self.config
        tau = self.temperature()
        uniform = config.sampling == "uniform"
        search_arch = self.epoch >= config.warmup_epochs and not uniform
        generator = torch.Generator().manual_seed(config.seed * 1000 + self.epoch)

        def batches(dataset: torch.utils.data.Dataset) -> torch.utils.data.DataLoader:
            return torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=True,
                                               generator=generator)

        weights = batches(self.weight_set)
        # created here: its seed draw comes before the weight batches', as recorded (no split: single-path training)
        archs = iter(batches(self.arch_set)) if self.arch_set is not None else iter(())
        sums = {"weight_ce": 0.0, "arch_loss": 0.0, "arch_ce": 0.0, "expected_cost": 0.0}
        counts = {"w": 0, "a": 0}
        started = time.perf_counter()
        self.net.train()
        bar = progress_bar(weights, desc=f"search epoch {self.epoch + 1}/{config.epochs} (tau {tau:.3f})", unit="batch",
                           disable=not show_progress)
        for images, labels in bar:
            if uniform:  # single path: one network of the space, drawn uniformly
                g = self.net.uniform_path(generator)
            else:
                g = {k: v.detach() for k, v in self.net.gumbel_weights(tau, generator).items()}
            ce = F.cross_entropy(self.net(images, g), labels)
            self.weight_opt.zero_grad(set_to_none=True)
            ce.backward()
            self.weight_opt.step()
            sums["weight_ce"] += ce.item()
            counts["w"] += 1
            if search_arch:
                try:
                    arch_images, arch_labels = next(archs)
                except StopIteration:
                    archs = iter(batches(self.arch_set))  # the architecture split is smaller: start it again
                    arch_images, arch_labels = next(archs)
                g = self.net.gumbel_weights(tau, generator)
                cost = self.tables.expected({k: v.double() for k, v in g.items()}).float()
                logits = self.net(arch_images, g)
                loss = self.loss(logits, arch_labels, cost)
                self.arch_opt.zero_grad(set_to_none=True)
                self.weight_opt.zero_grad(set_to_none=True)
                loss.backward()
                self.arch_opt.step()
                sums["arch_loss"] += loss.item()
                sums["arch_ce"] += F.cross_entropy(logits.detach(), arch_labels).item()
                sums["expected_cost"] += cost.item()
                counts["a"] += 1
            bar.set_postfix(ce=f"{sums['weight_ce'] / counts['w']:.3f}", refresh=False)
        bar.close()
        self.epoch += 1
        choice = self.net.argmax_choice()
        with torch.no_grad():
            current = self.net.probabilities()
            probs = {k: [round(float(p), 5) for p in v] for k, v in current.items()}
            expected_now = float(self.tables.expected({k: v.double() for k, v in current.items()}))
        record = {"epoch": self.epoch, "temperature": round(tau, 5), "searched_architecture": search_arch,
                  "weight_ce": sums["weight_ce"] / max(1, counts["w"]),
                  "arch_loss": sums["arch_loss"] / counts["a"] if counts["a"] else None,
                  "arch_ce": sums["arch_ce"] / counts["a"] if counts["a"] else None,
                  "expected_cost": sums["expected_cost"] / counts["a"] if counts["a"] else expected_now,
                  "argmax_cost": float(self.tables.exact(choice)), "cost_unit": self.tables.unit,
                  "target": self.config.target, "argmax": choice, "probabilities": probs,
                  "seconds": round(time.perf_counter() - started, 2)}
        self.history.append(record)
        return record

    # --- the whole search -------------------------------------------------------------------------

    def finish(self) -> Path:
        """The derived definition; a single-path search hands over its supernet instead."""
        if self.config.sampling == "uniform":
            return self.out / CHECKPOINT  # a supernet for one-shot scoring (`search lanas --supernet`), no network
        return self.derive()

    def derivation(self) -> Derivation:
        """The network to hand over: the most probable one within the budget's band, or each choice's argmax."""
        probabilities = {k: v.detach() for k, v in self.net.probabilities().items()}
        argmax = self.net.argmax_choice()
        if self.config.derivation == "argmax":
            cost = self.tables.exact(argmax)
            score = float(sum(torch.log(probabilities[k][i].double().clamp_min(1e-12)) for k, i in argmax.items()))
            return Derivation(argmax, cost, score, "argmax", 1, int(self.config.band * self.config.target <= cost
                                                                    <= self.config.target), argmax, cost)
        return derive_within_budget(probabilities, self.tables, self.config.target, self.config.band,
                                    seed=self.config.seed)

    def derive(self) -> Path:
        derivation = self.derivation()
        choice = derivation.choice
        definition = derive_definition(self.space, choice, self.config.name, self.config.num_classes)
        unit = self.tables.unit
        comment = (f"Found by `mobilezoo search dmasking` in space '{self.space.name}' ({self.space.source}) for a target of "
                   f"{self.config.target:g} {unit}; exact cost {derivation.cost:g} {unit}; derived: {derivation.rule} "
                   f"(most probable of {derivation.in_band} drawn networks in [{self.config.band:g}, 1] x target; "
                   f"the argmax costs {derivation.argmax_cost:g}).\n"
                   "Build: mobilezoo.create_model('<this file>'); train, profile, export and bench by path.")
        path = write_definition(definition, self.out / DEFINITION, comment)
        write_json_atomic(self.out / DERIVATION, {**derivation.to_dict(), "target": self.config.target, "unit": unit,
                                                   "band": self.config.band, "epochs": self.epoch})
        plot_probabilities(self.history, self.out / PLOT)
        return path


def plot_probabilities(history: list[dict[str, Any]], path: Path) -> None:
    """One panel per choice: each option's probability across epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variables = [v for v in history[-1]["probabilities"] if len(history[-1]["probabilities"][v]) > 1]
    columns = 4
    rows = max(1, -(-len(variables) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.2 * rows), squeeze=False)
    epochs = [r["epoch"] for r in history]
    for axis, var in zip(axes.flat, variables):
        series = np.array([r["probabilities"][var] for r in history])
        for option in range(series.shape[1]):
            axis.plot(epochs, series[:, option], label=str(option))
        axis.set_title(var, fontsize=9)
        axis.set_ylim(0, 1)
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(variables):]:
        axis.axis("off")
    figure.suptitle("architecture probabilities per epoch (option index)")
    figure.tight_layout()
    save_png(figure, path, dpi=90)

"""Training methods behind one interface: what the trainer asks of an objective, and the registry that picks one.

The trainer never asks which method it runs: it builds the network through :meth:`TrainingMethod.build`, feeds it
what :meth:`~TrainingMethod.prepare` makes of a batch, and lets the method say how it is monitored, where its
backbone sits and whether its result is a classifier to release. A new method is one class (beside the others in
its own module) and one :func:`register_method` call.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import torch
from torch import nn

from ..errors import InvalidInputError


class TrainingMethod(Protocol):
    """The objective a :class:`~mobilezoo.train.engine.Trainer` optimises."""

    #: reseeded by the trainer every epoch and before each evaluation (jigsaw shuffles, greying)
    generator: torch.Generator
    #: the y-axis of the run's curves plot
    metric_label: str

    def build(self, make_model: Callable[..., nn.Module]) -> nn.Module:
        """The trained network around a backbone that ``make_model(**options)`` builds."""

    def backbone(self, model: nn.Module) -> nn.Module:
        """The zoo model inside what :meth:`build` returned (pretext heads, MoCo's query encoder)."""

    def prepare(self, images: torch.Tensor, labels: torch.Tensor, rgb: Callable[[torch.Tensor], torch.Tensor] | None = None,
                training: bool = True) -> tuple[Any, torch.Tensor]:
        """The network's inputs and the loss's targets for one batch."""

    def loss(self, outputs: Any, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor: ...

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> tuple[int, int]:
        """(right, total) predictions of an evaluation batch."""

    def configure(self, mean: tuple[float, ...], std: tuple[float, ...], global_batch: int, model: nn.Module) -> None:
        """Called once the data's normalisation and the global batch are known; raise a one-line error on a bad fit."""

    def monitor(self, trainer: Any) -> dict[str, float] | None:
        """The method's own evaluation (MoCo: kNN top-1), or None for the trainer's accuracy on the eval split."""

    def release_problem(self, checkpoint: str) -> str | None:
        """Why the trained network is not a classifier to release (and what to do instead), or None."""


def backbone_prefix(model: nn.Module, backbone: nn.Module) -> str:
    """The state-dict prefix under which ``backbone``'s tensors sit in ``model`` (``''``: it is the model)."""
    if backbone is model:
        return ""
    for name, module in model.named_modules():
        if module is backbone:
            return name + "."
    raise InvalidInputError("the backbone is not inside the trained model")


#: method name -> factory(config, distributed) -> TrainingMethod
_METHODS: dict[str, Callable[[Any, bool], TrainingMethod]] = {}


def register_method(name: str, factory: Callable[[Any, bool], TrainingMethod]) -> None:
    """Make ``method: name`` in a training config build its objective with ``factory(config, distributed)``."""
    _METHODS[name] = factory


def method_names() -> tuple[str, ...]:
    return tuple(_METHODS)


def make_method(config: Any, distributed: bool) -> TrainingMethod:
    """The objective of ``config`` (a :class:`~mobilezoo.train.config.TrainConfig`)."""
    try:
        factory = _METHODS[config.method]
    except KeyError:
        raise InvalidInputError(f"unknown training method '{config.method}'; methods: {', '.join(_METHODS)}") from None
    return factory(config, distributed)


def _supervised(config: Any, distributed: bool) -> TrainingMethod:
    from .pretext import make_task

    return make_task(config.task, config.num_classes, config.jigsaw_grid, config.jigsaw_permutations, config.seed)


def _moco(config: Any, distributed: bool) -> TrainingMethod:
    from .moco import MoCoOptions, MoCoTask

    return MoCoTask(MoCoOptions.from_dict(config.moco), config.input_size, grey=config.dataset == "fashion_mnist",
                    distributed=distributed, seed=config.seed)


register_method("supervised", _supervised)  # labels, or a pretext task (rotation, jigsaw, colorization)
register_method("moco", _moco)  # self-supervised MoCo v1/v2

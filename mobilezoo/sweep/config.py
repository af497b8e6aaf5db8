"""A sweep file (YAML): which trials to run and the one training recipe they share.

    name: resnet_vs_vanilla
    spaces: [resnet, vanilla]      # design spaces to sample (mobilezoo.designspace), `samples` each
    samples: 100
    seed: 0                        # sampling seed; trial i of a space trains with seed + i
    complexity:                    # keep only networks strictly inside every range
      - {metric: params, low: 10000, high: 400000}
    recipe: {epochs: 1, limit_train: 2000, ...}   # mobilezoo train options (checked like a training config)
    threads_per_trial: 1
    trials:                        # optional explicit trials: any zoo model, with recipe overrides (and seed)
      - {id: r20, model: anynet_cifar, model_kwargs: {depths: [3, 3, 3]}, recipe: {lr: 0.05}}

Every key is checked when the file is read; an unknown key names the closest valid one.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..designspace.complexity import ComplexityRange
from ..errors import InvalidInputError
from ..inputs import MAX_THREADS
from ..train.config import TrainConfig

#: at most this many sampled trials per space (each is a training; the file is refused before anything samples)
MAX_SAMPLES = 10_000
#: recipe keys a sweep sets itself, per trial
TRIAL_OWNED = ("model", "model_kwargs", "seed", "out_dir", "threads")


def _unknown(kind: str, key: str, valid: list[str]) -> InvalidInputError:
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(valid)}"
    return InvalidInputError(f"unknown {kind} '{key}'; {hint}")


def _check_keys(kind: str, data: dict[str, Any], valid: list[str]) -> None:
    if not isinstance(data, dict):
        raise InvalidInputError(f"{kind} must be a mapping of key: value, got {type(data).__name__}")
    for key in data:
        if key not in valid:
            raise _unknown(f"{kind} key", key, valid)


@dataclass(frozen=True)
class ExplicitTrial:
    """A trial the sweep file lists by hand: a zoo model, its builder options and recipe overrides."""

    id: str
    model: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None  # its training seed (default: the sweep's seed + the trial's index)


@dataclass(frozen=True)
class SweepConfig:
    name: str
    spaces: tuple[str, ...] = ()
    samples: int = 0
    seed: int = 0
    complexity: tuple[ComplexityRange, ...] = ()
    recipe: dict[str, Any] = field(default_factory=dict)
    threads_per_trial: int = 1
    keep_checkpoints: bool = False
    trials: tuple[ExplicitTrial, ...] = ()

    # --- reading -----------------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> "SweepConfig":
        from ..fileio import read_yaml_file

        data = read_yaml_file(path, "sweep config")
        if not isinstance(data, dict):
            raise InvalidInputError(f"sweep config '{path}' must be a mapping of key: value")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SweepConfig":
        from ..designspace.sampling import check_space

        _check_keys("sweep config", data, [f.name for f in dataclasses.fields(cls)])
        if not isinstance(data.get("name"), str) or not data["name"].strip():
            raise InvalidInputError("a sweep config needs a name: <text>")
        spaces = data.get("spaces", ()) or ()
        spaces = (spaces,) if isinstance(spaces, str) else spaces
        if not isinstance(spaces, (list, tuple)) or not all(isinstance(s, str) for s in spaces):
            raise InvalidInputError(f"spaces must be a design-space name or a list of names, got {spaces!r}"[:200])
        spaces = tuple(spaces)
        for space in spaces:
            check_space(space)  # unknown space: one-line error with the closest name
        for key, low, high in (("samples", 0, MAX_SAMPLES), ("seed", 0, 2**63 - 1), ("threads_per_trial", 1, MAX_THREADS)):
            value = data.get(key, 0 if key != "threads_per_trial" else 1)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInputError(f"{key} must be a whole number in [{low}, {high}], got {value!r}"[:200])
        if spaces and not data.get("samples"):
            raise InvalidInputError("spaces are given but samples is 0; set samples: <trials per space>")
        complexity = data.get("complexity", ()) or ()
        complexity = [complexity] if isinstance(complexity, dict) else complexity
        if not isinstance(complexity, (list, tuple)):
            raise InvalidInputError(f"complexity must be a list of {{metric, low, high}} ranges, got {complexity!r}"[:200])
        ranges = []
        for item in complexity:
            _check_keys("complexity", item, ["metric", "low", "high"])
            if "high" not in item:
                raise InvalidInputError(f"complexity range {item} needs a high: <number> (low defaults to 0)"[:200])
            ranges.append(ComplexityRange(str(item.get("metric", "params")), _number(item, "low", 0.0),
                                          _number(item, "high")))
        recipe = data.get("recipe", {}) or {}
        _check_recipe(recipe, "recipe")
        trials = []
        items = data.get("trials", ()) or ()
        if not isinstance(items, (list, tuple)):
            raise InvalidInputError(f"trials must be a list of {{id, model, ...}} mappings, got {type(items).__name__}")
        for item in items:
            _check_keys("trial", item, [f.name for f in dataclasses.fields(ExplicitTrial)])
            if "id" not in item or "model" not in item:
                raise InvalidInputError(f"each explicit trial needs an id and a model, got {item}"[:200])
            for key in ("model_kwargs", "recipe"):
                if not isinstance(item.get(key, {}), dict):
                    raise InvalidInputError(f"trial '{item['id']}': {key} must be a mapping, got "
                                            f"{type(item[key]).__name__}")
            _check_recipe({**recipe, **item.get("recipe", {})}, f"trial '{item['id']}' recipe")
            seed = item.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
                raise InvalidInputError(f"trial '{item['id']}': seed must be a whole number >= 0, got {seed!r}")
            trials.append(ExplicitTrial(str(item["id"]), str(item["model"]), dict(item.get("model_kwargs", {})),
                                        dict(item.get("recipe", {})), seed))
        ids = [t.id for t in trials]
        if len(set(ids)) != len(ids):
            raise InvalidInputError(f"explicit trial ids must be unique, got {ids}")
        if not spaces and not trials:
            raise InvalidInputError("a sweep needs spaces (with samples) or explicit trials; it has neither")
        return cls(data["name"].strip(), spaces, int(data.get("samples", 0)), int(data.get("seed", 0)), tuple(ranges),
                   dict(recipe), int(data.get("threads_per_trial", 1)), bool(data.get("keep_checkpoints", False)),
                   tuple(trials))

    # --- identity ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """What must match for a rerun to resume a sweep folder: everything but the sample count (more samples
        extend a sweep) and the checkpoint switch."""
        data = self.to_dict()
        data.pop("samples")
        data.pop("keep_checkpoints")
        for trial in data["trials"]:  # sweeps written before trials had their own seed keep their fingerprint
            if trial["seed"] is None:
                trial.pop("seed")
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _number(item: dict[str, Any], key: str, default: float | None = None) -> float:
    """A finite number from a complexity range; a one-line error naming the field otherwise."""
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInputError(f"complexity {key} must be a finite number, got {value!r}"[:200])
    return float(value)


def _check_recipe(recipe: dict[str, Any], kind: str) -> None:
    """The recipe must be a valid training config once a trial fills in its own keys."""
    if not isinstance(recipe, dict):
        raise InvalidInputError(f"{kind} must be a mapping of training option: value")
    for key in TRIAL_OWNED:
        if key in recipe:
            raise InvalidInputError(f"{kind} may not set '{key}': each trial sets it")
    TrainConfig.from_dict({**recipe, "model": "anynet_cifar", "out_dir": "unused"})

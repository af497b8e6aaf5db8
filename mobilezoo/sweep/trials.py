"""Trials: what a sweep trains, the record of one (:class:`TrialRecord`, one type for every line of
``results.jsonl``), and the function that trains one (in a Ray worker, or inline).

A trial's identity is its id; the same config always yields the same trials in the same order, so a rerun
knows which ones are missing. Design-space trials are ``<space>-<index>``: the index-th draw of that space's
own random stream (seeded by the sweep seed and the space name), trained with seed ``seed + index``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import random
import shutil
import time
import traceback
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import SweepConfig

IN_CHANS = 3  # the trainer feeds 3-channel images (grey data is replicated)


@dataclass(frozen=True)
class Trial:
    id: str
    model: str
    model_kwargs: dict[str, Any]
    recipe: dict[str, Any]
    seed: int
    threads: int = 1
    space: str | None = None
    keep_checkpoint: bool = False
    info: dict[str, Any] = field(default_factory=dict)  # known before training: params, MACs of a spec

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrialRecord:
    id: str
    status: str = "running"  # "ok" or "failed" once written
    space: str | None = None  # the design space the network was drawn from (None: an explicit trial)
    model: str = ""
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    threads: int | None = None
    info: dict[str, Any] = field(default_factory=dict)  # known before training: the spec, params, MACs of a draw
    recipe: dict[str, Any] | None = None  # the training config, resolved
    params: int | None = None
    error: float | None = None  # 100 - top1, on the eval split
    top1: float | None = None
    eval_loss: float | None = None
    train_loss: float | None = None
    eval_samples: int | None = None
    epochs: int | None = None
    test_top1: float | None = None  # eval_split: val also reports the test split once, at the end
    test_samples: int | None = None
    failure: str | None = None  # "<Exception>: <first line>"
    traceback: str | None = None
    wall_seconds: float | None = None
    host: dict[str, Any] | None = None
    finished: str | None = None

    @classmethod
    def of_trial(cls, trial: Trial) -> "TrialRecord":
        return cls(id=trial.id, space=trial.space, model=trial.model, model_kwargs=trial.model_kwargs,
                   seed=trial.seed, threads=trial.threads, info=dict(trial.info), params=trial.info.get("params"))

    @classmethod
    def lost_worker(cls, trial: Trial, exc: BaseException) -> "TrialRecord":
        """A trial whose worker died (out of memory, killed): failed, with what Ray said."""
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return cls(id=trial.id, status="failed", space=trial.space, model=trial.model, info=dict(trial.info),
                   failure=f"{type(exc).__name__}: {first}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def macs(self) -> float | None:
        return self.info.get("macs")

    def to_dict(self) -> dict[str, Any]:
        """The JSON line: the trial's fields, its info keys at the top level (as the file has always had them)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "info"}
        data = {**{k: data.pop(k) for k in ("id", "space", "model", "model_kwargs", "seed", "threads")}, **self.info,
                **data}
        return {k: v for k, v in data.items() if v is not None or k == "space"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrialRecord":
        known = {f.name for f in dataclasses.fields(cls)} - {"info"}
        return cls(**{k: v for k, v in data.items() if k in known},
                   info={k: v for k, v in data.items() if k not in known})


def make_trials(config: SweepConfig) -> list[Trial]:
    """Every trial of ``config``, in a fixed order: each space's draws, then the explicit trials."""
    from ..designspace.sampling import sample_network

    input_size = int(config.recipe.get("input_size", 32))
    num_classes = int(config.recipe.get("num_classes", 10))
    trials = []
    for name in config.spaces:
        rng = random.Random(f"{config.seed}:{name}")  # string seeds are stable across runs and platforms
        for index in range(config.samples):
            drawn = sample_network(name, rng, config.complexity, input_size, IN_CHANS, num_classes)
            info = {"spec": drawn["spec"], "params": drawn["params"], "macs": drawn["macs"]}
            trials.append(Trial(f"{name}-{index:04d}", drawn["model"], drawn["model_kwargs"], dict(config.recipe),
                                config.seed + index, config.threads_per_trial, name, config.keep_checkpoints, info))
    for index, explicit in enumerate(config.trials):
        recipe = {**config.recipe, **explicit.recipe}
        seed = config.seed + index if explicit.seed is None else explicit.seed  # e.g. the seeds of one network
        trials.append(Trial(explicit.id, explicit.model, dict(explicit.model_kwargs), recipe, seed,
                            config.threads_per_trial, None, config.keep_checkpoints))
    return trials


def _ray_node_id() -> str | None:
    """The Ray node this trial runs on (None when it runs inline): on a cluster, where each trial ran."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except Exception:  # no Ray installed, or not inside a Ray worker
        return None


def _host() -> dict[str, Any]:
    from ..bench.runtimes import host_cpu

    return {"hostname": platform.node(), "cpu": host_cpu(), "pid": os.getpid(), "ray_node_id": _ray_node_id()}


def run_trial(trial: Trial, sweep_dir: str | os.PathLike) -> dict[str, Any]:
    """Train and evaluate one trial; never raises: a failure is a record with ``status: failed``. Returns the
    record's JSON form (:class:`~mobilezoo.sweep.records.TrialRecord`)."""
    import torch

    started = time.perf_counter()
    record = TrialRecord.of_trial(trial)
    out_dir = Path(sweep_dir) / "trials" / trial.id
    try:
        torch.set_num_threads(trial.threads)  # pinned: parallel trials must not oversubscribe the cores
        from ..profile.counting import count_params
        from ..train.config import TrainConfig
        from ..train.engine import Trainer

        config = TrainConfig.from_dict({**trial.recipe, "model": trial.model, "model_kwargs": trial.model_kwargs,
                                        "seed": trial.seed, "threads": trial.threads, "out_dir": str(out_dir)})
        trainer = Trainer(config, show_progress=False)
        record.recipe = {k: v for k, v in config.to_dict().items() if k != "out_dir"}
        if record.params is None:
            record.params = count_params(trainer.model)[0]
        history = trainer.fit()
        last = history[-1]
        record.status, record.error, record.top1 = "ok", round(100.0 - last["eval_top1"], 4), round(last["eval_top1"], 4)
        record.eval_loss, record.train_loss = round(last["eval_loss"], 5), round(last["train_loss"], 5)
        record.eval_samples, record.epochs = last["eval_samples"], len(history)
        if "test_top1" in last:  # eval_split: val chose nothing on the test split; it is reported beside
            record.test_top1, record.test_samples = round(last["test_top1"], 4), last["test_samples"]
        if not trial.keep_checkpoint:
            (out_dir / "last.pt").unlink(missing_ok=True)
    except Exception as exc:  # a failing trial is a result, not the end of the sweep
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        record.status, record.failure = "failed", f"{type(exc).__name__}: {first}"[:500]
        record.traceback = traceback.format_exc(limit=4)[-2000:]
        if not trial.keep_checkpoint:
            shutil.rmtree(out_dir, ignore_errors=True)
    record.wall_seconds, record.host = round(time.perf_counter() - started, 3), _host()
    record.finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return record.to_dict()

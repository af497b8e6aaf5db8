"""Run the missing trials of a sweep on Ray: a local instance by default, an existing cluster with ``address``.

Ray does the scheduling: each trial is a task that asks for ``threads_per_trial`` CPUs, and at most
``workers`` tasks are in flight. The driver only submits, waits and appends each finished trial's record,
so killing it at any point loses at most the trials that were running.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from ..errors import InvalidInputError, MissingDependencyError
from .config import SweepConfig
from .local_ray import start_local_ray
from .store import ResultStore
from .trials import Trial, TrialRecord, make_trials, run_trial


@dataclass
class SweepOutcome:
    ran: int
    ok: int
    failed: int
    skipped: int
    wall_seconds: float
    workers: int


def _require_ray():
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("sweeps run on Ray: pip install 'mobilezoo[sweep]'") from None
    return ray


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """A one-line error when nothing listens at a ``host:port`` or ``ray://host:port`` address (before Ray
    spends a minute retrying)."""
    if address in ("auto", "local"):
        return
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    if not parsed.hostname or not parsed.port:
        raise InvalidInputError(f"Ray address '{address}' is not host:port or ray://host:port; "
                                "give a cluster's address, 'auto', or no --address for a local Ray")
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInputError(f"cannot reach a Ray cluster at '{address}' ({reason}); start one with "
                                "`ray start --head` or drop --address to run on a local Ray") from None


def check_local_cpus(threads_per_trial: int) -> None:
    """A local Ray would accept trials wider than the machine and never start one: refuse them up front."""
    cpus = os.cpu_count() or 1
    if threads_per_trial > cpus:
        raise InvalidInputError(f"threads_per_trial {threads_per_trial} is more than this machine's {cpus} CPUs; "
                                f"lower it to at most {cpus}, or run on a cluster with --address")


def connect(address: str | None, workers: int, threads_per_trial: int) -> None:
    """Start a local Ray sized for ``workers`` parallel trials, or join the cluster at ``address``."""
    ray = _require_ray()
    os.environ.setdefault("RAY_ACCEPT_CLUSTER_ADDRESS_FROM_ENV", "0")
    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False, "include_dashboard": False}
    if address and address != "local":
        check_reachable(address)
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidInputError(f"cannot join the Ray cluster at '{address}' ({first[:200]}); "
                                    "check the address or drop --address to run locally") from None
        largest = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")), default=0)
        if threads_per_trial > largest:  # no node could ever run a trial: say so instead of waiting forever
            ray.shutdown()
            raise InvalidInputError(f"threads_per_trial {threads_per_trial} is more than any node of the cluster "
                                    f"at '{address}' has ({largest:g} CPUs); lower it or add a larger node")
        return
    # a local instance: just enough CPUs for the requested parallelism, a small object store (trials return
    # small records), no dashboard, loopback only, a reaper for whatever outlives this process
    check_local_cpus(threads_per_trial)
    start_local_ray(workers * threads_per_trial)


def run_sweep(config: SweepConfig, out_dir: str | os.PathLike, address: str | None = None, workers: int = 1,
              progress: bool = True, max_trials: int | None = None,
              on_record: Callable[[dict[str, Any]], None] | None = None) -> SweepOutcome:
    """Run every trial of ``config`` that ``out_dir`` has no record of; returns what this call did.

    ``max_trials`` stops after that many trials (a time-sliced chunk; rerun to continue).
    """
    from ..progress import progress_bar

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidInputError(f"--workers must be a whole number >= 1, got {workers!r}")
    if not address or address == "local":
        check_local_cpus(config.threads_per_trial)  # before the folder is claimed
    store = ResultStore(out_dir)
    trials = make_trials(config)
    store.claim(config, [t.id for t in trials])
    done = store.records(repair=True)
    missing = [t for t in trials if t.id not in done]
    if max_trials is not None:
        missing = missing[:max_trials]
    started = time.perf_counter()
    if not missing:
        return SweepOutcome(0, 0, 0, len(trials), 0.0, workers)
    ray = _require_ray()
    connect(address, workers, config.threads_per_trial)
    remote = ray.remote(num_cpus=config.threads_per_trial, max_retries=0)(run_trial)
    folder = str(Path(out_dir).resolve())
    queue = list(missing)
    running: dict[Any, Trial] = {}
    ok = failed = 0
    bar = progress_bar(total=len(missing), desc=f"sweep {config.name}", unit="trial", disable=not progress)
    try:
        while queue or running:
            while queue and len(running) < workers:
                trial = queue.pop(0)
                running[remote.remote(trial, folder)] = trial
            finished, _ = ray.wait(list(running), num_returns=1)
            for ref in finished:
                trial = running.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as exc:  # the worker died (out of memory, killed): a failed trial, not a failed sweep
                    record = TrialRecord.lost_worker(trial, exc).to_dict()
                store.append(record)
                ok += record["status"] == "ok"
                failed += record["status"] != "ok"
                if on_record:
                    on_record(record)
                bar.update(1)
                bar.set_postfix(ok=ok, failed=failed, refresh=False)
    finally:
        bar.close()
    if len(store.records()) >= len(trials):
        store.compact()
    return SweepOutcome(len(missing), ok, failed, len(trials) - len(missing), time.perf_counter() - started, workers)

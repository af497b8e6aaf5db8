"""The epoch loop both searches share: resume from the checkpoint, one epoch at a time, checkpoint before log."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any, Iterable

import torch

from ..errors import InvalidInputError
from ..fileio import atomic_path
from ..seeding import ProcessState

CHECKPOINT, LOG = "search.pt", "search_log.jsonl"


def read_search_checkpoint(path: str | Path, needs: tuple[str, ...] = ("net",), method: str = "dmasking"
                           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A search's ``search.pt`` and its recorded config, read through the zoo's safe reader (weights only, no
    compressed records, regular files only); anything else (a plain state dict, a training checkpoint, a
    corrupt file) is a one-line error naming the file and the ``mobilezoo search METHOD`` that writes it."""
    from ..errors import CheckpointError
    from ..weights.loading import read_checkpoint

    try:
        state = read_checkpoint(path)
    except CheckpointError as exc:
        raise InvalidInputError(f"cannot read the search checkpoint: {exc}") from None
    config = None
    if isinstance(state, dict) and isinstance(state.get("config"), str):
        with contextlib.suppress(ValueError):
            config = json.loads(state["config"])
    if not isinstance(config, dict) or not all(isinstance(state.get(key), dict) for key in needs):
        raise InvalidInputError(f"'{path}' is not the search.pt of a `mobilezoo search {method}` run (no "
                                f"{', '.join(('config',) + needs)}); pass a search's own checkpoint")
    return state, config


class ResumableEpochs:
    """A search with ``out``, ``config.epochs``, ``epoch``, ``history``, ``save()``, ``load()`` and ``run_epoch()``;
    ``PRINTED`` names the record fields printed after each epoch."""

    PRINTED: tuple[str, ...] = ("epoch",)
    _process_before: ProcessState  # the generators and threads before the search seeded them
    out: Path
    config: Any
    epoch: int
    history: list[dict[str, Any]]

    def run_epochs(self, resume: bool = False, stop_after: int | None = None, show_progress: bool = True) -> bool:
        """Train to ``config.epochs`` (``stop_after`` epochs in this call); True when the search is complete."""
        if resume and (self.out / CHECKPOINT).exists():
            self.load()
        stop_at = self.config.epochs if stop_after is None else min(self.config.epochs, self.epoch + stop_after)
        while self.epoch < stop_at:
            record = self.run_epoch(show_progress)
            self.save()  # first: the log never lists an epoch the checkpoint lacks
            with atomic_path(self.out / LOG) as temporary:
                temporary.write_text("".join(json.dumps(r) + "\n" for r in self.history))
            if show_progress:  # a library caller that wants silence passes show_progress=False
                print(json.dumps({k: record[k] for k in self.PRINTED}), flush=True)
        return self.epoch >= self.config.epochs

    def run(self, resume: bool = False, stop_after: int | None = None, show_progress: bool = True) -> Path | None:
        """Search to ``config.epochs`` (``stop_after`` epochs in this call); what the search hands over when done
        (:meth:`finish`), ``None`` before."""
        return self.finish() if self.run_epochs(resume, stop_after, show_progress) else None

    def finish(self) -> Path:
        raise NotImplementedError

    def __enter__(self) -> "ResumableEpochs":
        return self

    def __exit__(self, *exc: object) -> None:
        """Give back the random generators and thread count the search found (``with DMaskingSearch(...) as s``)."""
        self._process_before.restore()

    def save(self) -> None:
        with atomic_path(self.out / CHECKPOINT) as temporary:
            torch.save(self.state(), temporary)

    def refuse_other_settings(self, recorded: dict[str, Any], free: Iterable[str],
                              defaults: dict[str, Any] | None = None) -> None:
        """A checkpoint of a search with other settings (besides ``free`` ones) is refused, naming the first;
        ``defaults`` stand in for settings a search recorded before they existed."""
        mine, defaults, free = dataclasses.asdict(self.config), defaults or {}, set(free)
        changed = [k for k in mine if k not in free and recorded.get(k, defaults.get(k)) != mine[k]]
        if changed:
            raise InvalidInputError(f"'{self.out / CHECKPOINT}' is a search with another {changed[0]} "
                                    f"({recorded.get(changed[0])!r}, now {mine[changed[0]]!r}); use another --out or the "
                                    "same settings")

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def load(self) -> None:
        raise NotImplementedError

    def run_epoch(self, show_progress: bool = True) -> dict[str, Any]:
        raise NotImplementedError

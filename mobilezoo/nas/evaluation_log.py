"""A search's resumable log: one JSON line per evaluated network, appended and fsynced as each one finishes.

The first line records the search's settings. ``--resume`` replays the log: the searcher runs again from its
seed and, for each network the log already holds, is told the recorded score instead of evaluating it again.
A searcher's proposals depend only on its seed and the scores it was told, so the continued search is the one
an uninterrupted run would have made, bit for bit. A line a kill cut short is dropped (and cut from the file)
before anything is appended.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from ..errors import InvalidInputError
from ..fileio import check_regular_file
from .discrete_space import Arch

LOG = "evaluations.jsonl"


class EvaluationLog:
    """The log of one search in ``out``; :meth:`replaying` wraps the objective."""

    def __init__(self, out: Path, settings: dict[str, Any], resume: bool) -> None:
        self.path = out / LOG
        self.records: list[dict[str, Any]] = []
        if os.path.lexists(self.path):
            check_regular_file(self.path, "search log")  # a FIFO here would hang the read
        if self.path.exists() and not resume:
            raise InvalidInputError(f"'{out}' already holds a search log ({LOG}); --resume continues it, or choose "
                                    "another --out")
        if resume and self.path.exists():
            header, self.records = self._read(settings)
        else:
            with open(self.path, "w", encoding="utf-8") as handle:
                handle.write(json.dumps({"search": settings}, sort_keys=True) + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def _read(self, settings: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        raw = self.path.read_bytes()
        good_end = raw.rfind(b"\n") + 1  # a kill can leave a last line without its newline: never trust it
        if good_end < len(raw):
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)
        try:
            lines = [json.loads(line) for line in raw[:good_end].decode("utf-8").splitlines()]
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError(f"search log '{self.path}' is damaged; delete it to start over") from None
        header = lines[0].get("search") if lines and isinstance(lines[0], dict) else None
        if not isinstance(header, dict):
            raise InvalidInputError(f"'{self.path}' is not a search log; delete it to start over")
        recorded = json.loads(json.dumps(settings, sort_keys=True))  # the same types JSON gives back
        for key in sorted(set(recorded) | set(header)):
            if header.get(key) != recorded.get(key):
                raise InvalidInputError(f"'{self.path}' is a search with {key}={header.get(key)!r}, this one has "
                                        f"{key}={recorded.get(key)!r}; resume with the same settings or use another --out")
        records = lines[1:]
        if not all(isinstance(r, dict) and isinstance(r.get("arch"), list) and isinstance(r.get("score"), (int, float))
                   for r in records):
            raise InvalidInputError(f"search log '{self.path}' has a malformed record; delete it to start over")
        return header, records

    def replaying(self, objective: Callable[[Arch], float]) -> Callable[[Arch], float]:
        """``objective``, except that the first networks are answered from the log (and checked to be the same
        networks: a log of another search is refused, not mixed in); new evaluations are appended."""
        position = [0]

        def score(arch: Arch) -> float:
            index = position[0]
            position[0] += 1
            if index < len(self.records):
                if tuple(self.records[index]["arch"]) != tuple(arch):
                    raise InvalidInputError(f"'{self.path}' does not replay: evaluation {index + 1} was "
                                            f"{self.records[index]['arch']}, the search now asks for {list(arch)}; "
                                            "delete the log to start over")
                return float(self.records[index]["score"])
            value = objective(arch)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"arch": list(arch), "score": value}) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            return value

        return score

    @property
    def replayed(self) -> int:
        return len(self.records)

"""A sweep folder: ``sweep.json`` (the config and its fingerprint) and ``results.jsonl`` (one line per trial).

A line is appended (and fsynced) as each trial finishes, so a sweep killed at any moment keeps every finished
trial. A kill in the middle of an append leaves a partial last line: reading drops it (the trial reruns), and
if a trial id ever appears twice the last record wins, so the folder always holds each trial once.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from ..designspace.report import DesignSample
from ..errors import InvalidInputError
from ..fileio import atomic_path, check_regular_file, ensure_writable_dir, read_json_file, write_json_atomic
from .config import SweepConfig
from .trials import TrialRecord

RESULTS = "results.jsonl"
META = "sweep.json"
MAX_RESULTS_BYTES = 1 << 30  # 10,000 trials (the most a sweep file may ask for) take ~20 MB


class ResultStore:
    """The results of one sweep folder."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / RESULTS

    # --- the folder ----------------------------------------------------------------------------------

    def claim(self, config: SweepConfig, trial_ids: list[str]) -> None:
        """Create the folder for ``config``, or check that it already belongs to the same sweep; record the ids
        of its trials (so ``status`` need not sample them again)."""
        meta = self.folder / META
        if meta.exists():
            recorded = self.meta()
            if recorded.get("fingerprint") != config.fingerprint():
                raise InvalidInputError(
                    f"'{self.folder}' holds sweep '{recorded.get('name')}' with a different config; "
                    f"give another --out, or rerun with the config it was started with")
        else:
            ensure_writable_dir(self.folder, "--out")
        # rewritten on every run: the sample count may have grown
        write_json_atomic(meta, {"name": config.name, "fingerprint": config.fingerprint(), "config": config.to_dict(),
                                 "trial_ids": trial_ids})

    def meta(self) -> dict[str, Any]:
        path = self.folder / META
        if not os.path.lexists(path):
            raise InvalidInputError(f"'{self.folder}' is not a sweep folder (no {META}); run `mobilezoo sweep run` first")
        meta = read_json_file(path, "sweep record")  # a regular file of bounded size, strict JSON
        if not isinstance(meta, dict) or not isinstance(meta.get("trial_ids", []), list):
            raise InvalidInputError(f"sweep record '{path}' is not a sweep's record; remove the folder and rerun")
        return meta

    # --- records -------------------------------------------------------------------------------------

    def records(self, repair: bool = False) -> dict[str, dict[str, Any]]:
        """Finished trials by id (last record wins). With ``repair``, a partial last line is cut off the file."""
        if not os.path.lexists(self.path):
            return {}
        check_regular_file(self.path, "sweep results file")  # a FIFO or device here would hang or flood the read
        if self.path.stat().st_size > MAX_RESULTS_BYTES:
            raise InvalidInputError(f"sweep results file '{self.path}' is larger than {MAX_RESULTS_BYTES:,} bytes; "
                                    "is it a sweep's results file?")
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        found: dict[str, dict[str, Any]] = {}
        good_end = 0
        position = 0
        for index, line in enumerate(lines):
            end = position + len(line) + (1 if index < len(lines) - 1 else 0)
            if line.strip():
                try:
                    record = json.loads(line)
                    found[str(record["id"])] = record
                    good_end = end
                except (ValueError, KeyError, TypeError):
                    if index < len(lines) - 1 and any(x.strip() for x in lines[index + 1:]):
                        raise InvalidInputError(f"'{self.path}' line {index + 1} is not a trial record; "
                                                "fix or remove that line") from None
                    break  # an interrupted append: the trial simply runs again
            position = end
        if repair and good_end < len(raw) and raw[good_end:].strip():
            with atomic_path(self.path) as temporary:
                temporary.write_bytes(raw[:good_end])
        elif repair and raw and good_end == len(raw) and not raw.endswith(b"\n"):
            # a whole last record whose newline a kill cut off: an append would glue the next record onto it
            with atomic_path(self.path) as temporary:
                temporary.write_bytes(raw + b"\n")
        return found

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, default=str) + "\n").encode()
        with open(self.path, "ab") as handle:  # one write of a whole line; fsync so a kill after it keeps it
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def compact(self) -> None:
        """Rewrite the file with each trial once, in id order (after a sweep finishes)."""
        records = self.records()
        with atomic_path(self.path) as temporary:
            temporary.write_text("".join(json.dumps(records[k], default=str) + "\n" for k in sorted(records)))

    # --- summaries -----------------------------------------------------------------------------------

    def trial_records(self) -> dict[str, TrialRecord]:
        """Finished trials by id, typed."""
        return {key: TrialRecord.from_dict(record) for key, record in self.records().items()}

    def summary(self, trial_ids: Iterable[str] | None = None) -> dict[str, Any]:
        records = self.trial_records()
        expected = list(trial_ids) if trial_ids is not None else list(records)
        status = Counter(r.status for r in records.values())
        by_space: dict[str, dict[str, Any]] = {}
        for record in records.values():
            group = by_space.setdefault(record.space or "(explicit)", {"ok": 0, "failed": 0, "errors": [],
                                                                      "wall_seconds": 0.0})
            group["ok" if record.ok else "failed"] += 1
            group["wall_seconds"] += float(record.wall_seconds or 0)
            if record.ok:
                group["errors"].append(float(record.error))
        nodes = Counter(_node_label(record.host) for record in records.values())
        return {"trials": len(expected), "done": sum(1 for t in expected if t in records), "ok": status["ok"],
                "failed": status["failed"], "missing": [t for t in expected if t not in records], "by_space": by_space,
                "nodes": dict(sorted(nodes.items()))}


def _node_label(host: Any) -> str:
    """Where a trial ran: the host name and the start of its Ray node id (a cluster may run two nodes per host)."""
    if not isinstance(host, dict):
        return "(unknown)"
    node = host.get("ray_node_id")
    return f"{host.get('hostname', '?')} (node {str(node)[:8]})" if node else str(host.get("hostname", "?"))


def load_records(folders: Iterable[str | os.PathLike]) -> list[TrialRecord]:
    """Every trial record of the sweep folders, in one list."""
    records: list[TrialRecord] = []
    for folder in folders:
        store = ResultStore(folder)
        store.meta()  # a clear error when it is not a sweep folder
        records.extend(store.trial_records().values())
    return records


def design_samples(folders: Iterable[str | os.PathLike]) -> list[DesignSample]:
    """The trained draws of design spaces in the sweep folders (what ``sweep analyze`` compares); explicit trials
    and failures are left out."""
    return [DesignSample(r.space, float(r.error), float(r.params), float(r.macs), float(r.wall_seconds or 0))
            for r in load_records(folders) if r.ok and r.space]

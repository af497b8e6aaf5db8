"""Time a callable: warm-up, then per-call wall times summarised as mean/std/min/p50/p90/p99/max (ms)."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence


@dataclass
class LatencyStats:
    iters: int
    mean_ms: float
    std_ms: float
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def from_samples(cls, samples_ms: Sequence[float]) -> "LatencyStats":
        if not samples_ms:
            raise ValueError("no timing samples")
        ordered = sorted(samples_ms)

        def quantile(q: float) -> float:  # linear interpolation between closest ranks
            position = q * (len(ordered) - 1)
            low = int(position)
            high = min(low + 1, len(ordered) - 1)
            return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

        return cls(
            iters=len(ordered),
            mean_ms=statistics.fmean(ordered),
            std_ms=statistics.pstdev(ordered),
            min_ms=ordered[0],
            p50_ms=quantile(0.5),
            p90_ms=quantile(0.9),
            p99_ms=quantile(0.99),
            max_ms=ordered[-1],
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def measure(run: Callable[[], Any], warmup: int = 10, iters: int = 50, clock: Callable[[], float] = time.perf_counter) -> LatencyStats:
    """Call ``run`` ``warmup`` times untimed, then ``iters`` times timed."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(iters):
        start = clock()
        run()
        samples.append((clock() - start) * 1e3)
    return LatencyStats.from_samples(samples)


def measure_interleaved(runs: dict[str, Callable[[], Any]], warmup: int = 5, iters: int = 30) -> dict[str, LatencyStats]:
    """Time several callables round-robin, so drift in machine load hits all of them alike."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(iters):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return {name: LatencyStats.from_samples(values) for name, values in samples.items()}

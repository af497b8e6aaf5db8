"""Latency measurement: timing statistics shared by the bench command and the benchmark scripts."""

from .timing import LatencyStats, measure, measure_interleaved

__all__ = ["LatencyStats", "measure", "measure_interleaved"]

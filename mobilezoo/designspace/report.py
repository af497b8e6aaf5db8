"""Compare the design spaces of one or more sweeps: plots (PNG), a markdown summary and a JSON record.

Figures, as in NDS: the error EDF of each space, the complexity-normalized EDF (params and MACs), error
against complexity, and random-search efficiency; the KS statistic between every pair of spaces.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import InvalidInputError
from ..fileio import atomic_path, ensure_writable_dir, save_png, write_json_atomic
from .analysis import edf, edf_at, ks_test, normalized_weights, random_search_efficiency


@dataclass(frozen=True)
class DesignSample:
    """One trained draw of a design space: what the comparison reads (a sweep's trial records give them)."""

    space: str
    error: float  # top-1 error (%) on the eval split
    params: float
    macs: float
    wall_seconds: float = 0.0

    def complexity(self, metric: str) -> float:
        return self.params if metric == "params" else self.macs


@dataclass(frozen=True)
class AnalysisOptions:
    metric: str = "params"  # complexity used for normalization: params or macs
    num_bins: int = 10
    low: float | None = None  # default: the largest per-space minimum (shared support, as NDS)
    high: float | None = None  # default: the smallest per-space maximum
    seed: int = 0


def group_by_space(samples: Iterable[DesignSample]) -> dict[str, list[DesignSample]]:
    groups: dict[str, list[DesignSample]] = {}
    for sample in samples:
        groups.setdefault(sample.space, []).append(sample)
    return groups


def _range(groups: dict[str, list[DesignSample]], options: AnalysisOptions) -> tuple[float, float]:
    values = {s: [r.complexity(options.metric) for r in rs] for s, rs in groups.items()}
    low = options.low if options.low is not None else max(min(v) for v in values.values())
    high = options.high if options.high is not None else min(max(v) for v in values.values())
    if not low < high:
        raise InvalidInputError(f"the spaces share no {options.metric} range ({low:g} .. {high:g}); give --range")
    return low, high


def analyze(samples: Iterable[DesignSample], out_dir: str | os.PathLike, options: AnalysisOptions = AnalysisOptions()) -> dict[str, Any]:
    """Write the plots, ``summary.md`` and ``analysis.json`` to ``out_dir``; return the analysis."""
    groups = group_by_space(samples)
    if not groups:
        raise InvalidInputError("no successful design-space trials to analyze; run `mobilezoo sweep run` first")
    if options.metric not in ("params", "macs"):
        raise InvalidInputError(f"--metric must be params or macs, got '{options.metric}'")
    out = ensure_writable_dir(out_dir, "--out")
    low, high = _range(groups, options)
    result: dict[str, Any] = {"metric": options.metric, "range": [low, high], "num_bins": options.num_bins, "spaces": {}}
    pooled = np.concatenate([[r.error for r in rs] for rs in groups.values()])
    threshold = float(np.percentile(pooled, 25))
    normalized: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for space, rs in sorted(groups.items()):
        errors = np.array([r.error for r in rs])
        complexity = np.array([r.complexity(options.metric) for r in rs])
        norm = normalized_weights(complexity, options.num_bins, low, high)
        kept_errors = errors[norm.kept]
        normalized[space] = (kept_errors, norm.weights)
        result["spaces"][space] = {
            "trials": len(rs), "in_range": int(norm.kept.size),
            "min_error": float(errors.min()), "median_error": float(np.median(errors)),
            "share_below_threshold": edf_at(errors, threshold),
            "normalized_share_below_threshold": edf_at(kept_errors, threshold, norm.weights),
            "normalized_mean_error": float(np.sum(kept_errors * norm.weights)),
            "search_efficiency": [asdict(s) for s in random_search_efficiency(kept_errors, norm.weights, seed=options.seed)],
            "wall_seconds": float(sum(r.wall_seconds for r in rs)),
        }
    result["threshold_error"] = threshold
    result["ks"] = []
    for a, b in itertools.combinations(sorted(groups), 2):
        test = ks_test([r.error for r in groups[a]], [r.error for r in groups[b]])
        result["ks"].append({"a": a, "b": b, **asdict(test)})
    _plots(groups, normalized, result, out, options)
    write_json_atomic(out / "analysis.json", result)
    with atomic_path(out / "summary.md") as temporary:
        temporary.write_text(summary_markdown(result))
    return result


def summary_markdown(result: dict[str, Any]) -> str:
    metric, (low, high) = result["metric"], result["range"]
    lines = ["# Design-space comparison", "",
             f"Normalized by {metric} over the open range ({low:g}, {high:g}) in {result['num_bins']} equal-width bins; "
             f"threshold error = pooled 25th percentile, {result['threshold_error']:.2f}%.", "",
             "| space | trials | in range | min error % | median error % | share < threshold | normalized share < threshold "
             "| normalized mean error % |", "|---|---|---|---|---|---|---|---|"]
    for space, s in result["spaces"].items():
        lines.append(f"| {space} | {s['trials']} | {s['in_range']} | {s['min_error']:.2f} | {s['median_error']:.2f} | "
                     f"{s['share_below_threshold']:.0%} | {s['normalized_share_below_threshold']:.0%} | "
                     f"{s['normalized_mean_error']:.2f} |")
    lines += ["", "| KS test (unweighted errors) | D | p-value | n |", "|---|---|---|---|"]
    lines += [f"| {k['a']} vs {k['b']} | {k['statistic']:.3f} | {k['pvalue']:.3g} | {k['n1']} / {k['n2']} |" for k in result["ks"]]
    lines += ["", "Plots: edf.png, edf_normalized.png, error_vs_complexity.png, search_efficiency.png."]
    return "\n".join(lines) + "\n"


def _plots(groups, normalized, result, out: Path, options: AnalysisOptions) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 4))
    for space, rs in sorted(groups.items()):
        x, y = edf([r.error for r in rs])
        axis.step(x, y, where="post", label=f"{space} (n={len(rs)})")
    axis.set(xlabel="error (%)", ylabel="cumulative prob.", title="error EDF")
    axis.legend()
    figure.tight_layout()
    save_png(figure, out / "edf.png")

    figure, axis = plt.subplots(figsize=(5.5, 4))
    for space, (errors, weights) in sorted(normalized.items()):
        x, y = edf(errors, weights)
        axis.step(x, y, where="post", label=f"{space} (n={errors.size})")
    low, high = result["range"]
    axis.set(xlabel="error (%)", ylabel="cumulative prob. (weighted)",
             title=f"{options.metric}-normalized EDF, ({low:.3g}, {high:.3g})")
    axis.legend()
    figure.tight_layout()
    save_png(figure, out / "edf_normalized.png")

    figure, axis = plt.subplots(figsize=(5.5, 4))
    for space, rs in sorted(groups.items()):
        axis.scatter([r.complexity(options.metric) for r in rs], [r.error for r in rs], s=10, alpha=0.6, label=space)
    axis.set_xscale("log")
    axis.set(xlabel=options.metric, ylabel="error (%)", title="error vs complexity")
    axis.legend()
    figure.tight_layout()
    save_png(figure, out / "error_vs_complexity.png")

    figure, axis = plt.subplots(figsize=(5.5, 4))
    for space, summary in sorted(result["spaces"].items()):
        points = summary["search_efficiency"]
        k = np.array([p["k"] for p in points])
        mean = np.array([p["mean"] for p in points])
        std = np.array([p["std"] for p in points])
        axis.plot(k, mean, marker="o", ms=3, label=space)
        axis.fill_between(k, mean - 2 * std, mean + 2 * std, alpha=0.2)
    axis.set_xscale("log", base=2)
    axis.set(xlabel="models drawn (k)", ylabel="min error (%), mean ± 2 std", title="random-search efficiency")
    axis.legend()
    figure.tight_layout()
    save_png(figure, out / "search_efficiency.png")

"""Deriving a network from a DMaskingNAS distribution under the budget, instead of taking its argmax.

The argmax of each choice ignores the budget: after a search whose cost term pushed every width down a little,
it lands far below the budget; after one that never met the budget it may land above it. The network a user wants
is the most probable one that spends the budget. We draw candidates (from the final distribution mixed with the
uniform one, so the budget's neighbourhood is covered even when the distribution is sharp), keep those whose
exact cost lies in ``[band * budget, budget]``, take the one the distribution finds most probable (the largest
sum of log-probabilities), then improve it one choice at a time while it stays in the band (so no network one
change away is more probable). With none in the band, the same within the budget; with none within it, an error
naming the cheapest cost found.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import torch

from ..errors import InvalidInputError
from .cost import CostTables


@dataclass(frozen=True)
class Derivation:
    """The derived network and how it was chosen."""

    choice: dict[str, int]
    cost: float
    log_probability: float
    rule: str  # "in band", "within budget" or "argmax"
    candidates: int  # distinct networks drawn
    in_band: int  # of which in [band * budget, budget]
    argmax: dict[str, int]
    argmax_cost: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def derive_within_budget(probabilities: Mapping[str, torch.Tensor], tables: CostTables, budget: float,
                         band: float = 0.9, samples: int = 20_000, mix: float = 0.5, seed: int = 0) -> Derivation:
    """The most probable network with cost in ``[band * budget, budget]`` among ``samples`` draws.

    ``probabilities[var]``: each choice's final distribution; ``mix``: the share of the uniform distribution in
    the proposal (the ranking always uses the search's own distribution)."""
    if not (0 < band <= 1 and 0 <= mix <= 1 and samples >= 1 and math.isfinite(budget) and budget > 0):
        raise InvalidInputError(f"derivation needs 0 < band <= 1, 0 <= mix <= 1, samples >= 1 and a positive "
                                f"budget; got band {band}, mix {mix}, samples {samples}, budget {budget}")
    generator = torch.Generator().manual_seed(seed)
    names = list(probabilities)
    log_p = {var: torch.log(probabilities[var].double().clamp_min(1e-12)) for var in names}
    argmax = {var: int(probabilities[var].argmax()) for var in names}
    drawn = {}
    for var in names:
        p = probabilities[var].double()
        proposal = (1 - mix) * p + mix / len(p)
        draws = torch.multinomial(proposal, samples, replacement=True, generator=generator)
        drawn[var] = torch.cat([torch.tensor([argmax[var]]), draws])  # the argmax is always a candidate
    rows = torch.unique(torch.stack([drawn[var] for var in names], 1), dim=0)
    choices = {var: rows[:, n] for n, var in enumerate(names)}
    costs = tables.exact_many(choices).double()
    scores = sum(log_p[var][choices[var]] for var in names)
    within = costs <= budget
    in_band = within & (costs >= band * budget)
    if bool(in_band.any()):
        pool, rule = in_band, "in band"
    elif bool(within.any()):
        pool, rule = within, "within budget"
    else:
        raise InvalidInputError(f"no drawn network is within the budget {budget:g} {tables.unit} (cheapest drawn "
                                f"{float(costs.min()):g}); raise the budget or search longer")
    best = int(torch.where(pool, scores, torch.full_like(scores, -math.inf)).argmax())
    choice = {var: int(choices[var][best]) for var in names}
    low = band * budget if rule == "in band" else -math.inf
    choice = _improve(choice, log_p, tables, low, budget)
    score = float(sum(log_p[var][index] for var, index in choice.items()))
    return Derivation(choice, float(tables.exact(choice)), score, rule, int(len(rows)), int(in_band.sum()),
                      argmax, float(tables.exact(argmax)))


def _improve(choice: dict[str, int], log_p: Mapping[str, torch.Tensor], tables: CostTables, low: float,
             high: float) -> dict[str, int]:
    """Coordinate ascent on the log-probability: take the best single change that keeps the cost in
    ``[low, high]`` until none helps (each step strictly improves, so it ends)."""
    while True:
        gains = {(var, option): float(scores[option] - scores[choice[var]])  # the change to the network's log-prob.
                 for var, scores in log_p.items() for option in range(len(scores))
                 if float(scores[option]) > float(scores[choice[var]])}
        for var, option in sorted(gains, key=gains.get, reverse=True):
            other = {**choice, var: option}
            if low <= tables.exact(other) <= high:
                choice = other
                break
        else:
            return choice

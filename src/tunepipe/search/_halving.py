"""Successive halving with scikit-learn's ``HalvingRandomSearchCV`` semantics.

Jamieson & Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter Optimization"
(AISTATS 2016). Each rung evaluates the survivors at ``factor`` times the previous resource and
keeps the best ``ceil(n / factor)``; NaN scores rank last; the winner comes from the last rung.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from tunepipe.search._base import Candidate, Rung, Strategy, rank_order

MinResources = int | Literal["smallest", "exhaust"]


@dataclass(frozen=True)
class HalvingSchedule:
    """The planned rounds of a halving search (scikit-learn's ``n_*_`` attributes)."""

    min_resources: int
    max_resources: int
    n_required_iterations: int
    n_possible_iterations: int
    n_iterations: int
    n_resources: list[int]


def smallest_min_resources(resource: str, n_splits: int, n_classes: int | None) -> int:
    """scikit-learn's ``min_resources='smallest'``.

    For ``n_samples``: 2 samples per fold (per class for classifiers); for any other resource: 1.
    """
    if resource != "n_samples":
        return 1
    return n_splits * 2 * (n_classes or 1)


def halving_schedule(
    n_candidates: int,
    factor: float,
    min_resources: int,
    max_resources: int,
    *,
    exhaust: bool = False,
    aggressive_elimination: bool = False,
) -> HalvingSchedule:
    """Compute rounds and resources exactly as ``BaseSuccessiveHalving._run_search``.

    Args:
        n_candidates: Candidates in the first rung.
        factor: Survivors per rung are ``ceil(n / factor)``; resources grow by ``factor``.
        min_resources: Resolved starting resource (``smallest`` already turned into a number).
        max_resources: Largest resource a rung may use.
        exhaust: ``min_resources='exhaust'``: start as high as possible so the last rung uses
            close to ``max_resources``.
        aggressive_elimination: Repeat the first resource level until few enough candidates remain.
    """
    if min_resources > max_resources:
        raise ValueError(f"min_resources ({min_resources}) must be <= max_resources ({max_resources})")
    # The number of rounds needed so that the last one evaluates fewer than `factor` candidates.
    n_required = 1 + math.floor(math.log(n_candidates, factor))
    if exhaust:
        min_resources = max(min_resources, int(max_resources // factor ** (n_required - 1)))
    n_possible = 1 + math.floor(math.log(max_resources // min_resources, factor))
    n_iterations = n_required if aggressive_elimination else min(n_possible, n_required)
    n_resources = []
    for itr in range(n_iterations):
        power = itr
        if aggressive_elimination:
            # Stay at the first resource level while extra rounds eliminate candidates, then grow.
            power = max(0, itr - n_required + n_possible)
        n_resources.append(min(int(factor**power * min_resources), max_resources))
    return HalvingSchedule(min_resources, max_resources, n_required, n_possible, n_iterations, n_resources)


class SuccessiveHalving(Strategy):
    """Successive halving over a fixed list of sampled candidates.

    Args:
        candidates: Parameter sets for the first rung, already sampled.
        factor: Keep ``ceil(n / factor)`` per rung, multiply resources by ``factor``.
        min_resources: Resolved starting resource.
        max_resources: Resource cap.
        exhaust: See :func:`halving_schedule`.
        aggressive_elimination: See :func:`halving_schedule`.

    Example:
        >>> s = SuccessiveHalving([{"a": i} for i in range(9)], factor=3, min_resources=10,
        ...                       max_resources=90)
        >>> [len(s.ask()), s.schedule.n_resources]
        [9, [10, 30, 90]]
    """

    def __init__(
        self,
        candidates: list[dict[str, Any]],
        *,
        factor: float,
        min_resources: int,
        max_resources: int,
        exhaust: bool = False,
        aggressive_elimination: bool = False,
    ) -> None:
        super().__init__()
        if not candidates:
            raise ValueError("SuccessiveHalving needs at least one candidate")
        self._params = candidates
        self.factor = factor
        self.schedule = halving_schedule(
            len(candidates),
            factor,
            min_resources,
            max_resources,
            exhaust=exhaust,
            aggressive_elimination=aggressive_elimination,
        )

    @property
    def n_planned_rungs(self) -> int:
        return self.schedule.n_iterations

    def _next_rung(self) -> Rung | None:
        itr = len(self.rungs)
        if itr >= self.schedule.n_iterations:
            return None
        n_resources = self.schedule.n_resources[itr]
        if itr == 0:
            ids_params = list(enumerate(self._params))
        else:
            previous = self.rungs[-1].results
            keep = math.ceil(len(previous) / self.factor)
            # Survivors keep their ids (and first-rung order), so a candidate can be followed across rungs.
            survivors = sorted((r.candidate for r in rank_order(previous)[:keep]), key=lambda c: c.id)
            ids_params = [(c.id, c.params) for c in survivors]
        return Rung(itr, n_resources, [Candidate(i, p, itr, n_resources) for i, p in ids_params])

"""Successive halving with scikit-learn's ``HalvingRandomSearchCV`` semantics.

Jamieson & Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter Optimization"
(AISTATS 2016). Each rung evaluates the survivors at ``factor`` times the previous resource and
keeps the best ``ceil(n / factor)``; NaN scores rank last; the winner comes from the last rung.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tunepipe.results import rank_order
from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Scheduler, Slot, latest_rung


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


def exhaust_min_resources(n_candidates: int, factor: float, min_resources: int, max_resources: int) -> int:
    """scikit-learn's ``min_resources='exhaust'``: start as high as possible so that the last of
    the rounds ``n_candidates`` need uses close to ``max_resources``."""
    n_required = 1 + math.floor(math.log(n_candidates, factor))
    return max(min_resources, int(max_resources // factor ** (n_required - 1)))


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
    # The number of rounds needed so that the last one evaluates fewer than `factor` candidates.
    n_required = 1 + math.floor(math.log(n_candidates, factor))
    if exhaust:
        min_resources = exhaust_min_resources(n_candidates, factor, min_resources, max_resources)
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


class SuccessiveHalving(Scheduler):
    """Successive halving over ``n_candidates`` configurations, one synchronous rung at a time.

    Survivors of a rung are the best ``ceil(n / factor)`` (failed trials last, ties to the lower
    trial number), run in the order they were first sampled.

    Example:
        >>> s = SuccessiveHalving(9, factor=3, min_resources=10, max_resources=90)
        >>> s.schedule.n_resources
        [10, 30, 90]
    """

    def __init__(
        self,
        n_candidates: int,
        *,
        factor: float,
        min_resources: int,
        max_resources: int,
        exhaust: bool = False,
        aggressive_elimination: bool = False,
    ) -> None:
        if n_candidates < 1:
            raise ValueError(f"n_candidates is {n_candidates}, but must be >= 1")
        self.n_planned = n_candidates
        self.factor = factor
        self.schedule = halving_schedule(
            n_candidates, factor, min_resources, max_resources,
            exhaust=exhaust, aggressive_elimination=aggressive_elimination,
        )

    def next(self, history: History) -> Slot | None:
        budgets = self.schedule.n_resources
        if history.n_candidates < self.n_planned:
            return Slot(0, 0, budgets[0])
        rung = max(t.rung for t in history.trials if t.bracket == 0)
        survivors = self._survivors(history, rung)  # of rung - 1 (rung 0: every candidate)
        issued = {t.candidate for t in history.trials_at(0, rung)}
        waiting = [c for c in survivors if c not in issued]
        if waiting:
            return Slot(0, rung, budgets[rung], waiting[0])
        if len(history.observed_at(0, rung)) < len(issued) or rung + 1 >= len(budgets):
            return None  # the rung is still running, or it was the last
        return Slot(0, rung + 1, budgets[rung + 1], self._survivors(history, rung + 1)[0])

    def _survivors(self, history: History, rung: int) -> list[int]:
        """The candidates rung ``rung`` runs, in sampling order (needs rung - 1 fully observed)."""
        if rung == 0:
            return list(range(self.n_planned))
        previous = history.observed_at(0, rung - 1)
        best = rank_order(previous)[: math.ceil(len(previous) / self.factor)]
        return sorted(o.trial.candidate for o in best)

    def alive(self, history: History) -> set[int] | None:
        return latest_rung(history, 0, len(self.schedule.n_resources))

    def plan(self) -> list[tuple[int, list[int], list[int]]]:
        counts = [self.n_planned]
        for _ in self.schedule.n_resources[1:]:
            counts.append(math.ceil(counts[-1] / self.factor))
        return [(0, counts, list(self.schedule.n_resources))]

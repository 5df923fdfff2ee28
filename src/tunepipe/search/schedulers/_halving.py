"""Successive halving with scikit-learn's ``HalvingRandomSearchCV`` semantics.

Jamieson & Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter Optimization"
(AISTATS 2016). Each rung evaluates the survivors at ``factor`` times the previous resource and
keeps the best ``ceil(n / factor)``; NaN scores rank last; the winner comes from the last rung.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Bracket, Scheduler, Slot, latest_rung, promotion_order


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


class HalvingBracket:
    """One bracket of synchronous successive halving: the rule both halving and Hyperband run.

    Rung 0 starts the bracket's own configurations; rung ``k`` runs the best
    ``bracket.n_configs[k]`` of rung ``k - 1`` (failed trials last, ties to the lower trial
    number) once rung ``k - 1`` is fully observed, in the order they were first sampled.
    """

    def __init__(self, bracket: Bracket) -> None:
        self.bracket = bracket

    def next(self, history: History) -> Slot | None:
        """The bracket's next trial, or None while a rung is still running (or it is finished)."""
        b = self.bracket
        own = range(b.first_candidate, b.first_candidate + b.n_configs[0])
        if history.n_candidates < own.stop:
            # New configurations are numbered in bracket order: this bracket's come after the
            # earlier brackets' (None until those are all sampled).
            return Slot(b.number, 0, b.budgets[0]) if history.n_candidates >= own.start else None
        for rung in range(1, len(b.budgets)):
            previous = history.observed_at(b.number, rung - 1)
            if len(previous) < len(history.trials_at(b.number, rung - 1)):
                return None  # rung - 1 is still running
            survivors = sorted(o.trial.candidate for o in promotion_order(previous)[: b.n_configs[rung]])
            issued = {t.candidate for t in history.trials_at(b.number, rung)}
            waiting = [c for c in survivors if c not in issued]
            if waiting:
                return Slot(b.number, rung, b.budgets[rung], waiting[0])
        return None

    def alive(self, history: History) -> set[int]:
        """The configurations of the bracket's latest rung, if a later rung may promote them."""
        return latest_rung(history, self.bracket.number, len(self.bracket.budgets))


class SuccessiveHalving(Scheduler):
    """Successive halving over ``n_candidates`` configurations: one :class:`HalvingBracket` whose
    rungs keep ``ceil(n / factor)`` (scikit-learn's rule) at :func:`halving_schedule`'s budgets.

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
        self.n_configs = n_candidates
        self.factor = factor
        self.schedule = halving_schedule(
            n_candidates, factor, min_resources, max_resources,
            exhaust=exhaust, aggressive_elimination=aggressive_elimination,
        )
        counts = [n_candidates]
        for _ in self.schedule.n_resources[1:]:
            counts.append(math.ceil(counts[-1] / factor))
        self.bracket = HalvingBracket(Bracket(0, counts, list(self.schedule.n_resources)))

    def next(self, history: History) -> Slot | None:
        return self.bracket.next(history)

    def alive(self, history: History) -> set[int] | None:
        return self.bracket.alive(history)

    def plan(self) -> list[Bracket]:
        return [self.bracket.bracket]

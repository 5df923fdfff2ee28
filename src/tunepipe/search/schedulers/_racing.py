"""Fold-wise racing: each new trial races the incumbent fold by fold and stops if it cannot catch it.

A scheduler around another (FIFO: random, grid, tpe): every trial it hands out carries the
incumbent's fold scores at the same budget, the best fully scored observation applied so far (the
model's defaults, trial 0, to begin with). The trial's evaluation runs its first folds and stops
when it scores below the incumbent on each of them (:func:`tunepipe.results.loses_race`); a trial
that goes on is scored exactly as without racing. Racing cuts the cost of a poor configuration to
a few folds without judging it at a smaller budget (where a high learning rate always looks best).
"""

from __future__ import annotations

import dataclasses

from tunepipe.results import rank_order
from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Scheduler, Slot


def incumbent_scores(history: History, budget: int) -> tuple[float, ...] | None:
    """The fold scores of the best fully scored observation at ``budget`` (None: there is none yet)."""
    scored = [o for o in history.ok() if o.trial.budget == budget]
    return rank_order(scored)[0].fold_scores if scored else None


class Racing(Scheduler):
    """``inner``'s trials, each racing the incumbent at its budget.

    Args:
        inner: The scheduler that decides what runs.
    """

    def __init__(self, inner: Scheduler) -> None:
        self.inner = inner
        self.n_planned = inner.n_planned

    def next(self, history: History) -> Slot | None:
        slot = self.inner.next(history)
        if slot is None:
            return None
        return dataclasses.replace(slot, race=incumbent_scores(history, slot.budget))

    def alive(self, history: History) -> set[int] | None:
        return self.inner.alive(history)

    def plan(self) -> list[tuple[int, list[int], list[int]]]:
        return self.inner.plan()

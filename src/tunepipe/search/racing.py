"""Fold-wise racing: each trial races the incumbent fold by fold and stops once it is surely worse.

The one place the racing rule lives. A scheduler wrapper (:class:`Racing`, around FIFO: random,
grid, tpe) hands every trial a :class:`Race`: the incumbent's fold scores at the same budget (the
best fully scored observation applied so far, the model's defaults to begin with) and the test.
The trial's evaluation (:mod:`tunepipe.scoring`) runs its folds in the stages :meth:`Race.looks`
names and asks :meth:`Race.loses` after each; it never decides by itself. A trial that goes on is
scored exactly as without racing.

The test is a one-sided paired t-test on the per-fold differences ``d_k = trial_k - incumbent_k``
over the folds run so far: the trial stops when the upper confidence bound of the mean difference
is below zero. The spread of the differences is pooled over the trials already fully scored at the
budget (each one's differences from the current incumbent), so that after
a few trials the test has many degrees of freedom and can decide after 2 folds; a trial whose own
differences spread more than that is judged by its own spread. Pairing removes the folds' difficulty, which both share (Maron & Moore's Hoeffding
races, NeurIPS 1993, and Birattari et al.'s F-Race, GECCO 2002, race configurations on shared
instances; Optuna's ``WilcoxonPruner`` tests paired per-instance differences the same way). The
error rate is ``alpha`` per trial, split evenly over its looks (Bonferroni), so a trial exactly as
good as the incumbent is stopped with probability at most ``alpha`` under the test's model. That
model treats the incumbent's scores as fixed; the incumbent is the best of many trials, so its
scores are biased upwards and the real rate is measured, not assumed
(``benchmarks/racing_false_stops.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import stats

from tunepipe.results import rank_order
from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Bracket, Scheduler, Slot

# The chance, per trial, that the test stops a configuration as good as the incumbent.
ALPHA = 0.05
# Folds before the first look: a t-test needs two differences for their spread.
FIRST_LOOK = 2
# The spread of the differences is taken as at least this share of the incumbent's own spread
# over folds: a discrete metric (accuracy on small folds) can give equal differences on every fold,
# a spread of zero that is no evidence of "no noise".
MIN_SPREAD = 0.1
# Degrees of freedom the pooled spread needs before it replaces the trial's own (one fully scored
# trial of 5 folds gives 4).
MIN_POOLED_DOF = 8


@dataclass(frozen=True)
class Race:
    """What a trial races: the incumbent's score on each fold, and the test's error rate.

    Attributes:
        incumbent: The incumbent's fold scores (all of ``cv.n_splits``), at the trial's budget.
        alpha: The chance per trial of stopping a configuration as good as the incumbent.
        spread: The standard deviation of a per-fold difference from the incumbent, pooled over
            the trials observed so far (None: too few; the trial's own differences are used).
        dof: The pooled spread's degrees of freedom.
    """

    incumbent: tuple[float, ...]
    alpha: float = ALPHA
    spread: float | None = None
    dof: int = 0

    def looks(self) -> tuple[int, ...]:
        """The fold counts after which the trial is tested: 2, 3, ..., n_splits - 1 (none for 2 folds).

        After the last fold the trial is simply scored; a look there would save nothing.
        """
        return tuple(range(FIRST_LOOK, len(self.incumbent)))

    def loses(self, scores: Sequence[float]) -> bool:
        """Whether a trial with ``scores`` on the first ``len(scores)`` folds is surely worse.

        False when a fold failed (NaN: the trial fails, it is not raced out), or when the trial is
        within noise of the incumbent on the folds run.
        """
        k = len(scores)
        if k not in self.looks() or any(math.isnan(s) for s in scores):
            return False
        diffs = np.asarray(scores, dtype=float) - np.asarray(self.incumbent[:k], dtype=float)
        spread = max(float(np.std(diffs, ddof=1)), MIN_SPREAD * float(np.std(self.incumbent, ddof=1)))
        dof = k - 1
        if self.spread is not None:
            spread, dof = max(spread, self.spread), self.dof
        bound = float(diffs.mean()) + _critical(dof, self.alpha / len(self.looks())) * spread / math.sqrt(k)
        return bound < 0


@cache
def _critical(dof: int, alpha: float) -> float:
    """The one-sided t critical value at ``alpha`` with ``dof`` degrees of freedom."""
    return float(stats.t.ppf(1 - alpha, dof))


def incumbent_scores(history: History, budget: int) -> tuple[float, ...] | None:
    """The fold scores of the best fully scored observation at ``budget`` (None: there is none yet)."""
    scored = [o for o in history.ok() if o.trial.budget == budget]
    return rank_order(scored)[0].fold_scores if scored else None


def pooled_spread(history: History, budget: int, incumbent: tuple[float, ...]) -> tuple[float, int] | None:
    """The standard deviation of a per-fold difference from ``incumbent``, and its degrees of
    freedom: each fully scored observation at ``budget`` gives its differences on every fold, their
    variances are pooled. None below :data:`MIN_POOLED_DOF`.

    Raced-out trials are left out: racing stopped them because their differences were consistent,
    so their spread is biased low; a trial that ran every fold was not selected for a small one.
    """
    squares, dof = 0.0, 0
    reference = np.asarray(incumbent, dtype=float)
    for o in history.ok():
        if o.trial.budget != budget or o.fold_scores == incumbent:
            continue
        diffs = np.asarray(o.fold_scores, dtype=float) - reference
        squares += float(((diffs - diffs.mean()) ** 2).sum())
        dof += len(diffs) - 1
    return (math.sqrt(squares / dof), dof) if dof >= MIN_POOLED_DOF else None


class Racing(Scheduler):
    """``inner``'s trials, each racing the incumbent at its budget.

    Args:
        inner: The scheduler that decides what runs.
        alpha: The test's error rate per trial (:class:`Race`).
    """

    def __init__(self, inner: Scheduler, alpha: float = ALPHA) -> None:
        self.inner = inner
        self.alpha = alpha
        self.n_configs = inner.n_configs

    def next(self, history: History) -> Slot | None:
        slot = self.inner.next(history)
        if slot is None:
            return None
        scores = incumbent_scores(history, slot.budget)
        if scores is None:
            return slot
        pooled = pooled_spread(history, slot.budget, scores)
        spread, dof = pooled if pooled is not None else (None, 0)
        return dataclasses.replace(slot, race=Race(scores, self.alpha, spread, dof))

    def alive(self, history: History) -> set[int] | None:
        return self.inner.alive(history)

    def plan(self) -> list[Bracket]:
        return self.inner.plan()

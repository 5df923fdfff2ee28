"""A trial (what to evaluate) and its observation (what evaluating it gave).

Shared by the search (which asks for trials and is told observations), trial evaluation, the
report and the refit; kept outside ``tunepipe.search`` so that the train and evaluate stages do not
depend on the strategies' code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

Status = Literal["ok", "failed", "pruned"]
# The candidate number (and bracket) of the model's default configuration: outside every
# scheduler's brackets, so it never changes what a strategy samples or promotes. With several
# model kinds, each kind's defaults are candidates -1, -2, ... (bracket -1).
DEFAULTS = -1


class Race(Protocol):
    """What a raced trial asks its race (:class:`tunepipe.search.racing.Race` is the one rule)."""

    def looks(self) -> tuple[int, ...]:
        """The fold counts after which the trial is tested."""

    def loses(self, scores: Sequence[float]) -> bool:
        """Whether the trial, with ``scores`` on its first folds, stops."""


@dataclass(frozen=True)
class Segment:
    """Part of a schedule: ``params`` in force for ``rounds`` boosting rounds (population-based training)."""

    rounds: int
    params: dict[str, Any]


@dataclass(frozen=True)
class Trial:
    """One configuration at one budget: the unit of work a search hands out.

    Attributes:
        number: Position in the order the search asked for trials (0, 1, ...): the trial's name
            and the order its observation is applied in.
        candidate: The configuration's number, in the order configurations were first sampled; a
            configuration promoted to a larger budget is a new trial with the same candidate.
        params: The configuration's hyperparameters (the searched ones only).
        budget: Resource level: boosting rounds (``n_estimators``) or training rows (``n_samples``).
        bracket: Hyperband bracket (0 for single-bracket strategies).
        rung: Rung within the bracket, from 0.
        race: With fold-wise racing, the incumbent's fold scores at this budget and the test
            that stops the trial once it is surely worse (:mod:`tunepipe.search.racing`).
        proposed_by: What chose the configuration: ``random``, ``grid`` or ``tpe`` (a model
            trained on the observations so far); ``defaults`` for trial 0.
        ceiling: With early stopping, the most boosting rounds the trial may go to while its CV
            score still improves at its budget (None: it stops at its budget).
        schedule: Population-based training: the segments trained before ``params`` take over
            (``params`` then hold from round ``sum(s.rounds)`` to the budget); such a trial trains
            exactly its budget and is scored there. None: ``params`` from round 0 (every other
            strategy).
        parent: Population-based training: the member whose boosters this one copied before this
            step (exploit), or None.
    """

    number: int
    candidate: int
    params: dict[str, Any]
    budget: int
    bracket: int = 0
    rung: int = 0
    race: Race | None = None
    proposed_by: str = "random"
    ceiling: int | None = None
    schedule: tuple[Segment, ...] | None = None
    parent: int | None = None

    @property
    def segments(self) -> list[Segment]:
        """The whole schedule up to the budget: the earlier segments, then ``params`` to the budget."""
        before = list(self.schedule or ())
        return before + [Segment(self.budget - sum(s.rounds for s in before), self.params)]

    @property
    def is_defaults(self) -> bool:
        """Whether this is the model's default configuration, run at the full budget by every search."""
        return self.candidate <= DEFAULTS

    @property
    def label(self) -> str:
        """Short name for task runs and logs, e.g. ``trial 17 b2 r1`` (``trial 0 defaults``)."""
        return f"trial {self.number} defaults" if self.is_defaults else f"trial {self.number} b{self.bracket} r{self.rung}"


@dataclass(frozen=True)
class Observation:
    """What evaluating a trial on its folds gave.

    Attributes:
        trial: The trial evaluated.
        fold_scores: Score per fold (the scorer's sign: greater is better); NaN where it failed.
        best_budget: The resource level the scores were taken at when a trial may score below its
            budget (its best number of boosting rounds); None means the budget.
        status: ``ok``, ``failed`` (an error; NaN scores) or ``pruned`` (stopped early by the search).
        error: The first line of the error of a failed trial.
        fit_times: Seconds of fitting per fold (execution facts: never in DVC-tracked outputs).
        score_times: Seconds of scoring per fold.
        metrics: With several scorers (``search.scoring`` a list), the others' scores per fold,
            taken where ``fold_scores`` are (NaN where a fold did not run); ``fold_scores`` are
            the refit metric's, which every decision reads.
    """

    trial: Trial
    fold_scores: tuple[float, ...]
    best_budget: int | None = None
    status: Status = "ok"
    error: str = ""
    fit_times: tuple[float, ...] = ()
    score_times: tuple[float, ...] = ()
    metrics: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def mean_score(self) -> float:
        """Mean over folds; NaN if any fold is NaN (as scikit-learn's ``error_score=nan``)."""
        scores = np.asarray(self.fold_scores, dtype=float)
        return float(scores.mean()) if scores.size and not np.isnan(scores).any() else math.nan

    @property
    def scored_budget(self) -> int:
        """The resource level the scores belong to: what a refit of this observation uses."""
        return self.best_budget if self.best_budget is not None else self.trial.budget


def rank_order(observations: Sequence[Observation]) -> list[Observation]:
    """Observations best first. NaN scores rank last; ties go to the lower trial number."""

    def key(o: Observation) -> tuple[bool, float, int]:
        score = o.mean_score
        return (math.isnan(score), -score if not math.isnan(score) else 0.0, o.trial.number)

    return sorted(observations, key=key)


def winner(observations: Sequence[Observation]) -> Observation:
    """The best observation at the largest budget reached.

    We want the best configuration out of the largest budget, as scikit-learn's halving search
    takes it from the last iteration: scores at smaller budgets are not comparable with it.
    Pruned and failed trials rank last; ties go to the lower trial number.
    """
    if not observations:
        raise ValueError("no observation to pick a winner from")
    top = max(o.trial.budget for o in observations)
    return rank_order([o for o in observations if o.trial.budget == top])[0]

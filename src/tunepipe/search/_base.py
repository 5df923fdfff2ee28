"""The strategy contract: a strategy proposes candidates (``ask``) and takes scores back (``tell``).

A strategy never fits a model, imports Prefect or touches files: the flow executes, strategies
schedule (as in scikit-learn's ``_run_search`` / ``evaluate_candidates``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class Candidate:
    """One parameter set to evaluate at one resource level (one trial task)."""

    id: int
    params: dict[str, Any]
    rung: int
    n_resources: int

    @property
    def label(self) -> str:
        """Short name used for task runs and logs, e.g. ``c017 r2``."""
        return f"c{self.id:03d} r{self.rung}"


@dataclass(frozen=True)
class TrialResult:
    """What evaluating one candidate on every fold gave."""

    candidate: Candidate
    fold_scores: tuple[float, ...]
    fit_times: tuple[float, ...] = ()
    score_times: tuple[float, ...] = ()
    status: Literal["ok", "failed"] = "ok"
    error: str = ""
    # The resource level the scores were taken at, when a trial may score below its budget
    # (the best number of boosting rounds up to ``candidate.n_resources``); None means the budget.
    best_resources: int | None = None

    @property
    def mean_score(self) -> float:
        """Mean over folds; NaN if any fold is NaN (as scikit-learn's ``error_score=nan``)."""
        scores = np.asarray(self.fold_scores, dtype=float)
        return float(scores.mean()) if scores.size and not np.isnan(scores).any() else math.nan


@dataclass
class Rung:
    """One round of a search: the candidates it evaluated and their results."""

    index: int
    n_resources: int
    candidates: list[Candidate]
    results: list[TrialResult] = field(default_factory=list)


def rank_order(results: Sequence[TrialResult]) -> list[TrialResult]:
    """Results best first. NaN scores rank last; ties go to the lower candidate id."""
    return sorted(
        results,
        key=lambda r: (math.isnan(r.mean_score), -r.mean_score if not math.isnan(r.mean_score) else 0.0, r.candidate.id),
    )


class Strategy(ABC):
    """Ask/tell search strategy over a fixed list of sampled parameter sets."""

    def __init__(self) -> None:
        self.rungs: list[Rung] = []
        self._pending: Rung | None = None

    @property
    @abstractmethod
    def n_planned_rungs(self) -> int:
        """How many rungs the search will run (for progress reporting)."""

    @abstractmethod
    def _next_rung(self) -> Rung | None:
        """The next rung to evaluate, given ``self.rungs`` so far; ``None`` when the search is done."""

    def ask(self) -> list[Candidate] | None:
        """Candidates to evaluate next (one rung), or ``None`` when the search is over."""
        if self._pending is not None:
            raise RuntimeError("ask() called twice without tell(); report the previous rung's results first")
        rung = self._next_rung()
        if rung is None:
            return None
        self._pending = rung
        return list(rung.candidates)

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Report the results of the candidates from the last ``ask()``."""
        if self._pending is None:
            raise RuntimeError("tell() called without a pending ask()")
        asked = {c.id for c in self._pending.candidates}
        got = {r.candidate.id for r in results}
        if asked != got:
            raise ValueError(f"tell() got results for candidates {sorted(got)}, but {sorted(asked)} were asked")
        by_id = {r.candidate.id: r for r in results}
        self._pending.results = [by_id[c.id] for c in self._pending.candidates]
        self.rungs.append(self._pending)
        self._pending = None

    @property
    def best(self) -> TrialResult:
        """The best result of the last rung evaluated.

        We want the best candidate out of the last iteration, as scikit-learn's halving search:
        earlier rungs used fewer resources, so their scores are not comparable.
        """
        if not self.rungs:
            raise RuntimeError("no rung has been evaluated yet")
        return rank_order(self.rungs[-1].results)[0]

    @property
    def n_candidates(self) -> list[int]:
        """Number of candidates per evaluated rung."""
        return [len(r.candidates) for r in self.rungs]

    @property
    def n_resources(self) -> list[int]:
        """Resource level per evaluated rung."""
        return [r.n_resources for r in self.rungs]

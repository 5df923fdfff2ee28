"""Asynchronous successive halving (ASHA).

Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht & Talwalkar, "A System for Massively
Parallel Hyperparameter Tuning" (MLSys 2020), Algorithm 2. Rungs ``k = 0..K`` have budgets
``max_resources * eta**(k - K)``. Whenever a trial can be started: from the top rung down, promote
a configuration that is among the best ``floor(n_k / eta)`` of the ``n_k`` observed in its rung and
not yet promoted; if there is none, start a new configuration in rung 0. No rung waits for another.
"""

from __future__ import annotations

from tunepipe.results import Observation
from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Bracket, Scheduler, Slot, geometric_budgets, keep, promotion_order


def promotable(observed: list[Observation], promoted: set[int], factor: float) -> list[int]:
    """Candidates of a rung ASHA may promote now: in the top ``floor(n / factor)`` of the ``n``
    observations so far, scored, and not promoted already; best first."""
    top = promotion_order(observed)[: keep(len(observed), factor)]
    return [o.trial.candidate for o in top if o.status == "ok" and o.trial.candidate not in promoted]


class ASHA(Scheduler):
    """ASHA over at most ``n_candidates`` configurations.

    The search ends when every configuration has started and nothing pending or observed can be
    promoted any more.

    Args:
        n_candidates: New configurations to start in rung 0.
        min_resources: Budget of rung 0.
        max_resources: Budget of the top rung.
        factor: ``eta``.
    """

    def __init__(self, n_candidates: int, *, min_resources: int, max_resources: int, factor: float) -> None:
        if n_candidates < 1:
            raise ValueError(f"n_candidates is {n_candidates}, but must be >= 1")
        self.n_configs = n_candidates
        self.factor = factor
        self.budgets = geometric_budgets(min_resources, max_resources, factor)

    def next(self, history: History) -> Slot | None:
        for rung in range(len(self.budgets) - 2, -1, -1):
            promoted = {t.candidate for t in history.trials_at(0, rung + 1)}
            ready = promotable(history.observed_at(0, rung), promoted, self.factor)
            if ready:
                return Slot(0, rung + 1, self.budgets[rung + 1], ready[0])
        if history.n_candidates < self.n_configs:
            return Slot(0, 0, self.budgets[0])
        return None

    def plan(self) -> list[Bracket]:
        counts = [self.n_configs]
        for _ in self.budgets[1:]:
            counts.append(keep(counts[-1], self.factor))
        return [Bracket(0, counts, list(self.budgets))]

"""First in, first out: every configuration at the full budget, no early stopping."""

from __future__ import annotations

from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Bracket, Scheduler, Slot


class FIFO(Scheduler):
    """``n_candidates`` new configurations, each one trial at ``budget``.

    Args:
        n_candidates: Configurations to try.
        budget: Resource level of every trial (``search.max_resources``).
    """

    def __init__(self, n_candidates: int, budget: int) -> None:
        if n_candidates < 1:
            raise ValueError(f"n_candidates is {n_candidates}, but must be >= 1")
        self.n_configs = n_candidates
        self.budget = budget

    def next(self, history: History) -> Slot | None:
        return Slot(0, 0, self.budget) if history.n_candidates < self.n_configs else None

    def alive(self, history: History) -> set[int] | None:
        return set()  # no trial is ever promoted

    def plan(self) -> list[Bracket]:
        return [Bracket(0, [self.n_configs], [self.budget])]

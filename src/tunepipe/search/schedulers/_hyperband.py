"""Hyperband: several successive-halving brackets side by side, from aggressive to none.

Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A Novel Bandit-Based Approach to
Hyperparameter Optimization" (JMLR 2018), Algorithm 1. With ``R = max_resources / min_resources``
and ``s_max = floor(log_eta(R))``, bracket ``s = s_max..0`` starts ``n = ceil((s_max + 1) /
(s + 1) * eta**s)`` configurations at ``r = max_resources * eta**-s`` and keeps the best
``floor(n_i / eta)`` of each rung for the next, at ``eta`` times the budget. Brackets do not wait
for each other: each promotes as soon as its own rung is fully observed.
"""

from __future__ import annotations

import math

from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Bracket, Scheduler, Slot, geometric_budgets, keep
from tunepipe.search.schedulers._halving import HalvingBracket


def hyperband_brackets(min_resources: int, max_resources: int, factor: float) -> list[Bracket]:
    """The brackets of one Hyperband iteration, most aggressive (``s = s_max``) first."""
    budgets = geometric_budgets(min_resources, max_resources, factor)
    s_max = len(budgets) - 1
    brackets, first = [], 0
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) / (s + 1) * factor**s - 1e-9)
        counts = [n]
        for _ in range(s):
            counts.append(keep(counts[-1], factor))
        brackets.append(Bracket(s, counts, budgets[s_max - s:], first))
        first += n
    return brackets


class Hyperband(Scheduler):
    """One Hyperband iteration: a :class:`HalvingBracket` per bracket, numbered by its ``s``
    (``b4`` halves through 5 rungs), each keeping ``floor(n / eta)`` per rung (Li et al.).

    Args:
        min_resources: Budget of the most aggressive bracket's first rung.
        max_resources: Budget of every bracket's last rung.
        factor: ``eta``: the budget grows and the configurations shrink by it per rung.
    """

    def __init__(self, *, min_resources: int, max_resources: int, factor: float) -> None:
        self.factor = factor
        self.brackets = [HalvingBracket(b) for b in hyperband_brackets(min_resources, max_resources, factor)]
        self.n_configs = sum(b.bracket.n_configs[0] for b in self.brackets)

    def next(self, history: History) -> Slot | None:
        # Brackets in order: a bracket waiting for its rung to finish lets the next bracket run.
        for bracket in self.brackets:
            slot = bracket.next(history)
            if slot is not None:
                return slot
        return None

    def alive(self, history: History) -> set[int] | None:
        return set().union(*(b.alive(history) for b in self.brackets))

    def plan(self) -> list[Bracket]:
        return [b.bracket for b in self.brackets]

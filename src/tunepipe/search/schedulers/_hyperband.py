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
from dataclasses import dataclass

from tunepipe.results import rank_order
from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Scheduler, Slot, geometric_budgets, keep, latest_rung


@dataclass(frozen=True)
class Bracket:
    """One bracket: its index ``s`` (rungs it halves through), configurations and budgets per rung."""

    s: int
    n_configs: list[int]
    budgets: list[int]
    first_candidate: int  # candidates first_candidate .. first_candidate + n_configs[0] - 1 are its own


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
    """One Hyperband iteration; a bracket is numbered by its ``s`` (``b4`` halves through 5 rungs).

    Args:
        min_resources: Budget of the most aggressive bracket's first rung.
        max_resources: Budget of every bracket's last rung.
        factor: ``eta``: the budget grows and the configurations shrink by it per rung.
    """

    def __init__(self, *, min_resources: int, max_resources: int, factor: float) -> None:
        self.factor = factor
        self.brackets = hyperband_brackets(min_resources, max_resources, factor)
        self.n_planned = sum(b.n_configs[0] for b in self.brackets)

    def next(self, history: History) -> Slot | None:
        # Brackets in order, each from its lowest unfinished rung: a bracket waiting for its rung
        # to finish lets the next bracket run.
        for bracket in self.brackets:
            slot = self._next_in(bracket, history)
            if slot is not None:
                return slot
        return None

    def _next_in(self, bracket: Bracket, history: History) -> Slot | None:
        s = bracket.s
        own = range(bracket.first_candidate, bracket.first_candidate + bracket.n_configs[0])
        if history.n_candidates < own.stop:
            # New configurations are numbered in bracket order, so this bracket's come next.
            return Slot(s, 0, bracket.budgets[0]) if history.n_candidates >= own.start else None
        for rung in range(1, len(bracket.budgets)):
            issued = {t.candidate for t in history.trials_at(s, rung)}
            previous = history.observed_at(s, rung - 1)
            if len(previous) < len(history.trials_at(s, rung - 1)):
                return None  # rung - 1 is still running
            survivors = sorted(o.trial.candidate for o in rank_order(previous)[: bracket.n_configs[rung]])
            waiting = [c for c in survivors if c not in issued]
            if waiting:
                return Slot(s, rung, bracket.budgets[rung], waiting[0])
        return None

    def alive(self, history: History) -> set[int] | None:
        return set().union(*(latest_rung(history, b.s, len(b.budgets)) for b in self.brackets))

    def plan(self) -> list[tuple[int, list[int], list[int]]]:
        return [(b.s, list(b.n_configs), list(b.budgets)) for b in self.brackets]

"""Hyperband: Li et al.'s bracket table, brackets side by side, each a successive halving."""

from __future__ import annotations

import pytest

from tests.search.conftest import drive, fresh, observe
from tunepipe.search.schedulers import Hyperband, geometric_budgets, hyperband_brackets


@pytest.mark.parametrize(("min_r", "max_r", "eta", "expected"), [
    # Li et al. 2018, Table 1 (R = 81, eta = 3): (n_i, r_i) per rung of each bracket s = 4..0.
    (1, 81, 3, [
        (4, [81, 27, 9, 3, 1], [1, 3, 9, 27, 81]),
        (3, [34, 11, 3, 1], [3, 9, 27, 81]),
        (2, [15, 5, 1], [9, 27, 81]),
        (1, [8, 2], [27, 81]),
        (0, [5], [81]),
    ]),
    # The bundled budget: 10 -> 810 boosting rounds.
    (10, 810, 3, [
        (4, [81, 27, 9, 3, 1], [10, 30, 90, 270, 810]),
        (3, [34, 11, 3, 1], [30, 90, 270, 810]),
        (2, [15, 5, 1], [90, 270, 810]),
        (1, [8, 2], [270, 810]),
        (0, [5], [810]),
    ]),
    (1, 16, 2, [
        (4, [16, 8, 4, 2, 1], [1, 2, 4, 8, 16]),
        (3, [10, 5, 2, 1], [2, 4, 8, 16]),
        (2, [7, 3, 1], [4, 8, 16]),
        (1, [5, 2], [8, 16]),
        (0, [5], [16]),
    ]),
    (5, 20, 3, [(1, [3, 1], [6, 20]), (0, [2], [20])]),  # top rung is max_resources exactly
    (50, 50, 3, [(0, [1], [50])]),
])
def test_bracket_table(min_r: int, max_r: int, eta: float, expected: list) -> None:  # type: ignore[type-arg]
    brackets = hyperband_brackets(min_r, max_r, eta)
    assert [(b.number, b.n_configs, b.budgets) for b in brackets] == expected
    plan = Hyperband(min_resources=min_r, max_resources=max_r, factor=eta).plan()
    assert [(b.number, b.n_configs, b.budgets) for b in plan] == expected


@pytest.mark.parametrize(("min_r", "max_r", "eta", "budgets"), [
    (10, 810, 3, [10, 30, 90, 270, 810]),
    (10, 1000, 3, [12, 37, 111, 333, 1000]),
    (1, 1, 3, [1]),
    (3, 8, 2, [4, 8]),
])
def test_geometric_budgets_end_at_max_and_start_at_or_above_min(min_r: int, max_r: int, eta: float, budgets: list[int]) -> None:
    assert geometric_budgets(min_r, max_r, eta) == budgets


def test_a_run_follows_the_plan_and_picks_the_winner_at_the_full_budget() -> None:
    scheduler = Hyperband(min_resources=1, max_resources=27, factor=3)
    search = fresh(scheduler)
    observations = drive(search, lambda t: (t.params["a"] * 7919 % 100) / 100 + t.budget / 1000, workers=3, seed=1)
    for bracket in scheduler.plan():
        s, counts, budgets = bracket.number, bracket.n_configs, bracket.budgets
        ran = [o for o in observations if o.trial.bracket == s]
        assert [sum(o.trial.rung == r for o in ran) for r in range(len(counts))] == counts
        assert [next(o.trial.budget for o in ran if o.trial.rung == r) for r in range(len(counts))] == budgets
    # Each bracket's configurations are its own, numbered in bracket order.
    assert sorted({o.trial.candidate for o in observations}) == list(range(scheduler.n_configs))
    top = [o for o in observations if o.trial.budget == 27]
    assert search.best.trial.budget == 27
    assert search.best.mean_score == max(o.mean_score for o in top) > max(o.mean_score for o in observations) - 0.5


def test_brackets_run_side_by_side() -> None:
    search = fresh(Hyperband(min_resources=1, max_resources=9, factor=3))  # brackets s=2 (9), s=1 (5), s=0 (3)
    first = search.ask()
    assert [(t.bracket, t.rung) for t in first] == [(2, 0)] * 9 + [(1, 0)] * 5 + [(0, 0)] * 3
    # Bracket 1's rung 0 finishes while bracket 2's is still running: bracket 1 promotes at once.
    for t in first[:9]:  # trial-number order: bracket 2's rung 0 first
        search.tell(observe(t, t.params["a"] / 10))
    promoted = search.ask()
    assert [(t.bracket, t.rung, t.budget) for t in promoted] == [(2, 1, 3)] * 3
    for t in first[9:14]:
        search.tell(observe(t, t.params["a"] / 10))
    assert [(t.bracket, t.rung, t.budget) for t in search.ask()] == [(1, 1, 9)]

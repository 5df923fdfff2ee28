"""Random search: one rung, every candidate at max_resources."""

from __future__ import annotations

import math

import pytest

from tunepipe.search import RandomSearch, TrialResult


def test_one_rung_at_max_resources_then_done() -> None:
    strategy = RandomSearch([{"a": i} for i in range(5)], max_resources=200)
    batch = strategy.ask()
    assert [(c.id, c.rung, c.n_resources) for c in batch] == [(i, 0, 200) for i in range(5)]
    strategy.tell([TrialResult(c, (float(c.id % 3),)) for c in batch])
    assert strategy.ask() is None
    assert strategy.best.candidate.id == 2
    assert strategy.n_candidates == [5] and strategy.n_resources == [200]


def test_best_skips_failed_trials() -> None:
    strategy = RandomSearch([{"a": 0}, {"a": 1}], max_resources=10)
    a, b = strategy.ask()
    strategy.tell([TrialResult(a, (math.nan,), status="failed", error="boom"), TrialResult(b, (-3.0,))])
    assert strategy.best.candidate.id == 1


def test_needs_candidates() -> None:
    with pytest.raises(ValueError, match="needs at least one candidate"):
        RandomSearch([], max_resources=10)

"""ASHA: promote a configuration in the top 1/eta of its rung as soon as it qualifies, else start a new one."""

from __future__ import annotations

import math

import pytest

from tests.search.conftest import drive, fresh, observe
from tunepipe.results import Observation, Trial
from tunepipe.search.schedulers import ASHA
from tunepipe.search.schedulers._asha import promotable


def _rung(scores: list[float]) -> list[Observation]:
    return [observe(Trial(i, i, {"a": i}, 1), s) for i, s in enumerate(scores)]


@pytest.mark.parametrize(("scores", "promoted", "eta", "expected"), [
    ([0.5, 0.7], set(), 3, []),                     # 2 observed: floor(2 / 3) = 0 may go up
    ([0.5, 0.7, 0.6], set(), 3, [1]),               # 3 observed: the best one
    ([0.5, 0.7, 0.6], {1}, 3, []),                  # ... already promoted
    ([0.5, 0.7, 0.6, 0.9, 0.1, 0.8], {1}, 3, [3]),  # 6 observed: the top 2 are 3 and 5 (0.9, 0.8)
    ([0.5, 0.7, 0.6, 0.9, 0.1, 0.8], {3}, 3, [5]),
    ([0.5, math.nan, math.nan], set(), 3, [0]),     # failed trials rank last and are never promoted
    ([math.nan, math.nan, math.nan], set(), 3, []),
    ([0.4, 0.4, 0.4, 0.4], set(), 2, [0, 1]),       # ties: the lower trial number first
])
def test_promotion_rule(scores: list[float], promoted: set[int], eta: float, expected: list[int]) -> None:
    assert promotable(_rung(scores), promoted, eta)[: len(expected)] == expected


def test_starts_new_configurations_until_one_can_be_promoted() -> None:
    search = fresh(ASHA(9, min_resources=1, max_resources=9, factor=3), window=1)
    numbers = []
    for score in [0.1, 0.3, 0.2]:
        (t,) = search.ask()
        assert (t.rung, t.budget) == (0, 1)
        numbers.append(t.number)
        search.tell(observe(t, score))
    (promoted,) = search.ask()  # 3 observed in rung 0: the best (candidate 1) goes up at once
    assert (promoted.candidate, promoted.rung, promoted.budget) == (1, 1, 3)


# Scores by candidate (the same at every budget), and the trials ASHA(9, budgets 1, 3, 9, eta 3)
# asks with window 1, worked out by hand from Li et al.'s Algorithm 2: from the top rung down,
# promote the best not yet promoted among the top floor(n / 3) of a rung's n observations, else
# start a new configuration. (candidate, rung) in trial-number order:
SCORES = [0.1, 0.5, 0.3, 0.9, 0.2, 0.8, 0.4, 0.7, 0.6]
BY_HAND = [
    (0, 0), (1, 0), (2, 0),  # 2 observed: floor(2 / 3) = 0 may go up
    (1, 1),                  # 3 in rung 0: its best, candidate 1 (0.5), goes up
    (3, 0), (3, 1),          # 4 in rung 0: candidate 3 (0.9) is its best
    (4, 0), (5, 0), (5, 1),  # 6 in rung 0: the top 2 are 3 and 5; 5 goes up
    (3, 2),                  # 3 in rung 1: its best, 3, reaches the top rung
    (6, 0), (7, 0), (8, 0),  # the top 2 of rung 0 are up already: new configurations
    (7, 1),                  # 9 in rung 0: the top 3 are 3, 5, 7; then nothing can go up, all 9 started
]


def test_the_trials_asked_are_the_hand_worked_trace() -> None:
    search = fresh(ASHA(9, min_resources=1, max_resources=9, factor=3), window=1)
    observations = drive(search, lambda t: SCORES[t.candidate])
    assert [(o.trial.candidate, o.trial.rung) for o in observations] == BY_HAND
    assert [o.trial.budget for o in observations] == [[1, 3, 9][rung] for _, rung in BY_HAND]
    assert search.best.trial.budget == 9 and search.best.trial.candidate == 3

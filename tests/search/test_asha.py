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


def test_every_promotion_was_the_best_promotable_when_it_was_made() -> None:
    # Window 1: trial m is asked right after trials 0..m-1 are applied, so that is what it saw.
    search = fresh(ASHA(27, min_resources=1, max_resources=27, factor=3), window=1)
    observations = drive(search, lambda t: (t.params["a"] * 37 % 27) / 27)
    for t in (o.trial for o in observations if o.trial.rung > 0):
        seen = observations[: t.number]
        below = [o for o in seen if o.trial.rung == t.rung - 1]
        earlier = {o.trial.candidate for o in seen if o.trial.rung == t.rung}
        assert promotable(below, earlier, 3)[0] == t.candidate
    assert sum(o.trial.rung == 0 for o in observations) == 27
    assert max(o.trial.rung for o in observations) == 3  # the top rung was reached
    assert search.best.trial.budget == 27
    # Nothing left that could go up: no rung has a promotable configuration.
    for r in range(3):
        below = [o for o in observations if o.trial.rung == r]
        above = {o.trial.candidate for o in observations if o.trial.rung == r + 1}
        assert promotable(below, above, 3) == []

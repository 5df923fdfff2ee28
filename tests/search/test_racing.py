"""Fold-wise racing: the test against scipy's paired t-test, the looks, and the real trial code on a
fake estimator table (tunepipe.scoring runs the stages; search.racing decides)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from tests.search.conftest import ListSampler, fresh, table_data
from tunepipe.results import Observation, Trial
from tunepipe.search import History
from tunepipe.search.racing import ALPHA, Race, Racing, pooled_spread
from tunepipe.search.schedulers import FIFO
from tunepipe.scoring import score_trial

INCUMBENT = (-0.20, -0.22, -0.18, -0.21, -0.19)  # 5 folds: looks after 2, 3 and 4


def _scipy_says_worse(scores: tuple[float, ...], incumbent: tuple[float, ...]) -> bool:
    """scipy's one-sided paired t-test at the per-look error rate (alpha over 3 looks)."""
    diffs = np.subtract(scores, incumbent[: len(scores)])
    return bool(stats.ttest_1samp(diffs, 0.0, alternative="less").pvalue < ALPHA / 3)


@pytest.mark.parametrize("scores", [
    (-0.30, -0.33),                  # far below on both, consistently
    (-0.25, -0.23),                  # below on both, inconsistently
    (-0.21, -0.2205),                # a hair below on both
    (-0.245, -0.26, -0.22),          # below on three, consistently
    (-0.205, -0.23, -0.18),          # below on two of three
    (-0.26, -0.27, -0.23, -0.25),
    (-0.19, -0.205, -0.17, -0.20),   # above on every fold
])
def test_the_decision_is_scipys_paired_t_test(scores: tuple[float, ...]) -> None:
    diffs = np.subtract(scores, INCUMBENT[: len(scores)])
    assert np.std(diffs, ddof=1) > 0.1 * np.std(INCUMBENT, ddof=1)  # the spread floor does not bind here
    assert Race(INCUMBENT).loses(scores) is _scipy_says_worse(scores, INCUMBENT)


@pytest.mark.parametrize(("scores", "loses", "why"), [
    ((-0.30, -0.33), True, "far below on both folds"),
    ((-0.20, -0.22), False, "a tie is not a loss"),
    ((-0.25, -0.23), False, "below on both, but within noise: the sign rule stopped it"),
    ((-0.2005, -0.2205), False, "equal tiny differences are no evidence of no noise (spread floor)"),
    ((math.nan, -0.30), False, "a failed fold: the trial fails, it is not raced out"),
    ((-0.30,), False, "one fold: no spread, no look"),
    ((-0.30, -0.33, -0.29, -0.31, -0.30), False, "every fold ran: nothing left to save"),
])
def test_decision_table(scores: tuple[float, ...], loses: bool, why: str) -> None:
    assert Race(INCUMBENT).loses(scores) is loses, why


def test_looks_adapt_to_the_number_of_folds() -> None:
    assert Race((0.0,) * 2).looks() == ()
    assert Race((0.0,) * 3).looks() == (2,)
    assert Race((0.0,) * 5).looks() == (2, 3, 4)
    assert Race((0.0,) * 10).looks() == tuple(range(2, 10))


@pytest.mark.parametrize("pooled", [False, True])
def test_a_configuration_as_good_as_the_incumbent_is_stopped_at_most_alpha_of_the_time(pooled: bool) -> None:
    # Fold scores with shared fold difficulty and independent noise: the incumbent and an equal
    # challenger drawn alike. Over the looks, the test's error rate must stay within alpha.
    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 0.02, size=5)
    stopped = 0
    n = 4000
    for _ in range(n):
        incumbent = tuple(0.8 + difficulty + rng.normal(0, 0.005, size=5))
        challenger = 0.8 + difficulty + rng.normal(0, 0.005, size=5)
        # The pooled spread as the history would estimate it: a difference of two draws of sd 0.005.
        race = Race(incumbent, spread=0.005 * math.sqrt(2), dof=40) if pooled else Race(incumbent)
        stopped += any(race.loses(tuple(challenger[:k])) for k in race.looks())
    assert stopped / n <= ALPHA


# The real trial code on the fake estimator: configuration c scores TABLE[c][k] on fold k.
TABLE = {
    0: (-0.30, -0.28, -0.29, -0.31, -0.30),
    1: (-0.20, -0.21, -0.19, -0.20, -0.18),   # becomes the incumbent
    2: (-0.40, -0.42, -0.41, -0.40, -0.39),   # surely worse after 2 folds: stopped there
    3: (-0.25, -0.22, -0.10, -0.10, -0.10),   # below on folds 0 and 1, within noise: runs on and wins
    4: (-0.23, -0.26, -0.23, -0.24, -0.25),   # within noise after 2 folds, surely worse after 3
}


def _evaluate(trial: Trial, setup: Any) -> Any:
    X, y, folds = table_data()
    return score_trial(trial, X, y, folds, setup, len(X))


def test_the_trial_code_runs_the_stages_the_race_names(table_kind: Any) -> None:
    setup = table_kind(TABLE)
    race = Race(TABLE[1])
    worse = _evaluate(Trial(1, 2, {"c": 2}, 10, race=race), setup)
    assert worse.status == "pruned" and worse.fold_scores[:2] == pytest.approx(TABLE[2][:2])
    assert all(math.isnan(s) for s in worse.fold_scores[2:])
    later = _evaluate(Trial(1, 4, {"c": 4}, 10, race=race), setup)
    assert later.status == "pruned" and later.fold_scores[:3] == pytest.approx(TABLE[4][:3])
    assert all(math.isnan(s) for s in later.fold_scores[3:])
    close = _evaluate(Trial(1, 3, {"c": 3}, 10, race=race), setup)
    assert close.status == "ok" and close.fold_scores == pytest.approx(TABLE[3])
    unraced = _evaluate(Trial(1, 3, {"c": 3}, 10), setup)
    assert unraced.fold_scores == close.fold_scores


def test_each_trial_races_the_best_fully_scored_observation_so_far(table_kind: Any) -> None:
    setup = table_kind(TABLE)
    search = fresh(Racing(FIFO(5, budget=10)), ListSampler([{"c": c} for c in TABLE]), window=1)
    while not search.done:
        for t in search.ask():
            search.tell(_evaluate(t, setup))
    races = [o.trial.race for o in search.observations]
    assert races[0] is None  # nothing to race yet
    assert races[1].incumbent == pytest.approx(TABLE[0])
    assert races[2] == races[3] and races[2].incumbent == pytest.approx(TABLE[1])
    assert races[4].incumbent == pytest.approx(TABLE[3])  # 3 ran every fold and beat 1
    # 4 would lose to 1 after 3 folds, but races 3, whose fold scores it is not consistently below.
    assert [o.status for o in search.observations] == ["ok", "ok", "pruned", "ok", "ok"]
    assert search.best.trial.candidate == 3


def test_the_spread_is_pooled_over_fully_scored_trials_against_the_current_incumbent() -> None:
    history = History()
    table = [  # (status, fold scores) of trials at budget 10; trial 1 is the incumbent
        ("ok", (0.70, 0.72, 0.71, 0.69, 0.70)),
        ("ok", (0.80, 0.79, 0.81, 0.80, 0.82)),
        ("pruned", (0.60, 0.61, math.nan, math.nan, math.nan)),   # left out: selected for a small spread
        ("ok", (0.78, 0.80, 0.80, 0.77, 0.81)),
    ]
    for number, (status, scores) in enumerate(table):
        trial = Trial(number, number, {}, 10)
        history.trials.append(trial)
        history.observations.append(Observation(trial, scores, status=status))
    incumbent = table[1][1]
    # By hand: the differences of trials 0 and 3 from trial 1, their squared deviations pooled.
    d0 = np.subtract(table[0][1], incumbent)
    d3 = np.subtract(table[3][1], incumbent)
    expected = math.sqrt((np.var(d0) * 5 + np.var(d3) * 5) / 8)
    spread, dof = pooled_spread(history, 10, incumbent)
    assert (spread, dof) == (pytest.approx(expected), 8)
    assert pooled_spread(history, 20, incumbent) is None  # nothing at that budget


def test_with_a_pooled_spread_a_consistently_worse_trial_stops_after_two_folds() -> None:
    scores = (-0.24, -0.255)  # 0.04 and 0.035 below the incumbent
    assert not Race(INCUMBENT).loses(scores)  # alone, 2 differences are too few to tell
    assert Race(INCUMBENT, spread=0.005, dof=40).loses(scores)
    # ... but never below the trial's own spread: erratic differences keep it going.
    assert not Race(INCUMBENT, spread=0.005, dof=40).loses((-0.30, -0.17))
    # scipy's t-test with the pooled spread (a z-like test at 40 degrees of freedom) agrees.
    diffs = np.subtract(scores, INCUMBENT[:2])
    t = diffs.mean() / (0.005 / math.sqrt(2))
    assert stats.t.cdf(t, 40) < ALPHA / 3

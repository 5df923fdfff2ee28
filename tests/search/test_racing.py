"""Fold-wise racing: the decision rule as a table, the incumbent handed to each trial, a fake race."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.search.conftest import fresh
from tunepipe.results import RACE_FOLDS, Observation, loses_race
from tunepipe.search.schedulers import FIFO, Racing


@pytest.mark.parametrize(("scores", "race", "loses"), [
    ((0.80, 0.81), (0.82, 0.83), True),    # below on both folds
    ((0.80, 0.84), (0.82, 0.83), False),   # above on one: it may still catch up
    ((0.82, 0.83), (0.82, 0.83), False),   # a tie is not a loss
    ((0.90, 0.70), (0.82, 0.83), False),   # far below on one fold, above on the other
    ((math.nan, 0.5), (0.82, 0.83), False),  # a fold that failed: the trial fails, it is not raced out
    ((), (0.82, 0.83), False),
])
def test_a_trial_loses_its_race_when_below_the_incumbent_on_every_fold(scores, race, loses) -> None:  # noqa: ANN001
    assert loses_race(scores, race) is loses


# A fake estimator: configuration k scores TABLE[k] on the 5 folds.
TABLE = {
    0: (0.70, 0.72, 0.71, 0.69, 0.70),
    1: (0.80, 0.79, 0.81, 0.80, 0.82),   # becomes the incumbent
    2: (0.75, 0.78, 0.90, 0.90, 0.90),   # below 1 on folds 0 and 1: stopped, though it would win
    3: (0.81, 0.78, 0.80, 0.80, 0.80),   # above 1 on fold 0: runs every fold
    4: (0.60, 0.60, 0.60, 0.60, 0.60),
}


def _evaluate(trial):  # noqa: ANN001, ANN202
    """What tunepipe.trial does with a race: the first RACE_FOLDS folds, then stop or go on."""
    scores = TABLE[trial.candidate]
    if trial.race is not None and loses_race(scores[:RACE_FOLDS], trial.race):
        return Observation(trial, scores[:RACE_FOLDS] + (math.nan,) * 3, status="pruned")
    return Observation(trial, scores)


def test_each_trial_races_the_best_fully_scored_observation_so_far() -> None:
    search = fresh(Racing(FIFO(5, budget=10)), window=1)
    while not search.done:
        for t in search.ask():
            search.tell(_evaluate(t))
    trials = [o.trial for o in search.observations]
    assert trials[0].race is None  # nothing to race yet
    assert trials[1].race == TABLE[0]
    assert [t.race for t in trials[2:]] == [TABLE[1]] * 3
    assert [o.status for o in search.observations] == ["ok", "ok", "pruned", "ok", "pruned"]
    assert search.best.trial.candidate == 1  # 3 runs every fold but its mean is below 1's
    pruned = search.observations[2]
    assert np.isnan(pruned.mean_score) and pruned.fold_scores[:2] == TABLE[2][:2]

"""Scoring any scikit-learn estimator: fit on each fold's training rows, score its validation rows."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer

from tunepipe.results import Observation, Trial
from tunepipe.scoring.env import TrialEnv
from tunepipe.scoring.spec import TrialSetup
from tunepipe.scoring.stages import pruned, stages


def score_fitted(
    trial: Trial, X: pd.DataFrame, y: pd.Series, folds: list[tuple[np.ndarray, np.ndarray]],
    setup: TrialSetup, env: TrialEnv,
) -> Observation:
    """``trial``'s scores on every fold (the first stages only, if its race stops it)."""
    scorer = get_scorer(setup.spec.scoring)

    def fold(i: int) -> tuple[float, float]:
        data = env.fold_data(setup, i, X, y, *folds[i])
        t0 = time.perf_counter()
        model = setup.estimator(trial.params, trial.budget).fit(data.X_train, data.y_train)
        return float(scorer(model, data.X_test, data.y_test)), time.perf_counter() - t0

    done: list[tuple[float, float]] = []
    for stage in stages(trial, len(folds)):
        done += env.map_folds(lambda j: fold(stage[j]), len(stage), setup.run.threads)
        scores = tuple(score for score, _ in done)
        if len(done) < len(folds) and trial.race is not None and trial.race.loses(scores):
            return pruned(trial, scores, len(folds), None, [t for _, t in done])
    return Observation(trial, tuple(s for s, _ in done), fit_times=tuple(t for _, t in done))

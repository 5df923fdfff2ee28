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
    """``trial``'s scores on every fold (the first stages only, if its race stops it); with
    several scorers, each one's on the same fitted model."""
    scorer = get_scorer(setup.spec.scoring)
    others = {name: get_scorer(name) for name in setup.spec.metrics}

    def fold(i: int) -> tuple[float, float, tuple[float, ...]]:
        data = env.fold_data(setup, i, X, y, *folds[i])
        t0 = time.perf_counter()
        model = setup.estimator(trial.params, trial.budget).fit(data.X_train, data.y_train)
        seconds = time.perf_counter() - t0
        extra = tuple(float(s(model, data.X_test, data.y_test)) for s in others.values())
        return float(scorer(model, data.X_test, data.y_test)), seconds, extra

    done: list[tuple[float, float, tuple[float, ...]]] = []

    def metrics() -> dict[str, tuple[float, ...]]:
        return {name: tuple(d[2][j] for d in done) for j, name in enumerate(others)}

    for stage in stages(trial, len(folds)):
        done += env.map_folds(lambda j: fold(stage[j]), len(stage), setup.run.threads)
        scores = tuple(d[0] for d in done)
        if len(done) < len(folds) and trial.race is not None and trial.race.loses(scores):
            return pruned(trial, scores, len(folds), None, [d[1] for d in done], metrics())
    return Observation(trial, tuple(d[0] for d in done), fit_times=tuple(d[1] for d in done), metrics=metrics())

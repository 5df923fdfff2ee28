"""Where a trial is scored: one configuration at one budget, fitted and scored on every fold.

Pure evaluation. Where folds run, how preprocessed folds are cached and where live boosters of
continued boosting are kept is the caller's :class:`~tunepipe.scoring.env.TrialEnv`
(:mod:`tunepipe.execution` for the flow's processes); the scores do not depend on it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from tunepipe import failures
from tunepipe.results import Observation, Trial
from tunepipe.scoring.boosted import score_boosted
from tunepipe.scoring.env import SequentialEnv, TrialEnv
from tunepipe.scoring.fitted import score_fitted
from tunepipe.scoring.folds import subsample
from tunepipe.scoring.spec import TrialSetup


def score_trial(
    trial: Trial,
    X: pd.DataFrame,
    y: pd.Series,
    folds: list[tuple[np.ndarray, np.ndarray]],
    setup: TrialSetup,
    n_train: int,
    env: TrialEnv | None = None,
) -> Observation:
    """Fit and score ``trial`` on every fold (its cross-validation; the holdout is tunepipe.evaluate's).

    LightGBM trains on its native API (:mod:`tunepipe.scoring.boosted`): each fold binned once,
    every round scored on the fold's validation rows as it is added. With
    ``spec.score_best_iteration`` (resource ``n_estimators``) the trial reports the round count with
    the best mean CV score, as ``lgb.cv`` does: a high learning rate that wins at 10 rounds is
    compared at its best size, not punished or rewarded for a budget it does not need. With
    ``spec.early_stopping`` the folds train in step and stop once the mean score has not improved
    for that many rounds. Any other estimator: :mod:`tunepipe.scoring.fitted`.

    A fold whose estimator rejects its parameters or data makes the trial ``failed`` with the error
    message and NaN scores (as scikit-learn's ``error_score=np.nan``); the search goes on. So does
    a scorer that gives NaN. Running out of memory raises :class:`TrialResourceError` and an error
    in tunepipe's own code :class:`TrialBugError` (:mod:`tunepipe.failures`): neither is a result.

    A configuration of a search over several model kinds is scored as one of its kind alone
    (:meth:`TrialSetup.narrow_trial`: that kind's estimator, fixed params and budget); its
    observation is of ``trial`` as asked.
    """
    narrow_setup, narrow = setup.narrow_trial(trial)
    observation = _score(narrow, X, y, folds, narrow_setup, n_train, env or SequentialEnv())
    return observation if narrow is trial else dataclasses.replace(observation, trial=trial)


def _score(
    trial: Trial, X: pd.DataFrame, y: pd.Series, folds: list[tuple[np.ndarray, np.ndarray]], setup: TrialSetup,
    n_train: int, env: TrialEnv,
) -> Observation:
    spec = setup.spec
    train_folds = folds
    if spec.resource == "n_samples" and trial.budget < n_train:
        fraction = trial.budget / n_train
        train_folds = [(subsample(tr, y, fraction, spec.task, spec.seed), te) for tr, te in folds]
    try:
        score = score_boosted if spec.native_boosting else score_fitted
        observation = score(trial, X, y, train_folds, setup, env)
    except Exception as exc:  # noqa: BLE001 - a model error is a failed trial, not a failed search
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        kind = failures.kind_of(exc)
        if kind == "resource":
            raise failures.TrialResourceError(f"{trial.label}: {message}") from exc
        if kind == "bug":
            raise failures.TrialBugError(f"{trial.label}: {message}") from exc
        return Observation(trial, tuple(math.nan for _ in folds), status="failed", error=message)
    nan = [k for k, s in enumerate(observation.fold_scores) if math.isnan(s)]
    if observation.status == "ok" and nan:
        return dataclasses.replace(
            observation, status="failed",
            error=f"the scorer {spec.scoring} gave NaN on fold{'s' if len(nan) > 1 else ''} "
                  f"{', '.join(map(str, nan))} (a class missing from a fold, or predictions it cannot score)",
        )
    return observation

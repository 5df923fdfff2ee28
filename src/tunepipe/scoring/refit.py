"""The winner's refit: one fit on every training row, at the budget its CV score was measured at."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from tunepipe import lgbm
from tunepipe.results import Observation, Segment
from tunepipe.scoring.spec import TrialSetup
from tunepipe.threads import thread_limit


def refit_budget(observation: Observation, resource: str) -> int | None:
    """The resource level the winner is refit at: what its CV score was measured at.

    ``n_estimators``: the round count its scores belong to (its best one with best-iteration
    scoring, else its trial's budget). ``n_samples``: None, every training row (the resource only
    subsampled the CV folds).
    """
    return observation.scored_budget if resource == "n_estimators" else None


def refit(setup: TrialSetup, params: dict[str, Any], X: pd.DataFrame, y: pd.Series, n_resources: int | None) -> Pipeline:
    """Fit ``params`` on all training rows with ``n_resources`` (None: the estimator's own count)."""
    model = setup.pipeline(params, n_resources)
    # No warning filter: a convergence or data warning of the final fit is one a user needs.
    with thread_limit(setup.run.threads):
        return model.fit(X, y)


def refit_schedule(setup: TrialSetup, segments: list[Segment], X: pd.DataFrame, y: pd.Series) -> Pipeline:
    """Fit a schedule (population-based training's winner) on all training rows.

    One ``fit`` of the first segment's parameters for every round of the schedule, with
    LightGBM's ``reset_parameter`` callback switching to each later segment's parameters before
    its first round: on the rows of a fold it grows the trees the search's boosters grew there.
    """
    total = sum(s.rounds for s in segments)
    model = setup.pipeline(segments[0].params, total)
    with thread_limit(setup.run.threads):
        # The preprocessing first: the switches are LightGBM's resolved parameters, which depend
        # on the labels' classes and the number of features the model sees.
        Xt = model[:-1].fit_transform(X, y)
        estimator = model[-1]
        classes = None if setup.spec.task == "regression" else np.unique(np.asarray(y))
        starts = [sum(s.rounds for s in segments[:k]) for k in range(len(segments))]
        later = [setup.estimator(s.params, total) for s in segments]
        switches = lgbm.schedule_switches(list(zip(starts, later)), classes, Xt.shape[1])
        first = lgbm.train_params(estimator, classes, Xt.shape[1])
        estimator.fit(Xt, y, callbacks=[lgbm.schedule_callback(first, switches)])
    return model

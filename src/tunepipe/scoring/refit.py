"""The winner's refit: one fit on every training row, at the budget its CV score was measured at."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

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
    """Fit ``params`` on all training rows with ``n_resources`` (None: the estimator's own count).

    With several model kinds, ``params`` names its kind, and ``n_resources`` is in the search's
    units: the fit is that kind's pipeline (:meth:`TrialSetup.narrow`)."""
    setup, params, n_resources = setup.narrow(params, n_resources)
    model = setup.pipeline(params, n_resources)
    # No warning filter: a convergence or data warning of the final fit is one a user needs.
    with thread_limit(setup.run.threads):
        return model.fit(X, y)


def refit_schedule(setup: TrialSetup, segments: list[Segment], X: pd.DataFrame, y: pd.Series) -> Pipeline:
    """Fit a schedule (population-based training's winner) on all training rows.

    One fit per segment, each of its own parameters and rounds, continuing the trees of the
    ones before (LightGBM's ``init_model``); the pipeline's model is the last fit, which holds
    every segment's trees. On the rows of a fold it grows the trees the search grew there.
    """
    model = setup.pipeline(segments[0].params, segments[0].rounds)
    with thread_limit(setup.run.threads):
        Xt = model[:-1].fit_transform(X, y)
        booster = None
        for segment in segments:
            estimator = setup.estimator(segment.params, segment.rounds)
            estimator.fit(Xt, y, init_model=booster)
            booster = estimator.booster_
    # Its booster holds every segment's rounds: say so where a reader of the model looks.
    estimator.set_params(n_estimators=sum(s.rounds for s in segments))
    model.steps[-1] = (model.steps[-1][0], estimator)
    return model

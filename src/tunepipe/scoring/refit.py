"""The winner's refit: one fit on every training row, at the budget its CV score was measured at."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from tunepipe.results import Observation
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

"""Why a trial failed decides its fate: the model's answer is recorded (and cached), a resource
error is raised for a retry, a bug in tunepipe's own code is raised to be reported."""

from __future__ import annotations

import builtins
import math
from typing import Any

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from tests.conftest import make_frame, setup_for, trial_at, trial_setup
from tunepipe import models
from tunepipe.data import folds_from_plan, prepare
from tunepipe.failures import TrialBugError, TrialResourceError, kind_of
from tunepipe.scoring import score_trial


class Raising(RegressorMixin, BaseEstimator):
    """Fits by raising ``error`` (a class name of builtins), or predicts NaN with ``error='nan'``."""

    def __init__(self, error: str = "ValueError") -> None:
        self.error = error

    def fit(self, X: Any, y: Any) -> Raising:
        if self.error != "nan":
            raise getattr(builtins, self.error)("from the estimator")
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.zeros(len(X))


@pytest.fixture
def raising(monkeypatch: pytest.MonkeyPatch, cfg: Any) -> Any:
    monkeypatch.setitem(models.REGISTRY, "raising", models.ModelSpec(None, Raising, "ordinal", None, {}, {}, {}, seeded=False))
    prepared = prepare(make_frame(200, "regression"), cfg.model_copy(update={"data": cfg.data.model_copy(update={"task": "regression"})}))
    setup = trial_setup(kind="raising", task="regression", fixed_params={}, scoring="neg_mean_absolute_error",
                       resource="n_estimators", seed=0, threads=1, numeric=tuple(prepared.numeric),
                       categorical=tuple(prepared.categorical))

    def run(error: str) -> Any:
        return score_trial(trial_at(3, {"error": error}, 0, 10), prepared.X_train, prepared.y_train,
                              folds_from_plan(prepared.fold), setup, len(prepared.train))
    return run


@pytest.mark.parametrize("error", ["ValueError", "TypeError", "AttributeError", "KeyError"])
def test_an_error_of_the_estimator_is_a_failed_trial(raising: Any, error: str) -> None:
    # Raised in the estimator's own code (here a test module), whatever its type.
    observation = raising(error)
    assert observation.status == "failed" and observation.error.startswith(f"{error}: ")
    assert "from the estimator" in observation.error


@pytest.mark.parametrize("error", ["MemoryError", "OSError"])
def test_running_out_of_resources_is_raised_for_a_retry_never_recorded(raising: Any, error: str) -> None:
    with pytest.raises(TrialResourceError, match=f"trial 3 b0 r0: {error}: from the estimator"):
        raising(error)


def test_a_scorer_that_gives_nan_fails_the_trial_with_a_reason(raising: Any) -> None:
    # r2 on a fold of one row is NaN (scikit-learn warns and returns it): no score, so no result.
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    y = pd.Series([1.0, 2.0, 3.0])
    folds = [(np.array([j for j in range(3) if j != k]), np.array([k])) for k in range(3)]
    setup = trial_setup(kind="raising", task="regression", fixed_params={}, scoring="r2", resource="n_estimators",
                       seed=0, threads=1, numeric=("x",), categorical=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's UndefinedMetricWarning, the point of the test
        observation = score_trial(trial_at(3, {"error": "nan"}, 0, 10), X, y, folds, setup, 3)
    assert observation.status == "failed" and math.isnan(observation.mean_score)
    assert observation.error.startswith("the scorer r2 gave NaN on folds 0, 1, 2")


def test_an_error_in_tunepipes_own_code_is_a_bug_not_a_failed_trial(cfg: Any) -> None:
    prepared = prepare(make_frame(200), cfg)
    broken = setup_for(prepared, numeric=None)  # list(None) in scoring/spec.py: a TypeError of ours
    with pytest.raises(TrialBugError, match="trial 0 b0 r0: TypeError"):
        score_trial(trial_at(0, {}, 0, 10), prepared.X_train, prepared.y_train, folds_from_plan(prepared.fold),
                       broken, len(prepared.train))


def test_lightgbms_allocation_error_is_a_resource_error() -> None:
    from lightgbm.basic import LightGBMError

    assert kind_of(LightGBMError("std::bad_alloc")) == "resource"
    assert kind_of(LightGBMError("Check failed: (num_leaves) > (1)")) == "model"

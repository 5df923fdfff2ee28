"""One trial: folds inside, failures recorded not raised, the n_samples resource subsamples."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import PredefinedSplit, cross_val_score

from tests.conftest import make_frame
from tunepipe.data import folds_from_plan, prepare
from tunepipe.results import Trial
from tunepipe.execution import ProcessEnv
from tunepipe.trial import TrialSetup, checkpoints, evaluate_trial, subsample


def _trial(number: int, params: dict[str, Any], rung: int, budget: int) -> Trial:
    return Trial(number, number, params, budget, rung=rung)


def _setup(prepared: Any, **kw: Any) -> TrialSetup:
    base = dict(kind="lightgbm", task=prepared.task, fixed_params={}, scoring="roc_auc", resource="n_estimators",
                seed=0, threads=1, numeric=tuple(prepared.numeric), categorical=tuple(prepared.categorical))
    return TrialSetup(**(base | kw))


@pytest.fixture
def prepared(cfg: Any) -> Any:
    return prepare(make_frame(400), cfg)


def test_scores_every_fold(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = evaluate_trial(_trial(0, {"num_leaves": 7}, 0, 20), prepared.X_train, prepared.y_train, folds,
                                _setup(prepared), len(prepared.train))
    assert result.status == "ok" and result.error == ""
    assert len(result.fold_scores) == len(result.fit_times) == len(result.score_times) == 3
    assert 0.7 < result.mean_score <= 1.0


@pytest.mark.parametrize(("kind", "params", "budget"), [
    ("lightgbm", {"num_leaves": 7, "learning_rate": 0.2}, 1),
    ("lightgbm", {"num_leaves": 7, "learning_rate": 0.2}, 50),
    ("random_forest", {"min_samples_leaf": 3}, 20),
])
def test_fold_scores_equal_scikit_learns_cross_validation(prepared: Any, kind: str, params: dict, budget: int) -> None:  # type: ignore[type-arg]
    setup = _setup(prepared, kind=kind)
    ours = evaluate_trial(_trial(0, params, 0, budget), prepared.X_train, prepared.y_train,
                          folds_from_plan(prepared.fold), setup, len(prepared.train))
    theirs = cross_val_score(setup.pipeline(params, budget), prepared.X_train, prepared.y_train,
                             cv=PredefinedSplit(prepared.fold), scoring="roc_auc")
    np.testing.assert_allclose(ours.fold_scores, theirs, rtol=1e-12)


def test_failing_params_make_a_failed_trial_with_the_error(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = evaluate_trial(_trial(4, {"max_features": "nonsense"}, 0, 5), prepared.X_train, prepared.y_train,
                                folds, _setup(prepared, kind="random_forest"), len(prepared.train))
    assert result.status == "failed"
    assert "max_features" in result.error
    assert len(result.fold_scores) == 3 and all(math.isnan(s) for s in result.fold_scores)
    assert math.isnan(result.mean_score)


def test_n_samples_resource_subsamples_training_folds(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    setup = _setup(prepared, resource="n_samples")
    small = evaluate_trial(_trial(0, {}, 0, 60), prepared.X_train, prepared.y_train, folds, setup, len(prepared.train))
    full = evaluate_trial(_trial(0, {}, 0, len(prepared.train)), prepared.X_train, prepared.y_train, folds, setup,
                              len(prepared.train))
    assert small.status == full.status == "ok"
    assert small.fold_scores != full.fold_scores


def test_subsample_is_seeded_stratified_and_sized() -> None:
    y = pd.Series(["a"] * 80 + ["b"] * 20)
    idx = np.arange(100)
    a = subsample(idx, y, 0.5, "binary", seed=1)
    assert len(a) == 50 and (y.iloc[a] == "b").sum() == 10
    assert np.array_equal(a, subsample(idx, y, 0.5, "binary", seed=1))
    assert np.array_equal(subsample(idx, y, 1.0, "binary", seed=1), idx)


@pytest.mark.parametrize(("n", "expected"), [(1, [1]), (2, [1, 2]), (10, [1, 3, 5, 10]),
                                              (810, [1, 3, 7, 14, 28, 55, 108, 212, 414, 810])])
def test_checkpoints_about_double_and_end_at_the_budget(n: int, expected: list[int]) -> None:
    assert checkpoints(n) == expected


def test_best_iteration_score_equals_a_fit_with_that_many_rounds(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    params = {"learning_rate": 0.3, "num_leaves": 31}
    staged = evaluate_trial(_trial(0, params, 0, 60), prepared.X_train, prepared.y_train, folds,
                                _setup(prepared, score_best_iteration=True), len(prepared.train))
    assert staged.best_budget in checkpoints(60)
    direct = evaluate_trial(_trial(0, params, 0, staged.best_budget), prepared.X_train, prepared.y_train,
                                folds, _setup(prepared), len(prepared.train))
    np.testing.assert_allclose(staged.fold_scores, direct.fold_scores, rtol=1e-12)
    full = evaluate_trial(_trial(0, params, 0, 60), prepared.X_train, prepared.y_train, folds,
                              _setup(prepared), len(prepared.train))
    assert staged.mean_score >= full.mean_score


def test_best_iteration_only_for_boosting_with_n_estimators(prepared: Any) -> None:
    assert _setup(prepared, score_best_iteration=True).iteration_kwarg == "num_iteration"
    assert _setup(prepared, score_best_iteration=True, kind="random_forest").iteration_kwarg is None
    assert _setup(prepared, score_best_iteration=True, resource="n_samples").iteration_kwarg is None
    assert _setup(prepared, score_best_iteration=False).iteration_kwarg is None


@pytest.mark.parametrize("resource", ["n_estimators", "n_samples"])
def test_folds_in_parallel_give_the_same_scores(prepared: Any, resource: str) -> None:
    folds = folds_from_plan(prepared.fold)
    candidate = _trial(0, {"num_leaves": 7, "learning_rate": 0.2}, 0, 40 if resource == "n_estimators" else 150)
    setup = _setup(prepared, resource=resource, score_best_iteration=True)
    one, two = (
        evaluate_trial(candidate, prepared.X_train, prepared.y_train, folds, setup, len(prepared.train), ProcessEnv(w))
        for w in (1, 2)
    )
    assert one.status == two.status == "ok"
    assert one.fold_scores == two.fold_scores and one.best_budget == two.best_budget
    assert len(two.fit_times) == len(two.score_times) == len(folds)


def test_a_failing_fold_in_parallel_fails_the_trial(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = evaluate_trial(_trial(0, {"num_leaves": -3}, 0, 10), prepared.X_train, prepared.y_train, folds,
                            _setup(prepared), len(prepared.train), ProcessEnv(3))
    assert result.status == "failed" and "num_leaves" in result.error
    assert all(math.isnan(s) for s in result.fold_scores)

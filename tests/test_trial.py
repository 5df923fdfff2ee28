"""One trial: folds inside, failures recorded not raised, the n_samples resource subsamples."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_frame
from tunepipe.data import folds_from_plan, prepare
from tunepipe.search import Candidate
from tunepipe.trial import TrialSetup, checkpoints, evaluate_candidate, subsample, trial_key


def _setup(prepared: Any, **kw: Any) -> TrialSetup:
    base = dict(kind="lightgbm", task=prepared.task, fixed_params={}, scoring="roc_auc", resource="n_estimators",
                seed=0, threads=1, numeric=tuple(prepared.numeric), categorical=tuple(prepared.categorical))
    return TrialSetup(**(base | kw))


@pytest.fixture
def prepared(cfg: Any) -> Any:
    return prepare(make_frame(400), cfg)


def test_scores_every_fold(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = evaluate_candidate(Candidate(0, {"num_leaves": 7}, 0, 20), prepared.X_train, prepared.y_train, folds,
                                _setup(prepared), len(prepared.train))
    assert result.status == "ok" and result.error == ""
    assert len(result.fold_scores) == len(result.fit_times) == len(result.score_times) == 3
    assert 0.7 < result.mean_score <= 1.0


def test_more_trees_change_the_model(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    run = lambda n: evaluate_candidate(Candidate(0, {}, 0, n), prepared.X_train, prepared.y_train, folds,  # noqa: E731
                                       _setup(prepared), len(prepared.train)).fold_scores
    assert run(1) != run(50)


def test_failing_params_make_a_failed_trial_with_the_error(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = evaluate_candidate(Candidate(4, {"max_features": "nonsense"}, 0, 5), prepared.X_train, prepared.y_train,
                                folds, _setup(prepared, kind="random_forest"), len(prepared.train))
    assert result.status == "failed"
    assert "max_features" in result.error
    assert len(result.fold_scores) == 3 and all(math.isnan(s) for s in result.fold_scores)
    assert math.isnan(result.mean_score)


def test_n_samples_resource_subsamples_training_folds(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    setup = _setup(prepared, resource="n_samples")
    small = evaluate_candidate(Candidate(0, {}, 0, 60), prepared.X_train, prepared.y_train, folds, setup, len(prepared.train))
    full = evaluate_candidate(Candidate(0, {}, 0, len(prepared.train)), prepared.X_train, prepared.y_train, folds, setup,
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
    staged = evaluate_candidate(Candidate(0, params, 0, 60), prepared.X_train, prepared.y_train, folds,
                                _setup(prepared, score_best_iteration=True), len(prepared.train))
    assert staged.best_resources in checkpoints(60)
    direct = evaluate_candidate(Candidate(0, params, 0, staged.best_resources), prepared.X_train, prepared.y_train,
                                folds, _setup(prepared), len(prepared.train))
    np.testing.assert_allclose(staged.fold_scores, direct.fold_scores, rtol=1e-12)
    full = evaluate_candidate(Candidate(0, params, 0, 60), prepared.X_train, prepared.y_train, folds,
                              _setup(prepared), len(prepared.train))
    assert staged.mean_score >= full.mean_score


def test_best_iteration_only_for_boosting_with_n_estimators(prepared: Any) -> None:
    assert _setup(prepared, score_best_iteration=True).iteration_kwarg == "num_iteration"
    assert _setup(prepared, score_best_iteration=True, kind="random_forest").iteration_kwarg is None
    assert _setup(prepared, score_best_iteration=True, resource="n_samples").iteration_kwarg is None
    assert _setup(prepared, score_best_iteration=False).iteration_kwarg is None


def test_trial_key_ignores_candidate_id_rung_threads_and_param_order(prepared: Any) -> None:
    setup = _setup(prepared)
    key = trial_key(Candidate(0, {"a": 1, "b": 0.5}, 0, 20), "f1", setup)
    assert key.startswith("trial-")
    assert trial_key(Candidate(7, {"b": 0.5, "a": 1}, 3, 20), "f1", _setup(prepared, threads=4)) == key


@pytest.mark.parametrize(("change", "setting"), [
    ("params", {"a": 2, "b": 0.5}), ("resource level", 40), ("data", "f2"), ("seed", {"seed": 1}),
    ("scoring", {"scoring": "accuracy"}), ("kind", {"kind": "random_forest"}),
    ("fixed params", {"fixed_params": {"max_bin": 63}}), ("resource", {"resource": "n_samples"}),
    ("best-iteration scoring", {"score_best_iteration": True}),
])
def test_trial_key_changes_with_what_changes_scores(prepared: Any, change: str, setting: Any) -> None:
    params, n, data, setup = {"a": 1, "b": 0.5}, 20, "f1", _setup(prepared)
    key = trial_key(Candidate(0, params, 0, n), data, setup)
    if change == "params":
        params = setting
    elif change == "resource level":
        n = setting
    elif change == "data":
        data = setting
    else:
        setup = _setup(prepared, **setting)
    assert trial_key(Candidate(0, params, 0, n), data, setup) != key


@pytest.mark.parametrize("resource", ["n_estimators", "n_samples"])
def test_folds_in_parallel_give_the_same_scores(prepared: Any, resource: str) -> None:
    folds = folds_from_plan(prepared.fold)
    candidate = Candidate(0, {"num_leaves": 7, "learning_rate": 0.2}, 0, 40 if resource == "n_estimators" else 150)
    one, two = (
        evaluate_candidate(candidate, prepared.X_train, prepared.y_train, folds,
                           _setup(prepared, resource=resource, score_best_iteration=True, fold_workers=w),
                           len(prepared.train))
        for w in (1, 2)
    )
    assert one.status == two.status == "ok"
    assert one.fold_scores == two.fold_scores and one.best_resources == two.best_resources
    assert len(two.fit_times) == len(two.score_times) == len(folds)


def test_a_failing_fold_in_parallel_fails_the_trial(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = evaluate_candidate(Candidate(0, {"num_leaves": -3}, 0, 10), prepared.X_train, prepared.y_train, folds,
                                _setup(prepared, fold_workers=3), len(prepared.train))
    assert result.status == "failed" and "num_leaves" in result.error
    assert all(math.isnan(s) for s in result.fold_scores)

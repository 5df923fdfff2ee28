"""Continued boosting equals a from-scratch fit with as many rounds; the live-model store's rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.conftest import make_frame
from tunepipe import boosting
from tunepipe.boosting import LiveModels
from tunepipe.data import folds_from_plan, prepare
from tunepipe.search import Candidate
from tunepipe.trial import (
    FirstRounds,
    LightGBMFirstRounds,
    TrialSetup,
    evaluate_candidate,
    lineage_key,
    release_live_models,
)

# Bagging and feature fraction: their random draws must carry on, not restart, when boosting goes on.
PARAMS = {"num_leaves": 9, "learning_rate": 0.1, "subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.6}


def _setup(prepared: Any, **kw: Any) -> TrialSetup:
    base = dict(kind="lightgbm", task=prepared.task, fixed_params={}, scoring="roc_auc", resource="n_estimators",
                seed=3, threads=1, numeric=tuple(prepared.numeric), categorical=tuple(prepared.categorical),
                data_fingerprint="f")
    return TrialSetup(**(base | kw))


@pytest.fixture
def prepared(cfg: Any) -> Any:
    return prepare(make_frame(600), cfg)


@pytest.fixture(autouse=True)
def empty_store() -> None:
    boosting.LIVE.keep_only([])


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_extended_model_predicts_exactly_as_a_from_scratch_fit(cfg: Any, task: str) -> None:
    p = prepare(make_frame(600, task), cfg.model_copy(update={"data": cfg.data.model_copy(update={"task": task})}))
    setup = _setup(p, task=p.task, scoring="r2" if task == "regression" else "roc_auc")
    continued = boosting.fit_keeping_booster(setup.pipeline(PARAMS, 10), p.X_train, p.y_train)
    boosting.extend(continued, 25)
    scratch = setup.pipeline(PARAMS, 25).fit(p.X_train, p.y_train)
    assert boosting.rounds(continued) == boosting.rounds(scratch) == 25
    predict = "predict" if task == "regression" else "predict_proba"
    np.testing.assert_array_equal(getattr(continued, predict)(p.X_holdout), getattr(scratch, predict)(p.X_holdout))
    assert continued[-1].get_params()["n_estimators"] == 25


@pytest.mark.parametrize("best_iteration", [False, True])
def test_a_promoted_trial_continues_and_scores_as_from_scratch(prepared: Any, best_iteration: bool) -> None:
    folds = folds_from_plan(prepared.fold)
    run = lambda c, s: evaluate_candidate(c, prepared.X_train, prepared.y_train, folds, s, len(prepared.train))  # noqa: E731
    live = _setup(prepared, continue_boosting=True, score_best_iteration=best_iteration)
    run(Candidate(4, PARAMS, 0, 10), live)
    assert len(boosting.LIVE) == len(folds)  # one live model per fold
    continued = run(Candidate(4, PARAMS, 1, 30), live)
    scratch = run(Candidate(4, PARAMS, 1, 30), _setup(prepared, score_best_iteration=best_iteration))
    assert continued.status == scratch.status == "ok"
    assert continued.fold_scores == scratch.fold_scores and continued.best_resources == scratch.best_resources


def test_release_keeps_only_the_candidates_still_searched(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    setup = _setup(prepared, continue_boosting=True)
    a, b = Candidate(0, PARAMS, 0, 5), Candidate(1, {**PARAMS, "num_leaves": 4}, 0, 5)
    for c in (a, b):
        evaluate_candidate(c, prepared.X_train, prepared.y_train, folds, setup, len(prepared.train))
    assert len(boosting.LIVE) == 2 * len(folds)
    release_live_models([Candidate(1, b.params, 1, 15)], setup)
    assert len(boosting.LIVE) == len(folds)
    assert boosting.LIVE.take((lineage_key(b, setup), 0)) is not None
    assert boosting.LIVE.take((lineage_key(a, setup), 0)) is None


def test_lineage_ignores_id_rung_and_resource_but_not_params(prepared: Any) -> None:
    setup = _setup(prepared)
    key = lineage_key(Candidate(0, PARAMS, 0, 10), setup)
    assert lineage_key(Candidate(5, PARAMS, 2, 90), setup) == key
    assert lineage_key(Candidate(0, {**PARAMS, "num_leaves": 4}, 0, 10), setup) != key
    assert lineage_key(Candidate(0, PARAMS, 0, 10), _setup(prepared, data_fingerprint="g")) != key


def test_store_drops_least_recent_beyond_its_budget() -> None:
    store = LiveModels(budget_bytes=100)
    for i in range(3):
        store.put((f"c{i}", 0), object(), 40)  # type: ignore[arg-type]
    assert len(store) == 2 and store.take(("c0", 0)) is None and store.take(("c2", 0)) is not None
    store.put(("big", 0), object(), 101)  # type: ignore[arg-type]
    assert store.take(("big", 0)) is None


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_numeric_view_predicts_exactly_as_the_dataframe(cfg: Any, task: str) -> None:
    p = prepare(make_frame(600, task), cfg.model_copy(update={"data": cfg.data.model_copy(update={"task": task})}))
    model = _setup(p, task=p.task).pipeline(PARAMS, 20).fit(p.X_train.iloc[:300], p.y_train.iloc[:300])
    # Rows the model has not seen, with missing values and categories the training rows may lack.
    X = model[:-1].transform(p.X_holdout)
    assert X.isna().any().any()
    predict = "predict" if task == "regression" else "predict_proba"
    for k in (1, 7, 20):
        np.testing.assert_array_equal(getattr(model[-1], predict)(boosting.numeric_view(X), num_iteration=k),
                                      getattr(model[-1], predict)(X, num_iteration=k))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_lightgbm_first_rounds_on_numbers_scores_as_the_wrapper_on_the_dataframe(cfg: Any, task: str) -> None:
    p = prepare(make_frame(600, task), cfg.model_copy(update={"data": cfg.data.model_copy(update={"task": task})}))
    model = _setup(p, task=p.task).pipeline(PARAMS, 20).fit(p.X_train, p.y_train)
    X = model[:-1].transform(p.X_holdout)
    for k in (1, 7, 20):
        fast, wrapper = LightGBMFirstRounds(model[-1], k, 1), FirstRounds(model[-1], k, "num_iteration")
        np.testing.assert_array_equal(fast.predict(boosting.numeric_view(X)), wrapper.predict(X))
        if task != "regression":
            np.testing.assert_array_equal(fast.predict_proba(boosting.numeric_view(X)), wrapper.predict_proba(X))


def test_lightgbm_first_rounds_always_names_the_thread_count(cfg: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # LightGBM keeps its default thread count in one process-wide variable that every predict
    # without num_threads resets: racing with fits in other threads, that crashed a search.
    p = prepare(make_frame(300, "binary"), cfg)
    model = _setup(p, task=p.task).pipeline(PARAMS, 5).fit(p.X_train, p.y_train)[-1]
    seen: list[dict[str, Any]] = []
    predict = model.booster_.predict
    monkeypatch.setattr(model.booster_, "predict", lambda X, **kw: seen.append(kw) or predict(X, **kw))
    view = LightGBMFirstRounds(model, 3, threads=2)
    view.predict(np.zeros((2, model.n_features_in_)))
    view.predict_proba(np.zeros((2, model.n_features_in_)))
    assert seen == [{"num_iteration": 3, "num_threads": 2}] * 2

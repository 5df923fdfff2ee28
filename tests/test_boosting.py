"""Continued boosting equals a from-scratch fit with as many rounds; the live-model store's rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.conftest import make_frame
from tunepipe import boosting
from tunepipe.boosting import LiveModels
from tunepipe.data import folds_from_plan, prepare
from tunepipe.results import Trial
from tunepipe.execution import ProcessEnv
from tunepipe.trial import FirstRounds, LightGBMFirstRounds, TrialSetup, evaluate_trial, lineage_key

# Bagging and feature fraction: their random draws must carry on, not restart, when boosting goes on.
PARAMS = {"num_leaves": 9, "learning_rate": 0.1, "subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.6}


def _trial(number: int, params: dict[str, Any], rung: int, budget: int) -> Trial:
    return Trial(number, number, params, budget, rung=rung)


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
    run = lambda c, s: evaluate_trial(c, prepared.X_train, prepared.y_train, folds, s, len(prepared.train), ProcessEnv())  # noqa: E731
    live = _setup(prepared, continue_boosting=True, score_best_iteration=best_iteration)
    run(_trial(4, PARAMS, 0, 10), live)
    assert len(boosting.LIVE) == len(folds)  # one live model per fold
    continued = run(_trial(4, PARAMS, 1, 30), live)
    scratch = run(_trial(4, PARAMS, 1, 30), _setup(prepared, score_best_iteration=best_iteration))
    assert continued.status == scratch.status == "ok"
    assert continued.fold_scores == scratch.fold_scores and continued.best_budget == scratch.best_budget


def test_lineage_ignores_param_order_and_threads_but_not_params_or_data(prepared: Any) -> None:
    setup = _setup(prepared)
    key = lineage_key(PARAMS, setup)
    assert lineage_key(dict(reversed(PARAMS.items())), _setup(prepared, threads=4)) == key
    assert lineage_key({**PARAMS, "num_leaves": 4}, setup) != key
    assert lineage_key(PARAMS, _setup(prepared, data_fingerprint="g")) != key


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

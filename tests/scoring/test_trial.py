"""One trial: folds inside, failures recorded not raised, the n_samples resource subsamples."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import PredefinedSplit, cross_val_score, cross_validate

from tests.conftest import make_frame, setup_for, trial_at
from tunepipe.data import folds_from_plan, prepare
from tunepipe.results import Trial
from tunepipe.search.racing import Race
from tunepipe.execution import ProcessEnv
from tunepipe import execution, lgbm, scoring
from tunepipe.models import build_pipeline
from tunepipe.scoring.spec import KindOption
from tunepipe.scoring import lineage_key, refit_budget, score_trial
from tunepipe.scoring.folds import subsample


_trial, _setup = trial_at, setup_for


@pytest.fixture
def prepared(cfg: Any) -> Any:
    return prepare(make_frame(400), cfg)


def test_scores_every_fold(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = score_trial(_trial(0, {"num_leaves": 7}, 0, 20), prepared.X_train, prepared.y_train, folds,
                                _setup(prepared), len(prepared.train))
    assert result.status == "ok" and result.error == ""
    assert len(result.fold_scores) == len(result.fit_times) == 3
    assert 0.7 < result.mean_score <= 1.0


@pytest.mark.parametrize(("kind", "params", "budget"), [
    ("lightgbm", {"num_leaves": 7, "learning_rate": 0.2}, 1),
    ("lightgbm", {"num_leaves": 7, "learning_rate": 0.2}, 50),
    ("random_forest", {"min_samples_leaf": 3}, 20),
])
def test_fold_scores_equal_scikit_learns_cross_validation(prepared: Any, kind: str, params: dict, budget: int) -> None:  # type: ignore[type-arg]
    setup = _setup(prepared, kind=kind)
    ours = score_trial(_trial(0, params, 0, budget), prepared.X_train, prepared.y_train,
                          folds_from_plan(prepared.fold), setup, len(prepared.train))
    theirs = cross_val_score(setup.pipeline(params, budget), prepared.X_train, prepared.y_train,
                             cv=PredefinedSplit(prepared.fold), scoring="roc_auc")
    np.testing.assert_allclose(ours.fold_scores, theirs, rtol=1e-12)


def test_failing_params_make_a_failed_trial_with_the_error(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = score_trial(_trial(4, {"max_features": "nonsense"}, 0, 5), prepared.X_train, prepared.y_train,
                                folds, _setup(prepared, kind="random_forest"), len(prepared.train))
    assert result.status == "failed"
    assert "max_features" in result.error
    assert len(result.fold_scores) == 3 and all(math.isnan(s) for s in result.fold_scores)
    assert math.isnan(result.mean_score)


def test_n_samples_resource_subsamples_training_folds(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    setup = _setup(prepared, resource="n_samples")
    small = score_trial(_trial(0, {}, 0, 60), prepared.X_train, prepared.y_train, folds, setup, len(prepared.train))
    full = score_trial(_trial(0, {}, 0, len(prepared.train)), prepared.X_train, prepared.y_train, folds, setup,
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


def test_best_iteration_score_equals_a_fit_with_that_many_rounds(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    params = {"learning_rate": 0.3, "num_leaves": 31}
    staged = score_trial(_trial(0, params, 0, 60), prepared.X_train, prepared.y_train, folds,
                            _setup(prepared, score_best_iteration=True), len(prepared.train))
    assert 1 <= staged.best_budget < 60  # a high learning rate peaks early on 300 rows
    direct = score_trial(_trial(0, params, 0, staged.best_budget), prepared.X_train, prepared.y_train,
                            folds, _setup(prepared), len(prepared.train))
    np.testing.assert_allclose(staged.fold_scores, direct.fold_scores, rtol=1e-12)
    full = score_trial(_trial(0, params, 0, 60), prepared.X_train, prepared.y_train, folds,
                          _setup(prepared), len(prepared.train))
    assert staged.mean_score > full.mean_score and full.best_budget is None


def test_best_iteration_only_for_lightgbm_with_n_estimators(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    run = lambda **kw: score_trial(_trial(0, {}, 0, 30 if kw.get("resource") != "n_samples" else 150),  # noqa: E731
                                      prepared.X_train, prepared.y_train, folds,
                                      _setup(prepared, score_best_iteration=True, **kw), len(prepared.train))
    assert run().best_budget is not None
    assert run(kind="random_forest").best_budget is None
    assert run(resource="n_samples").best_budget is None


def test_early_stopping_stops_in_step_at_patience_past_the_best_round(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    params = {"learning_rate": 0.3, "num_leaves": 31}
    setup = _setup(prepared, score_best_iteration=True, early_stopping=10, continue_boosting=True, data_fingerprint="f")
    execution.release_live_models()
    stopped = score_trial(_trial(0, params, 0, 500), prepared.X_train, prepared.y_train, folds, setup,
                             len(prepared.train), execution.ProcessEnv())
    full = score_trial(_trial(0, params, 0, 500), prepared.X_train, prepared.y_train, folds,
                          _setup(prepared, score_best_iteration=True), len(prepared.train))
    # The same best round as training all 500 rounds (the curve does not come back after it).
    assert stopped.best_budget == full.best_budget and stopped.fold_scores == full.fold_scores
    # Every fold trained in chunks of `patience` rounds, up to the first chunk end >= best + patience.
    trained = {execution.LIVE.take((lineage_key(params, setup), i)).rounds for i in range(len(folds))}
    assert trained == {10 * -(-(stopped.best_budget + 10) // 10)}
    execution.release_live_models()


def test_a_promoted_trial_continues_its_boosters_and_scores_as_from_scratch(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    params = {"num_leaves": 9, "learning_rate": 0.1, "subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.6}
    setup = _setup(prepared, continue_boosting=True, score_best_iteration=True, data_fingerprint="f")
    env = execution.ProcessEnv()
    execution.release_live_models()
    score_trial(_trial(4, params, 0, 10), prepared.X_train, prepared.y_train, folds, setup, len(prepared.train), env)
    assert len(execution.LIVE) == len(folds)  # one live booster per fold
    lineage = lineage_key(params, setup)
    first = execution.LIVE._boosters[(lineage, 0)][0]
    continued = score_trial(_trial(9, params, 1, 30), prepared.X_train, prepared.y_train, folds, setup,
                               len(prepared.train), env)
    # The same booster, boosted on to 30 rounds: without continuation a new one would be stored.
    stored = execution.LIVE.take((lineage, 0))
    assert stored is first and stored.rounds == 30
    scratch = score_trial(_trial(9, params, 1, 30), prepared.X_train, prepared.y_train, folds,
                             _setup(prepared, score_best_iteration=True), len(prepared.train))
    assert continued.status == scratch.status == "ok"
    assert continued.fold_scores == scratch.fold_scores and continued.best_budget == scratch.best_budget
    execution.release_live_models()


def test_lineage_ignores_param_order_but_not_params_data_or_threads(prepared: Any) -> None:
    setup = _setup(prepared)
    key = lineage_key({"a": 1, "b": 2}, setup)
    assert lineage_key({"b": 2, "a": 1}, setup) == key
    assert lineage_key({"a": 1, "b": 3}, setup) != key
    assert lineage_key({"a": 1, "b": 2}, _setup(prepared, data_fingerprint="g")) != key
    assert lineage_key({"a": 1, "b": 2}, _setup(prepared, threads=2)) != key  # a booster keeps its thread count


@pytest.mark.parametrize("resource", ["n_estimators", "n_samples"])
def test_folds_in_parallel_give_the_same_scores(prepared: Any, resource: str) -> None:
    folds = folds_from_plan(prepared.fold)
    candidate = _trial(0, {"num_leaves": 7, "learning_rate": 0.2}, 0, 40 if resource == "n_estimators" else 150)
    setup = _setup(prepared, resource=resource, score_best_iteration=True)
    one, two = (
        score_trial(candidate, prepared.X_train, prepared.y_train, folds, setup, len(prepared.train), ProcessEnv(w))
        for w in (1, 2)
    )
    assert one.status == two.status == "ok"
    assert one.fold_scores == two.fold_scores and one.best_budget == two.best_budget
    assert len(two.fit_times) == len(folds)


def test_a_failing_fold_in_parallel_fails_the_trial(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    result = score_trial(_trial(0, {"num_leaves": -3}, 0, 10), prepared.X_train, prepared.y_train, folds,
                            _setup(prepared), len(prepared.train), ProcessEnv(3))
    assert result.status == "failed" and "num_leaves" in result.error
    assert all(math.isnan(s) for s in result.fold_scores)


@pytest.mark.parametrize("early_stopping", [None, 5])
def test_a_raced_trial_that_goes_on_scores_exactly_as_an_unraced_one(prepared: Any, early_stopping: int | None) -> None:
    folds = folds_from_plan(prepared.fold)
    params = {"learning_rate": 0.3, "num_leaves": 15}
    setup = _setup(prepared, score_best_iteration=True, early_stopping=early_stopping)
    plain = score_trial(_trial(0, params, 0, 80), prepared.X_train, prepared.y_train, folds, setup, len(prepared.train))
    low = tuple(s - 0.5 for s in plain.fold_scores)  # an incumbent it beats on every fold
    raced = score_trial(Trial(0, 0, params, 80, race=Race(low)), prepared.X_train, prepared.y_train, folds, setup,
                           len(prepared.train))
    assert raced.status == "ok"
    assert raced.fold_scores == plain.fold_scores and raced.best_budget == plain.best_budget


@pytest.mark.parametrize("kind", ["lightgbm", "random_forest"])
def test_a_trial_that_loses_its_race_stops_after_its_first_folds(prepared: Any, kind: str) -> None:
    folds = folds_from_plan(prepared.fold)
    setup = _setup(prepared, kind=kind, score_best_iteration=True, early_stopping=5)
    high = Race((3.0,) * len(folds))  # an incumbent far above any roc_auc on every fold
    raced = score_trial(Trial(0, 0, {}, 20, race=high), prepared.X_train, prepared.y_train, folds, setup,
                           len(prepared.train))
    assert raced.status == "pruned" and math.isnan(raced.mean_score)
    first = high.looks()[0]
    assert all(0.5 < s <= 1 for s in raced.fold_scores[:first])
    assert all(math.isnan(s) for s in raced.fold_scores[first:]) and len(raced.fold_scores) == len(folds)


def test_columns_named_with_json_characters_score_as_plain_ones(cfg: Any) -> None:
    # LightGBM refuses `" , : [ ] { }` in feature names; the engine's trials must not.
    frame = make_frame(400)
    odd = frame.rename(columns={c: f"{c}[{i}]:x" for i, c in enumerate(frame.columns) if c not in ("y", "row_id")})
    scores = []
    for df in (frame, odd):
        prepared = prepare(df, cfg)
        result = score_trial(_trial(0, {"num_leaves": 7}, 0, 20), prepared.X_train, prepared.y_train,
                                folds_from_plan(prepared.fold), _setup(prepared), len(prepared.train))
        assert result.status == "ok", result.error
        scores.append(result.fold_scores)
    np.testing.assert_array_equal(*scores)


@pytest.mark.parametrize("budgets", [(37, 111, 333), (20, 60, 180)])
def test_with_early_stopping_a_promoted_trial_goes_on_from_its_boosters_and_stops_where_a_fresh_one_would(
    prepared: Any, budgets: tuple[int, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Early stopping looks at the curve every 50 rounds; a rung's boosters end at 37, 111, ...: the
    # next rung must not start over (it did: its first step, 50 rounds, was below 111).
    folds = folds_from_plan(prepared.fold)
    params = {"learning_rate": 0.03, "num_leaves": 7}
    setup = _setup(prepared, continue_boosting=True, score_best_iteration=True, early_stopping=50, data_fingerprint="f")
    made = []
    init = lgbm.LiveBooster.__init__
    monkeypatch.setattr(lgbm.LiveBooster, "__init__", lambda self, *a, **k: (made.append(1), init(self, *a, **k))[1])
    env = execution.ProcessEnv()
    execution.release_live_models()
    for rung, budget in enumerate(budgets):
        made.clear()
        continued = score_trial(_trial(5, params, rung, budget), prepared.X_train, prepared.y_train, folds, setup,
                                   len(prepared.train), env)
        assert len(made) == (len(folds) if rung == 0 else 0)  # later rungs build no booster: they go on
        made.clear()
        fresh = score_trial(_trial(5, params, rung, budget), prepared.X_train, prepared.y_train, folds,
                               _setup(prepared, score_best_iteration=True, early_stopping=50), len(prepared.train))
        assert (continued.fold_scores, continued.best_budget) == (fresh.fold_scores, fresh.best_budget)
    execution.release_live_models()


def test_a_scorer_not_computed_every_round_picks_the_same_round_whatever_the_path(prepared: Any) -> None:
    # balanced_accuracy is scored on a grid of rounds and at the end of each advance: a raced
    # trial (its last folds advanced in one go), a continued one (from boosters of a smaller
    # budget) and a fresh one must still choose among the same rounds.
    folds = folds_from_plan(prepared.fold)
    params = {"learning_rate": 0.03, "num_leaves": 7}
    common = dict(score_best_iteration=True, early_stopping=5, scoring="balanced_accuracy")
    fresh = score_trial(_trial(2, params, 1, 111), prepared.X_train, prepared.y_train, folds,
                           _setup(prepared, **common), len(prepared.train))
    raced = score_trial(Trial(2, 2, params, 111, rung=1, race=Race((-1.0,) * len(folds))), prepared.X_train,
                           prepared.y_train, folds, _setup(prepared, **common), len(prepared.train))
    setup = _setup(prepared, continue_boosting=True, data_fingerprint="f", **common)
    env = execution.ProcessEnv()
    execution.release_live_models()
    score_trial(_trial(2, params, 0, 37), prepared.X_train, prepared.y_train, folds, setup, len(prepared.train), env)
    continued = score_trial(_trial(2, params, 1, 111), prepared.X_train, prepared.y_train, folds, setup,
                               len(prepared.train), env)
    execution.release_live_models()
    assert raced.status == "ok"
    assert (raced.fold_scores, raced.best_budget) == (fresh.fold_scores, fresh.best_budget)
    assert (continued.fold_scores, continued.best_budget) == (fresh.fold_scores, fresh.best_budget)


def test_without_best_iteration_scoring_early_stopping_scores_and_refits_at_the_round_it_stopped(prepared: Any) -> None:
    # score_best_iteration false with early stopping: the trial is scored where training ended,
    # and that round count (not the budget it never reached) is what the refit uses.
    folds = folds_from_plan(prepared.fold)
    params = {"learning_rate": 0.3, "num_leaves": 31}
    stopped = score_trial(_trial(0, params, 0, 500), prepared.X_train, prepared.y_train, folds,
                             _setup(prepared, score_best_iteration=False, early_stopping=10), len(prepared.train))
    assert stopped.best_budget is not None and stopped.best_budget < 500 and stopped.best_budget % 10 == 0
    assert refit_budget(stopped, "n_estimators") == stopped.best_budget
    # The same fit trained to that round count without early stopping scores the same.
    plain = score_trial(_trial(0, params, 0, stopped.best_budget), prepared.X_train, prepared.y_train, folds,
                           _setup(prepared, score_best_iteration=False), len(prepared.train))
    assert plain.fold_scores == stopped.fold_scores and plain.best_budget is None


# A search over several kinds: lightgbm with a fixed max_bin, a forest with a fixed max_depth.
KINDS = dict(kinds=(KindOption("lightgbm", {"max_bin": 63}), KindOption("random_forest", {"max_depth": 4}),
                    KindOption("logistic_regression", {})), max_resources=200, early_stopping=5)


@pytest.mark.parametrize(("params", "budget", "kind", "own", "fixed", "n_resources"), [
    # A forest's full budget is 100 trees: 60 of 200 is 30 trees, with the forest's own fixed params.
    ({"kind": "random_forest", "min_samples_leaf": 3}, 60, "random_forest", {"min_samples_leaf": 3}, {"max_depth": 4}, 30),
    # Boosting rounds are the budget itself.
    ({"kind": "lightgbm", "num_leaves": 7}, 40, "lightgbm", {"num_leaves": 7}, {"max_bin": 63}, 40),
    # No resource: the estimator's own fit.
    ({"kind": "logistic_regression", "C": 0.5}, 60, "logistic_regression", {"C": 0.5}, {}, None),
])
def test_a_trial_of_several_kinds_scores_as_its_kind_alone(prepared, params, budget, kind, own, fixed, n_resources):
    """Against scikit-learn's cross-validation of the kind's own pipeline, built by hand."""
    setup = _setup(prepared, kind="lightgbm", **KINDS)
    ours = score_trial(_trial(0, params, 0, budget), prepared.X_train, prepared.y_train, folds_from_plan(prepared.fold),
                       setup, len(prepared.train))
    assert ours.trial.params == params and ours.trial.budget == budget  # the trial as asked
    merged = {**fixed, **own} | ({"n_estimators": n_resources} if n_resources else {})
    pipeline = build_pipeline(kind, "binary", list(prepared.numeric), list(prepared.categorical), merged, seed=0)
    theirs = cross_val_score(pipeline, prepared.X_train, prepared.y_train, cv=PredefinedSplit(prepared.fold),
                             scoring="roc_auc")
    if kind == "lightgbm":  # early stopping (5 rounds) scores it at its best round count on the mean curve
        assert ours.best_budget is not None and ours.best_budget <= budget
        pipeline.set_params(model__n_estimators=ours.best_budget)
        theirs = cross_val_score(pipeline, prepared.X_train, prepared.y_train, cv=PredefinedSplit(prepared.fold),
                                 scoring="roc_auc")
    else:
        assert ours.best_budget is None
    np.testing.assert_allclose(ours.fold_scores, theirs, rtol=1e-12)
    # The refit: the same kind's pipeline with the same parameters.
    refit = scoring.refit(setup, params, prepared.X_train, prepared.y_train, budget)
    assert type(refit[-1]) is type(pipeline[-1])
    assert {k: refit[-1].get_params()[k] for k in merged if k != "n_estimators"} == {
        k: v for k, v in merged.items() if k != "n_estimators"}
    if n_resources:
        assert refit[-1].get_params()["n_estimators"] == n_resources


def test_live_boosters_are_named_as_the_kind_alone(prepared) -> None:
    """lineage_key of a configuration of several kinds is that of its kind's own setup: the flow
    frees what the trial grew."""
    several = _setup(prepared, kind="lightgbm", **KINDS)
    alone, params, _ = several.narrow({"kind": "lightgbm", "num_leaves": 7}, 40)
    assert params == {"num_leaves": 7} and alone.spec.kinds == () and alone.spec.fixed_params == {"max_bin": 63}
    assert lineage_key({"kind": "lightgbm", "num_leaves": 7}, several) == lineage_key({"num_leaves": 7}, alone)
    forest, _, trees = several.narrow({"kind": "random_forest"}, 200)
    assert (forest.spec.kind, forest.spec.early_stopping, forest.run.continue_boosting, trees) == (
        "random_forest", None, False, 100)


@pytest.mark.parametrize(("kind", "params", "budget", "early_stopping"), [
    ("lightgbm", {"num_leaves": 7, "learning_rate": 0.2}, 60, 5),     # scored at its best round
    ("lightgbm", {"num_leaves": 7, "learning_rate": 0.2}, 30, None),  # at its budget
    ("random_forest", {"min_samples_leaf": 3}, 20, None),
])
def test_several_scorers_equal_scikit_learns_cross_validate(prepared, kind, params, budget, early_stopping) -> None:
    """Every scorer on every fold, at the round the refit metric scores the trial at, against
    scikit-learn's multi-metric cross_validate of the same pipeline with that many rounds."""
    others = ("neg_log_loss", "accuracy", "balanced_accuracy")
    setup = _setup(prepared, kind=kind, metrics=others, early_stopping=early_stopping)
    ours = score_trial(_trial(0, params, 0, budget), prepared.X_train, prepared.y_train,
                       folds_from_plan(prepared.fold), setup, len(prepared.train))
    assert set(ours.metrics) == set(others)
    rounds = ours.best_budget or budget
    theirs = cross_validate(setup.pipeline(params, rounds), prepared.X_train, prepared.y_train,
                            cv=PredefinedSplit(prepared.fold), scoring=["roc_auc", *others])
    np.testing.assert_allclose(ours.fold_scores, theirs["test_roc_auc"], rtol=1e-12)
    for name in others:
        np.testing.assert_allclose(ours.metrics[name], theirs[f"test_{name}"], rtol=1e-9, err_msg=name)


def test_a_raced_out_trial_records_every_scorer_on_the_folds_it_ran(prepared) -> None:
    setup = _setup(prepared, metrics=("neg_log_loss",), early_stopping=5)
    race = Race(incumbent=(1.0, 1.0, 1.0), alpha=0.5)  # no trial beats a perfect incumbent
    trial = Trial(0, 0, {"num_leaves": 4, "learning_rate": 0.01}, 20, race=race)
    ours = score_trial(trial, prepared.X_train, prepared.y_train, folds_from_plan(prepared.fold), setup,
                       len(prepared.train))
    assert ours.status == "pruned"
    ran = [not math.isnan(s) for s in ours.fold_scores]
    assert 0 < sum(ran) < 3 and [not math.isnan(s) for s in ours.metrics["neg_log_loss"]] == ran

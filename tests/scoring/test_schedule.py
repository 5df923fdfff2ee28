"""A schedule (population-based training): segments of parameters, each continuing the trees of
the ones before, in the search's boosters and in the refit, which must grow the same trees on the
same rows; and a member that copies another starts from its snapshot, with no retraining."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.conftest import make_frame, setup_for
from tunepipe import execution, lgbm
from tunepipe.data import folds_from_plan, prepare
from tunepipe.results import Segment, Trial
from tunepipe.scoring import lineage_key, refit_schedule, score_trial
from tunepipe.scoring.folds import bin_fold, prepare_fold

# Bagging changes across half the rows too (0.5 -> 0.9), which LightGBM 4.7's reset_parameter cannot do.
A = {"learning_rate": 0.2, "num_leaves": 15, "subsample": 0.5, "subsample_freq": 1, "colsample_bytree": 0.9}
B = {"learning_rate": 0.05, "num_leaves": 7, "subsample": 0.9, "subsample_freq": 1, "colsample_bytree": 0.9}
C = {"learning_rate": 0.1, "num_leaves": 7, "subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.5}


@pytest.fixture
def prepared(cfg: Any) -> Any:
    return prepare(make_frame(400), cfg)


def _trees(booster: Any) -> list[str]:
    """The trees of a booster as LightGBM writes them (not its parameters, which name the metric)."""
    text = booster.model_to_string()
    return text[text.index("Tree=0"):text.index("end of trees")].split("Tree=")[1:]


def _scheduled(budget: int, schedule: tuple[Segment, ...], params: dict[str, Any], number: int = 0) -> Trial:
    return Trial(number, 0, params, budget, rung=0, schedule=schedule)


def test_the_refit_replays_a_schedule_into_the_search_boosters_trees_on_a_fold(prepared: Any) -> None:
    """On one fold's training rows, the refit of a 3-segment schedule grows exactly the trees the
    search's booster grew there (wrapper fits continuing each other's trees with init_model)."""
    folds = folds_from_plan(prepared.fold)
    setup = setup_for(prepared, continue_boosting=True, score_best_iteration=True, early_stopping=5, data_fingerprint="f")
    trial = _scheduled(40, (Segment(15, A), Segment(10, B)), C)
    execution.release_live_models()
    observation = score_trial(trial, prepared.X_train, prepared.y_train, folds, setup, len(prepared.train),
                              execution.ProcessEnv())
    # Scored at its budget: no early stopping, no best round (members compare at equal rounds).
    assert observation.status == "ok" and observation.best_budget is None
    train_idx = folds[0][0]
    booster = execution.LIVE.take((lineage_key(C, setup, trial.schedule), 0))
    assert booster is not None and booster.rounds == 40
    model = refit_schedule(setup, trial.segments, prepared.X_train.iloc[train_idx], prepared.y_train.iloc[train_idx])
    assert model[-1].n_estimators == 40 and model[-1].booster_.num_trees() == 40
    assert _trees(model[-1].booster_) == _trees(booster.booster)
    # The segments mattered: C alone from round 0 grows other trees.
    plain = setup.pipeline(C, 40).fit(prepared.X_train.iloc[train_idx], prepared.y_train.iloc[train_idx])
    assert _trees(plain[-1].booster_)[20:] != _trees(booster.booster)[20:]
    execution.release_live_models()


def test_a_member_going_on_from_its_live_boosters_scores_as_one_replayed_from_round_0(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    setup = setup_for(prepared, continue_boosting=True, data_fingerprint="f")
    schedule = (Segment(10, A),)
    env = execution.ProcessEnv()
    execution.release_live_models()
    score_trial(_scheduled(20, schedule, B), prepared.X_train, prepared.y_train, folds, setup, len(prepared.train), env)
    continued = score_trial(_scheduled(30, schedule, B, number=1), prepared.X_train, prepared.y_train, folds, setup,
                            len(prepared.train), env)
    assert execution.LIVE.take((lineage_key(B, setup, schedule), 0)).rounds == 30
    replayed = score_trial(_scheduled(30, schedule, B, number=1), prepared.X_train, prepared.y_train, folds,
                           setup_for(prepared), len(prepared.train))
    assert continued.fold_scores == replayed.fold_scores
    execution.release_live_models()


def test_a_scheduled_trials_scores_are_those_of_the_refit_on_each_fold(prepared: Any) -> None:
    """The fold scores equal roc_auc of the refit schedule on each fold's validation rows."""
    folds = folds_from_plan(prepared.fold)
    setup = setup_for(prepared)
    trial = _scheduled(25, (Segment(12, A),), B)
    ours = score_trial(trial, prepared.X_train, prepared.y_train, folds, setup, len(prepared.train))
    from sklearn.metrics import roc_auc_score

    theirs = []
    for train_idx, valid_idx in folds:
        model = refit_schedule(setup, trial.segments, prepared.X_train.iloc[train_idx], prepared.y_train.iloc[train_idx])
        proba = model.predict_proba(prepared.X_train.iloc[valid_idx])[:, 1]
        theirs.append(roc_auc_score(prepared.y_train.iloc[valid_idx], proba))
    np.testing.assert_allclose(ours.fold_scores, theirs, rtol=1e-12)


def test_a_member_that_copies_another_starts_from_its_snapshot_without_retraining(
    prepared: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exploit: member 1 takes over member 0's trees at round 10. With member 0's snapshot in the
    process, no booster of member 1 is grown from round 0; without it (another process, a resumed
    run), member 0's segment is replayed. Both give the same scores."""
    folds = folds_from_plan(prepared.fold)
    setup = setup_for(prepared, continue_boosting=True, data_fingerprint="f")
    env = execution.ProcessEnv()
    execution.release_live_models()
    score_trial(_scheduled(10, (), A), prepared.X_train, prepared.y_train, folds, setup, len(prepared.train), env)
    fresh: list[int] = []
    init = lgbm.LiveBooster.__init__

    def spy(self: Any, *args: Any, start: Any = None, **kw: Any) -> None:
        fresh.append(start is None)
        init(self, *args, start=start, **kw)

    monkeypatch.setattr(lgbm.LiveBooster, "__init__", spy)
    child = _scheduled(20, (Segment(10, A),), B, number=1)
    copied = score_trial(child, prepared.X_train, prepared.y_train, folds, setup, len(prepared.train), env)
    assert fresh == [False] * len(folds)
    fresh.clear()
    replayed = score_trial(child, prepared.X_train, prepared.y_train, folds, setup_for(prepared), len(prepared.train))
    assert fresh.count(True) == len(folds)  # member 0's first 10 rounds, grown again on each fold
    assert copied.fold_scores == replayed.fold_scores
    execution.release_live_models()


def test_only_binning_parameters_are_fixed_for_a_schedule() -> None:
    names = ["learning_rate", "num_leaves", "min_child_samples", "max_bin", "reg_lambda", "subsample", "colsample_bytree"]
    assert lgbm.fixed_at_binning(names, {}) == {"min_child_samples", "max_bin"}
    # Without feature pre-filtering the minimum leaf size is a training parameter (LightGBM's docs).
    assert lgbm.fixed_at_binning(names, {"feature_pre_filter": False}) == {"max_bin"}


def test_a_snapshot_taken_after_the_booster_went_on_is_the_one_it_would_have_given_then(prepared: Any) -> None:
    folds = folds_from_plan(prepared.fold)
    setup = setup_for(prepared)
    data = prepare_fold(setup, prepared.X_train, prepared.y_train, *folds[0])
    fold = bin_fold(setup, data, lgbm.dataset_params(setup.estimator(A).get_params()))
    live = lgbm.LiveBooster(fold, setup.estimator(A), "roc_auc")
    live.advance(12)
    then = live.snapshot()
    live.advance(30)
    later = live.snapshot(12)
    assert later == then and later.rounds == 12
    with pytest.raises(ValueError, match="a snapshot at round 31 of a booster with 30 rounds"):
        live.snapshot(31)

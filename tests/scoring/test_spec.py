"""What decides a trial's scores (TrialSpec) vs how it runs (RunOptions): one digest for every key."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import trial_at, trial_setup
from tunepipe.scoring import RunOptions, TrialSpec, lineage_key
from tunepipe.scoring.spec import KindOption
from tunepipe.trialcache import trial_key

BASE = dict(kind="lightgbm", task="binary", fixed_params={}, scoring="roc_auc", resource="n_estimators", seed=0,
            numeric=("a",), categorical=("b",), score_best_iteration=True, early_stopping=50, data_fingerprint="f1")
# A changed value for every field of the spec, written by hand: a field added to TrialSpec without
# a row here fails test_every_spec_field_is_listed.
CHANGED = {
    "kind": "random_forest", "task": "multiclass", "fixed_params": {"max_bin": 63}, "scoring": "accuracy",
    "resource": "n_samples", "seed": 1, "numeric": ("a", "c"), "categorical": (), "score_best_iteration": False,
    "early_stopping": 20, "data_fingerprint": "f2",
    "kinds": (KindOption("lightgbm", {}), KindOption("random_forest", {"max_depth": 8})), "max_resources": 500,
    "metrics": ("neg_log_loss",),
}


def test_every_spec_field_is_listed():
    assert {f.name for f in dataclasses.fields(TrialSpec)} == set(CHANGED)


@pytest.mark.parametrize("field", sorted(CHANGED))
def test_every_spec_field_changes_both_keys(field):
    params, before, after = {"x": 1}, trial_setup(**BASE), trial_setup(**{**BASE, field: CHANGED[field]})
    assert trial_key(trial_at(0, params, 0, 20), before) != trial_key(trial_at(0, params, 0, 20), after)
    assert lineage_key(params, before) != lineage_key(params, after)


@pytest.mark.parametrize(("field", "value"), [("threads", 4), ("fold_workers", 2), ("continue_boosting", True)])
def test_run_options_never_change_the_cache_key(field, value):
    assert {f.name for f in dataclasses.fields(RunOptions)} == {"threads", "fold_workers", "continue_boosting"}
    trial = trial_at(0, {"x": 1}, 0, 20)
    assert trial_key(trial, trial_setup(**BASE)) == trial_key(trial, trial_setup(**BASE, **{field: value}))


def test_best_iteration_is_the_same_spec_where_it_means_nothing():
    """Best-iteration scoring is about boosting rounds: a random forest scores the same either way."""
    forest = {**BASE, "kind": "random_forest"}
    assert trial_setup(**{**forest, "score_best_iteration": False}).spec.digest == trial_setup(**forest).spec.digest
    assert trial_setup(**{**BASE, "score_best_iteration": False}).spec.digest != trial_setup(**BASE).spec.digest

"""Checks of params + data before Prefect starts: parameter values on the real estimator, resources
against the training rows the split will give."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_frame
from tunepipe import checks
from tunepipe.config import parse_config
from tunepipe.errors import ConfigError

SPACE_ONLY_LR = "search.space={learning_rate: {low: 0.01, high: 0.3, log: true}}"


def _check(raw: dict[str, Any], overrides: list[str], task: str = "binary", n: int = 400) -> list[str]:
    df = make_frame(n, task)
    return checks.check_run(df, parse_config(raw, overrides))


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        # fixed params, in LightGBM's words
        ([SPACE_ONLY_LR, "model.params={num_leaves: -3}"],
         r"^model.params.num_leaves is -3, but LightGBM rejects it \(Check failed: \(num_leaves\) > \(1\)\); fix or remove it$"),
        (["model.params={max_bin: 1}"], r"^model.params.max_bin is 1, but LightGBM rejects it \(Check failed: \(max_bin\) > \(1\)\)"),
        (["model.params={objective: hinge}"], r"^model.params.objective is 'hinge', but LightGBM rejects it \(Unknown objective type name: hinge\)"),
        # every value the space can produce: ends of ranges, each choice
        (["search.space.num_leaves={low: 1, high: 31, type: int}"],
         r"^search.space.num_leaves can be 1 \(its low\), but LightGBM rejects num_leaves=1 \(Check failed: \(num_leaves\) > \(1\)\); raise search.space.num_leaves.low$"),
        (["search.space.learning_rate={low: -0.1, high: 0.3}"],
         r"^search.space.learning_rate can be -0.1 \(its low\), but LightGBM rejects learning_rate=-0.1 \(Check failed: \(learning_rate\) > \(0.0\)\); raise search.space.learning_rate.low$"),
        (["search.space.min_child_samples={choices: [5, 10, -1]}"],
         r"^search.space.min_child_samples can be -1 \(one of its choices\), but LightGBM rejects min_child_samples=-1 \(Check failed: \(min_data_in_leaf\) >= \(0\)\); remove that choice$"),
        # an objective of another task: LightGBM would train it on the 0/1 labels without a word
        (["model.params={objective: regression}"],
         r"^model.params.objective is 'regression', but data.task is binary and LightGBM's 'regression' trains for another task; use one of binary, cross_entropy, .*or remove it"),
        (["model.params={application: multiclass}"], r"^model.params.application is 'multiclass', but data.task is binary"),
        (["search.space.objective={choices: [binary, poisson]}"], r"^search.space.objective is 'poisson', but data.task is binary"),
        # a float range of whole numbers for an integer parameter: the fix is type: int
        (["search.space.num_leaves={low: 8, high: 64}"],
         r"^search.space.num_leaves can be 36.0 \(its middle\), but LightGBM rejects num_leaves=36.0 .*; write search.space.num_leaves as \{low: 8, high: 64, type: int\}$"),
        # scikit-learn estimators
        (["model.kind=random_forest", "search.space=null", "model.params={criterion: ginni}"],
         r"^model.params.criterion is 'ginni', but RandomForestClassifier / RandomForestRegressor rejects it \(The 'criterion' parameter of RandomForestClassifier must be a str among .*Got 'ginni' instead.\); fix or remove it$"),
        (["model.kind=random_forest", "search.space=null", "search.space.max_features={low: 0.1, high: 1.5}"],
         r"^search.space.max_features can be 1.5 \(its high\), but RandomForestClassifier / RandomForestRegressor rejects max_features=1.5 .*; lower search.space.max_features.high$"),
        (["model.kind=random_forest", "search.space=null", "search.space.max_depth={choices: [null, deep]}"],
         r"^search.space.max_depth can be 'deep' \(one of its choices\), but .* rejects max_depth='deep'"),
        (["model.kind=logistic_regression", "search.space=null", "search.resource=n_samples", "search.max_resources=null",
          "model.params={penalty: l3}"], r"^model.params.penalty is 'l3', but LogisticRegression rejects it"),
    ],
)
def test_values_the_estimator_rejects_stop_the_run_with_its_reason(raw: dict[str, Any], overrides: list[str], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        _check(raw, overrides)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["model.params={max_bin: 63}"],  # the README's example
        ["model.params={boosting: dart, drop_rate: 0.2}"],
        ["model.params={objective: cross_entropy}"],  # binary labels, a binary-family objective
        # Valid only with the space's bagging: judged with the space at its middle, not the defaults.
        ["model.params={boosting: rf}", "search.space={subsample: {low: 0.5, high: 0.9}, subsample_freq: {choices: [1]}}"],
        ["model.kind=random_forest", "search.space=null", "search.resource=n_samples", "search.max_resources=null",
         "model.params={n_estimators: 400}"],
        # Needs more rows than the few the probe fits first: confirmed on every row before blaming it.
        ["model.kind=random_forest", "search.space=null", "model.params={max_samples: 200}"],
        ["model.kind=hist_gradient_boosting", "search.space=null"],
        ["model.kind=ridge", "search.space=null", "search.resource=n_samples", "search.max_resources=null"],
    ],
)
def test_valid_params_pass(raw: dict[str, Any], overrides: list[str]) -> None:
    assert _check(raw, overrides) == []


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_model_kind_passes_with_its_default_space(raw: dict[str, Any], task: str) -> None:
    scoring = {"binary": "roc_auc", "multiclass": "neg_log_loss", "regression": "r2"}[task]
    for kind in ("lightgbm", "random_forest", "extra_trees", "hist_gradient_boosting"):
        assert _check(raw, [f"model.kind={kind}", "search.space=null", f"search.scoring={scoring}"], task) == []


def test_the_probe_does_not_print_lightgbms_fatal_line(raw: dict[str, Any], capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError):
        _check(raw, ["model.params={max_bin: 1}"])
    out, err = capfd.readouterr()
    assert "[LightGBM] [Fatal]" not in out + err


def test_defaults_that_fail_on_the_data_leave_the_params_unjudged(raw: dict[str, Any]) -> None:
    """If even the defaults cannot fit these rows, the params are not blamed for it."""
    cfg = parse_config(raw, [SPACE_ONLY_LR, "model.params={num_leaves: -3}"])
    X = pd.DataFrame({"x": np.arange(40.0)})
    y = pd.Series(["yes", "no"] * 20)  # text for a regressor: even the defaults refuse it
    checks.check_params_fit(cfg, "regression", X, y, tuned=True)
    with pytest.raises(ConfigError, match=r"model.params.num_leaves is -3"):
        checks.check_params_fit(cfg, "binary", X, y, tuned=True)


def test_train_checks_the_winners_params_too(raw: dict[str, Any]) -> None:
    from tunepipe.data import prepare

    cfg = parse_config(raw)
    split = prepare(make_frame(400), cfg)
    checks.check_train(split, cfg, {"num_leaves": 7})
    with pytest.raises(ConfigError, match=r"^models/winner.json's params \{'num_leaves': 1\} are rejected by LightGBM"):
        checks.check_train(split, cfg, {"num_leaves": 1})


N_SAMPLES = ["search.resource=n_samples", "search.space=null"]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        # 400 rows, test_size 0.25: 300 training rows, exactly as the split rounds.
        ([*N_SAMPLES, "search.max_resources=10000000"],
         r"^search.max_resources is 10000000, but the training set has only 300 rows; lower it or set it to null"),
        ([*N_SAMPLES, "search.max_resources=301"], r"search.max_resources is 301, but the training set has only 300 rows"),
        ([*N_SAMPLES, "search.max_resources=null", "search.min_resources=100000"],
         r"^search.min_resources is 100000, but must be <= search.max_resources \(300\)"),
    ],
)
def test_resources_are_checked_against_the_training_rows(raw: dict[str, Any], overrides: list[str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _check(raw, overrides)


def test_resources_at_exactly_the_training_rows_pass(raw: dict[str, Any]) -> None:
    assert _check(raw, [*N_SAMPLES, "search.max_resources=300"]) == []


def test_check_run_returns_the_data_warnings(raw: dict[str, Any]) -> None:
    df = make_frame(400)
    df["serial"] = np.arange(400) + 1000
    found = checks.check_run(df, parse_config(raw))
    assert found == [
        "column 'serial' has a different whole number in every row (an id?), but is used as a feature; "
        "if it is an identifier, add it to data.drop"
    ]

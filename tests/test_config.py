"""Config: every rule has a message naming key, value, rule and fix."""

from __future__ import annotations

from typing import Any

import pytest

from tunepipe.config import Distribution, apply_overrides, parse_config, parse_override
from tunepipe.models import default_space
from tunepipe.errors import ConfigError


def test_valid_config_parses_with_types(raw: dict[str, Any]) -> None:
    cfg = parse_config(raw)
    assert cfg.search.factor == 3
    assert cfg.search.space["num_leaves"].type == "int"
    assert cfg.search.space["min_child_samples"].choices == [5, 10, 20]
    assert cfg.execution.workers == 2


def test_defaults_fill_optional_sections(raw: dict[str, Any]) -> None:
    del raw["cv"], raw["base"], raw["execution"]
    cfg = parse_config(raw)
    assert (cfg.cv.n_splits, cfg.base.seed, cfg.execution.workers) == (5, 42, "auto")


def test_overrides_use_dvc_syntax_and_yaml_values(raw: dict[str, Any]) -> None:
    cfg = parse_config(raw, ["search.n_candidates=27", "cv.shuffle=false", "search.space.learning_rate.high=0.5"])
    assert cfg.search.n_candidates == 27
    assert cfg.cv.shuffle is False
    assert cfg.search.space["learning_rate"].high == 0.5


@pytest.mark.parametrize("kind", ["lightgbm", "random_forest", "extra_trees", "hist_gradient_boosting"])
def test_null_space_takes_the_model_kinds_default(raw: dict[str, Any], kind: str) -> None:
    cfg = parse_config(raw, [f"model.kind={kind}", "search.space=null"])
    assert cfg.search.space == {k: Distribution.model_validate(v) for k, v in default_space(kind).items()}


def test_space_of_another_model_names_the_fix(raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"search.space.learning_rate is not a parameter of RandomForestClassifier"):
        parse_config(raw, ["model.kind=random_forest"])


def test_overrides_do_not_mutate_input(raw: dict[str, Any]) -> None:
    apply_overrides(raw, ["search.n_candidates=3"])
    assert raw["search"]["n_candidates"] == 9


@pytest.mark.parametrize("text", ["search.n_candidates", "=3", ""])
def test_malformed_override(text: str) -> None:
    with pytest.raises(ConfigError, match="is not of the form key=value"):
        parse_override(text)


def test_override_below_a_scalar(raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"search.factor is 3, not a section"):
        parse_config(raw, ["search.factor.x=1"])


def _set(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    node = raw
    *parents, last = dotted.split(".")
    for p in parents:
        node = node[p]
    node[last] = value
    return raw


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        # wrong types
        ("cv.n_splits", "five", r"cv.n_splits is 'five', but input should be a valid integer"),
        ("cv.shuffle", "yes", r"cv.shuffle is 'yes', but input should be a valid boolean"),
        ("search.n_candidates", 2.5, r"search.n_candidates is 2.5, but input should be a valid integer"),
        ("search.strategy", "hyperopt", r"search.strategy is 'hyperopt', but input should be 'random', 'grid', 'halving', "
         r"'hyperband', 'asha', 'tpe' or 'bohb'"),
        ("search.min_resources", "least", r"search.min_resources is 'least', but input should be a valid integer or input should be 'smallest' or 'exhaust'"),
        ("data.drop", "row_id", r"data.drop is 'row_id', but input should be a valid list"),
        # rules
        ("search.factor", 1, r"search.factor is 1, but must be >= 2"),
        ("search.factor", 1.5, r"search.factor is 1.5, but must be >= 2"),
        ("search.n_candidates", 0, r"search.n_candidates is 0, but must be >= 1"),
        ("search.min_resources", 500, r"search.min_resources is 500, but must be <= search.max_resources \(45\)"),
        ("search.max_resources", 0, r"search.max_resources is 0, but must be >= 1"),
        ("search.space", {}, r"search.space is empty, but must name at least one hyperparameter"),
        ("search.space.learning_rate", {"low": 0.3, "high": 0.1}, r"search.space.learning_rate.low is 0.3, but must be < search.space.learning_rate.high \(0.1\)"),
        ("search.space.learning_rate", {"low": 0.0, "high": 0.1, "log": True}, r"search.space.learning_rate.low is 0.0, but must be > 0 when log is true"),
        ("search.space.learning_rate", {"low": 0.1}, r"search.space.learning_rate is missing high"),
        ("search.space.learning_rate", {"choices": []}, r"search.space.learning_rate.choices is \[\], but must list at least one value"),
        ("search.space.learning_rate", {"choices": [1], "low": 0}, r"has both choices and low/high"),
        ("search.space.num_leaves", {"low": 2.5, "high": 9, "type": "int"}, r"type int needs whole numbers"),
        ("search.scoring", "auc", r"search.scoring is 'auc', but must be a scikit-learn scorer name; did you mean 'roc_auc'\?"),
        ("cv.n_splits", 1, r"cv.n_splits is 1, but must be >= 2"),
        ("data.test_size", 1.2, r"data.test_size is 1.2, but must be a fraction strictly between 0 and 1"),
        ("base.seed", -1, r"base.seed is -1, but must be between 0 and 2\*\*32 - 1"),
        ("execution.workers", 0, r"execution.workers is 0, but must be >= 1 or 'auto'"),
        ("execution.runner", "slurm", r"execution.runner is 'slurm', but input should be 'threads', 'processes' or 'dask'"),
        ("execution.trial_timeout", -5.0, r"execution.trial_timeout is -5.0, but must be > 0 seconds, or null for no limit"),
        ("execution.trial_retries", -1, r"execution.trial_retries is -1, but must be >= 0; 0 turns retries off"),
        ("execution.trial_retry_delay", -1.0, r"execution.trial_retry_delay is -1.0, but must be >= 0 seconds"),
        ("execution.dask_address", "10.0.0.5:8786", r"execution.dask_address is '10.0.0.5:8786', but must be a scheduler address such as tcp://"),
        # registry rules
        ("model.kind", "lightgmb", r"model.kind is 'lightgmb', but must be one of: lightgbm, .*; did you mean 'lightgbm'\?"),
        ("search.space.num_leaf", {"low": 4, "high": 8, "type": "int"}, r"search.space.num_leaf is not a parameter of LGBMClassifier; did you mean 'num_leaves'\?"),
        ("model.params", {"n_jobz": 1}, r"model.params.n_jobz is not a parameter of LGBMClassifier; did you mean 'n_jobs'\?"),
        ("search.space.n_estimators", {"low": 10, "high": 50, "type": "int"}, r"search.space.n_estimators is set, but search.resource n_estimators already sets"),
        ("search.max_resources", None, r"search.max_resources is null, but resource n_estimators needs"),
    ],
)
def test_bad_value_message(raw: dict[str, Any], key: str, value: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(_set(raw, key, value))


def test_dask_address_needs_the_dask_runner(raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"execution.dask_address is 'tcp://10.0.0.5:8786', but execution.runner is 'threads'; set execution.runner: dask"):
        parse_config(raw, ["execution.dask_address=tcp://10.0.0.5:8786"])
    cfg = parse_config(raw, ["execution.dask_address=tcp://10.0.0.5:8786", "execution.runner=dask", "execution.trial_timeout=600"])
    assert (cfg.execution.runner, cfg.execution.trial_timeout) == ("dask", 600)


def test_missing_required_key(raw: dict[str, Any]) -> None:
    del raw["data"]["target"]
    with pytest.raises(ConfigError, match=r"data.target is missing, but is required"):
        parse_config(raw)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("search.n_candiates=3", r"search.n_candiates is not a known key; did you mean 'n_candidates'\? \(known keys in section search: strategy, n_candidates"),
        ("serach.factor=3", r"serach is not a known key; did you mean 'search'\?"),
        ("cv.folds=3", r"cv.folds is not a known key \(known keys in section cv: n_splits, shuffle\)"),
        ("search.space.learning_rate.hi=0.5", r"search.space.learning_rate.hi is not a known key; did you mean 'high'\?"),
    ],
)
def test_unknown_key_suggests_close_match(raw: dict[str, Any], override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(raw, [override])


def test_resource_must_exist_on_model(raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"search.resource is n_estimators, but model.kind 'ridge' has no number of estimators; set search.resource: n_samples"):
        parse_config(raw, ["model.kind=ridge", "search.space={alpha: {low: 0.1, high: 10, log: true}}"])


def test_n_samples_resource_for_linear_model(raw: dict[str, Any]) -> None:
    cfg = parse_config(raw, ["model.kind=ridge", "search.resource=n_samples", "search.max_resources=null",
                             "search.space={alpha: {low: 0.1, high: 10, log: true}}"])
    assert cfg.search.resource == "n_samples"


def test_config_is_immutable(cfg: Any) -> None:
    with pytest.raises(Exception):
        cfg.search.factor = 2

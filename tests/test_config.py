"""Config: every rule has a message naming key, value, rule and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tunepipe.config import Distribution, apply_overrides, ignored_keys, parse_config, parse_override
from tunepipe.io import read_params
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
         r"'hyperband', 'asha', 'tpe', 'cmaes', 'ga', 'bohb' or 'pbt'"),
        ("search.population", 1, r"search.population is 1, but must be >= 2: a generation breeds from two parents at least"),
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
        ("search.space.num_leavs", {"low": 4, "high": 8, "type": "int"}, r"search.space.num_leavs is not a parameter of LightGBM; did you mean 'num_leaves'\?"),
        ("model.params", {"n_jobz": 1}, r"model.params.n_jobz is not a parameter of LightGBM; did you mean 'n_jobs'\?"),
        ("model.params", {"max_bim": 63}, r"model.params.max_bim is not a parameter of LightGBM; did you mean 'max_bin'\?"),
        ("search.space.n_estimators", {"low": 10, "high": 50, "type": "int"}, r"search.space.n_estimators is tuned, but search.resource n_estimators sets n_estimators itself \(per rung, up to search.max_resources 45, and for the refit\); remove it from search.space"),
        ("search.max_resources", None, r"search.max_resources is null, but resource n_estimators needs"),
        # a parameter set twice, or one tunepipe sets itself: never silently overridden
        ("model.params", {"num_leaves": 31}, r"model.params.num_leaves is fixed at 31, but search.space.num_leaves tunes it, so one would silently override the other; remove it from model.params to tune it, or from search.space to fix it"),
        ("model.params", {"max_leaves": 31}, r"model.params.max_leaves \(LightGBM's alias of num_leaves\) is fixed at 31, but search.space.num_leaves tunes the same parameter"),
        ("search.space.num_leaf", {"low": 4, "high": 8, "type": "int"}, r"search.space.num_leaf and search.space.num_leaves are aliases of one LightGBM parameter \(num_leaves\), but LightGBM would use only one of them; keep one"),
        ("model.params", {"subsample": 0.5, "bagging_fraction": 0.7}, r"model.params.bagging_fraction and model.params.subsample are aliases of one LightGBM parameter \(bagging_fraction\)"),
        ("model.params", {"n_estimators": 5}, r"model.params.n_estimators is 5, but search.resource n_estimators sets n_estimators itself .*; remove it from model.params and set the budget with search.max_resources, or set search.resource: n_samples"),
        ("model.params", {"num_boost_round": 5}, r"model.params.num_boost_round \(LightGBM's alias of n_estimators\) is 5, but search.resource n_estimators sets n_estimators itself"),
        ("model.params", {"random_state": 1}, r"model.params.random_state is 1, but tunepipe sets random_state from base.seed; remove it from model.params and set base.seed instead"),
        ("model.params", {"seed": 1}, r"model.params.seed \(LightGBM's alias of random_state\) is 1, but tunepipe sets random_state from base.seed"),
        ("model.params", {"n_jobs": 4}, r"model.params.n_jobs is 4, but tunepipe sets n_jobs from execution.threads_per_trial \(all cores for the refit\); remove it from model.params and set execution.threads_per_trial instead"),
        ("model.params", {"num_threads": 4}, r"model.params.num_threads \(LightGBM's alias of n_jobs\) is 4, but tunepipe sets n_jobs"),
        # shapes
        ("search", 5, r"search is 5, but must be a section \(a mapping of keys\); fix search in params.yaml"),
        ("search.space", [1], r"search.space\[0\] is 1, but must be a mapping"),  # a list is sub-grids (strategy grid)
        ("search.space.learning_rate", 0.1, r"search.space.learning_rate is 0.1, but must be a distribution such as \{low: 0.01, high: 0.3, log: true\} or \{choices: \[a, b\]\}"),
        ("model.params", [1], r"model.params is \[1\], but must be a mapping of estimator parameter names to values, e.g. \{max_bin: 63\}"),
        ("data.drop", [1], r"data.drop\[0\] is 1, but input should be a valid string; fix data.drop\[0\] in params.yaml"),
        ("evaluate", {"metrics": "roc_auc"}, r"^evaluate.metrics is 'roc_auc', but must be auto or a list of scorer names; write \[roc_auc\]$"),
        ("evaluate", {"metrics": 5}, r"^evaluate.metrics is 5, but must be auto or a list of scorer names, e.g. \[roc_auc, accuracy\]$"),
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
        ("search.n_candiates=3", r"search.n_candiates is not a known key; did you mean 'n_candidates'\? \(known keys in section search: strategy, sampler, scheduler, n_candidates"),
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
    with pytest.raises(ValidationError, match=r"Instance is frozen"):
        cfg.search.factor = 2
    assert cfg.search.factor == 3


@pytest.mark.parametrize(
    ("params", "space"),
    [
        # LightGBM's native names and aliases are parameters too (README: {max_bin: 63}).
        ({"max_bin": 63}, None),
        ({"bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l1": 0.1, "min_data_in_bin": 5}, None),
        ({"max_bin": 63}, {"feature_fraction": {"low": 0.5, "high": 1.0}, "min_data_in_leaf": {"low": 5, "high": 50, "type": "int"}}),
        ({"class_weight": "balanced", "importance_type": "gain"}, None),
    ],
)
def test_lightgbm_native_names_and_aliases_are_parameters(raw: dict[str, Any], params: dict[str, Any], space: Any) -> None:
    raw["model"]["params"] = params
    if space is not None:
        raw["search"]["space"] = space
    cfg = parse_config(raw)
    assert cfg.model.params == params
    assert sorted(cfg.search.space) == sorted(space or raw["search"]["space"])


def test_fixed_params_of_the_resource_are_fine_with_n_samples(raw: dict[str, Any]) -> None:
    cfg = parse_config(raw, ["search.resource=n_samples", "search.max_resources=null", "model.params={n_estimators: 50}"])
    assert cfg.model.params == {"n_estimators": 50}


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("search.space={learning_rate: {low: 0.1", r"^override 'search.space=\{learning_rate: \{low: 0.1' has a value that is not valid YAML \(expected ',' or '\}', but got '<stream end>' at character 26 of the value\); close every bracket and quote"),
        ("data.drop=[a, b", r"^override 'data.drop=\[a, b' has a value that is not valid YAML \(expected ',' or '\]'"),
        ('data.target="y', r"^override 'data.target=\"y' has a value that is not valid YAML"),
        ("search..factor=3", r"^override 'search..factor=3' has an empty part in its key 'search..factor'"),
    ],
)
def test_override_that_does_not_parse_is_one_line(raw: dict[str, Any], override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_config(raw, [override])
    assert "\n" not in str(info.value)


def test_messages_name_the_params_file_given(raw: dict[str, Any]) -> None:
    del raw["data"]["target"]
    with pytest.raises(ConfigError, match=r"data.target is missing, but is required; add it to conf/other.yaml"):
        parse_config(raw, source="conf/other.yaml")
    with pytest.raises(ConfigError, match=r"serach is not a known key; did you mean 'search'\? \(known keys in conf/other.yaml: base, data"):
        parse_config({**raw, "serach": {}}, source="conf/other.yaml")
    with pytest.raises(ConfigError, match=r"params file 'conf/other.yaml' must be a mapping of sections, but holds a list"):
        parse_config([1, 2], source="conf/other.yaml")


SHIPPED_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def test_the_shipped_params_give_no_note_about_keys_the_default_strategy_does_not_read() -> None:
    cfg = parse_config(read_params(SHIPPED_PARAMS))
    assert ignored_keys(cfg.search) == []


@pytest.mark.parametrize(("overrides", "ignored"), [
    (["search.strategy=tpe", "search.factor=4"], ["factor"]),
    (["search.strategy=tpe", "search.factor=3"], []),          # at its default: nothing is lost
    (["search.strategy=halving", "search.window=8"], ["window"]),
    (["search.strategy=random", "search.racing=false", "search.window=2"], ["window"]),
    (["search.strategy=halving", "search.factor=4"], []),
])
def test_a_key_set_away_from_its_default_that_the_strategy_does_not_read_is_named(
    overrides: list[str], ignored: list[str]
) -> None:
    assert ignored_keys(parse_config(read_params(SHIPPED_PARAMS), overrides).search) == ignored

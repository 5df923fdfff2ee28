"""Model registry: every kind builds a pipeline that fits raw frames with categoricals and NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer

from tests.conftest import make_frame
from tunepipe.errors import ConfigError
from tunepipe.models import (
    REGISTRY,
    CategoricalCaster,
    LightGBMNames,
    TimeAsSeconds,
    build_pipeline,
    estimator_class,
    estimator_name,
    parameter_names,
    split_features,
)

KINDS_TASKS = [(k, t) for k in REGISTRY for t in ("binary", "multiclass", "regression")
               if not (k == "logistic_regression" and t == "regression")]


@pytest.mark.parametrize(("kind", "task"), KINDS_TASKS)
def test_every_kind_fits_and_predicts_raw_columns(kind: str, task: str) -> None:
    df = make_frame(300, task)
    X, y = df.drop(columns=["y"]), df["y"]
    numeric, categorical = split_features(X.drop(columns=["row_id"]))
    model = build_pipeline(kind, task, numeric, categorical, {}, seed=0).fit(X.iloc[:200], y.iloc[:200])
    # Extra columns (row_id) are ignored, unseen categories are tolerated.
    test = X.iloc[200:].copy()
    test.loc[test.index[0], "color"] = "never-seen"
    pred = model.predict(test)
    assert len(pred) == 100
    if task != "regression":
        assert set(pred) <= set(y)
        assert (pred == y.iloc[200:].to_numpy()).mean() > 0.6  # the signal is learnable


def test_logistic_regression_has_no_regressor() -> None:
    with pytest.raises(ConfigError, match=r"model.kind is 'logistic_regression', but it has no regressor for data.task regression; use one of: lightgbm"):
        estimator_class("logistic_regression", "regression")


def test_split_features_treats_strings_and_bools_as_categorical() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [True, False], "d": [1, 2],
                      "e": pd.Categorical(["p", "q"])})
    assert split_features(X) == (["a", "d"], ["b", "c", "e"])


def test_categorical_caster_fixes_categories_at_fit() -> None:
    caster = CategoricalCaster().fit(pd.DataFrame({"c": ["b", "a", None, "b"]}))
    out = caster.transform(pd.DataFrame({"c": ["a", "z", None]}))
    assert list(out["c"].cat.categories) == ["a", "b"]
    assert out["c"].isna().tolist() == [False, True, True]  # unseen and missing -> NaN


def test_lightgbm_sees_native_categoricals() -> None:
    df = make_frame(300)
    X, y = df.drop(columns=["y", "row_id"]), df["y"]
    model = build_pipeline("lightgbm", "binary", ["x1", "x2"], ["color", "size"], {"n_estimators": 5}, seed=0).fit(X, y)
    booster = model.named_steps["model"].booster_
    assert booster.pandas_categorical is not None and len(booster.pandas_categorical) == 2


def test_params_and_seed_reach_the_estimator() -> None:
    model = build_pipeline("random_forest", "binary", ["x1"], [], {"n_estimators": 7}, seed=11, threads=2)
    est = model.named_steps["model"]
    assert (est.n_estimators, est.random_state, est.n_jobs) == (7, 11, 2)


def test_same_seed_same_predictions() -> None:
    df = make_frame(300)
    X, y = df.drop(columns=["y"]), df["y"]
    fit = lambda: build_pipeline("lightgbm", "binary", ["x1", "x2"], ["color", "size"],  # noqa: E731
                                 {"subsample": 0.7, "subsample_freq": 1, "n_estimators": 20}, seed=3).fit(X, y)
    np.testing.assert_array_equal(fit().predict_proba(X), fit().predict_proba(X))


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("num_leaves", "num_leaves"),
        ("max_bin", "max_bin"),  # a native parameter the scikit-learn API does not list
        ("subsample", "bagging_fraction"),  # a scikit-learn name is LightGBM's alias of a native one
        ("bagging_fraction", "bagging_fraction"),
        ("num_leaf", "num_leaves"),
        ("n_estimators", "num_iterations"),
        ("num_boost_round", "num_iterations"),
        ("random_state", "seed"),
        ("n_jobs", "num_threads"),
        ("class_weight", "class_weight"),  # scikit-learn API only
    ],
)
def test_lightgbm_knows_its_native_names_and_aliases(name: str, canonical: str) -> None:
    assert parameter_names("lightgbm")[name] == canonical


def test_lightgbm_names_cover_the_estimators_own_list() -> None:
    from lightgbm import LGBMRegressor

    names = parameter_names("lightgbm")
    assert set(LGBMRegressor().get_params()) <= set(names)
    assert len(names) > 250  # LightGBM's table: every parameter and alias
    assert "n_jobz" not in names and "max_features" not in names


def test_scikit_learn_names_are_the_estimators_own() -> None:
    names = parameter_names("ridge")
    # RidgeClassifier takes class_weight, Ridge does not: either is a parameter of the family.
    assert {"alpha", "class_weight", "solver"} <= set(names)
    assert all(k == v for k, v in names.items())


def test_a_default_given_under_an_alias_is_replaced_not_doubled() -> None:
    est = build_pipeline("lightgbm", "binary", ["x1"], [], {"verbose": 1}, seed=0)[-1]
    params = est.get_params()
    assert params["verbose"] == 1 and "verbosity" not in params
    est = build_pipeline("lightgbm", "binary", ["x1"], [], {"max_bin": 63}, seed=0)[-1]
    assert est.get_params()["verbosity"] == -1 and est.get_params()["max_bin"] == 63


@pytest.mark.parametrize(("kind", "name"), [("lightgbm", "LightGBM"), ("ridge", "RidgeClassifier / Ridge"),
                                            ("logistic_regression", "LogisticRegression")])
def test_estimator_name_in_messages(kind: str, name: str) -> None:
    assert estimator_name(kind) == name


def test_lightgbm_names_replace_the_characters_lightgbm_refuses_without_merging_columns() -> None:
    X = pd.DataFrame({"a:b": [1.0, 2.0], "a_b": [3.0, 4.0], "c[1]": [5.0, 6.0], "plain": [7.0, 8.0]})
    names = LightGBMNames().fit(X)
    assert names.names_ == {"a:b": "a_b_2", "c[1]": "c_1_"}
    assert list(names.transform(X).columns) == ["a_b_2", "a_b", "c_1_", "plain"]
    assert list(names.get_feature_names_out()) == ["a_b_2", "a_b", "c_1_", "plain"]


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_lightgbm_fits_columns_with_json_characters_in_their_names_as_it_fits_plain_ones(task: str) -> None:
    df = make_frame(300, task)
    X, y = df.drop(columns=["y", "row_id"]), df["y"]
    odd = X.rename(columns={c: f'{c}:"[{i}]"' for i, c in enumerate(X.columns)})
    fits = []
    for frame in (X, odd):
        numeric, categorical = split_features(frame)
        fits.append(build_pipeline("lightgbm", task, numeric, categorical, {}, seed=0).fit(frame, y))
    plain, renamed = fits
    # Same data under other names: the same model, and predict takes the names the user gave.
    np.testing.assert_array_equal(plain.predict(X), renamed.predict(odd))
    assert list(renamed.feature_names_in_) == list(odd.columns)
    assert isinstance(plain["prep"], ColumnTransformer)  # names LightGBM takes: no extra step


@pytest.mark.parametrize("kind", ["lightgbm", "random_forest", "logistic_regression"])
def test_dates_and_durations_are_features_in_seconds(kind: str) -> None:
    df = make_frame(300, "binary")
    X, y = df.drop(columns=["y", "row_id"]), df["y"]
    start = pd.Timestamp("2024-03-01", tz="Europe/Berlin")
    X["when"] = start + pd.to_timedelta(X["x1"].rank().to_numpy(), unit="D")
    X["took"] = pd.to_timedelta(X["x1"].rank().to_numpy(), unit="s")
    X.loc[X.index[:5], ["when", "took"]] = None
    numeric, categorical = split_features(X)
    assert {"when", "took"} <= set(numeric)
    seconds = TimeAsSeconds().fit_transform(X[["when", "took"]])
    assert seconds["when"].iloc[5] == (X["when"].iloc[5] - pd.Timestamp("1970-01-01", tz="UTC")).total_seconds()
    assert seconds["took"].iloc[5] == X["took"].iloc[5].total_seconds()
    assert seconds.iloc[:5].isna().all().all()
    # A fitted model keeps (pickles, dumps) and predicts on such columns.
    model = build_pipeline(kind, "binary", numeric, categorical, {}, seed=0).fit(X, y)
    assert len(model.predict(X)) == len(X)
    if kind == "lightgbm":
        assert "when" in model["model"].booster_.model_to_string()

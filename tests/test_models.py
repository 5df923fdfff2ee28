"""Model registry: every kind builds a pipeline that fits raw frames with categoricals and NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_frame
from tunepipe.errors import ConfigError
from tunepipe.models import REGISTRY, CategoricalCaster, build_pipeline, estimator_class, split_features

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

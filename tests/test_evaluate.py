"""Holdout metrics: the scorer's name and sign, plus the task's standard metrics."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import get_scorer

from tests.conftest import make_frame
from tunepipe.evaluate import holdout_metrics
from tunepipe.models import build_pipeline, split_features


def _fitted(kind: str, task: str):  # noqa: ANN202
    df = make_frame(300, task)
    X, y = df.drop(columns=["y", "row_id"]), df["y"]
    numeric, categorical = split_features(X)
    return build_pipeline(kind, task, numeric, categorical, {}, seed=0).fit(X[:200], y[:200]), X[200:], y[200:]


@pytest.mark.parametrize(
    ("kind", "task", "scoring", "keys"),
    [
        ("lightgbm", "binary", "roc_auc", {"roc_auc", "accuracy", "log_loss"}),
        ("lightgbm", "multiclass", "neg_log_loss", {"neg_log_loss", "roc_auc", "accuracy", "log_loss"}),
        ("random_forest", "regression", "neg_root_mean_squared_error", {"neg_root_mean_squared_error", "rmse", "mae", "r2"}),
        ("ridge", "binary", "accuracy", {"accuracy"}),  # RidgeClassifier has no predict_proba
    ],
)
def test_holdout_metrics(kind: str, task: str, scoring: str, keys: set[str]) -> None:
    model, X, y = _fitted(kind, task)
    out = holdout_metrics(model, X, y, scoring, task)  # type: ignore[arg-type]
    assert set(out) == keys
    assert math.isclose(out[scoring], get_scorer(scoring)(model, X, y))
    if task == "regression":
        assert math.isclose(out["neg_root_mean_squared_error"], -out["rmse"])
    if "log_loss" in out and scoring == "neg_log_loss":
        assert math.isclose(out["neg_log_loss"], -out["log_loss"])

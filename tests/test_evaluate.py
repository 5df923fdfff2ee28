"""Holdout metrics: the scorer's name and sign, plus the task's standard metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import get_scorer

from tests.conftest import make_frame
from tunepipe.errors import DataError
from tunepipe.evaluate import MAX_PLOT_POINTS, holdout_metrics, task_plot
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
    assert set(out) == keys | {"score"}
    assert out["score"] == out[scoring]
    assert math.isclose(out[scoring], get_scorer(scoring)(model, X, y))
    if task == "regression":
        assert math.isclose(out["neg_root_mean_squared_error"], -out["rmse"])
    if "log_loss" in out and scoring == "neg_log_loss":
        assert math.isclose(out["neg_log_loss"], -out["log_loss"])


def test_listed_metrics_replace_the_standard_ones() -> None:
    model, X, y = _fitted("lightgbm", "binary")
    out = holdout_metrics(model, X, y, "roc_auc", "binary", ["balanced_accuracy", "f1_macro"])
    assert set(out) == {"score", "roc_auc", "balanced_accuracy", "f1_macro"}
    assert math.isclose(out["balanced_accuracy"], get_scorer("balanced_accuracy")(model, X, y))


def test_a_listed_metric_the_model_cannot_give_names_the_key() -> None:
    model, X, y = _fitted("ridge", "binary")
    with pytest.raises(DataError, match=r"evaluate.metrics lists 'neg_log_loss', but it cannot score this binary model"):
        holdout_metrics(model, X, y, "accuracy", "binary", ["neg_log_loss"])


def test_binary_plot_is_the_roc_curve_of_the_positive_class() -> None:
    model, X, y = _fitted("lightgbm", "binary")
    roc = task_plot(model, X, y, "binary", seed=0)
    assert list(roc.columns) == ["fpr", "tpr", "threshold"]
    assert roc["fpr"].is_monotonic_increasing and roc["tpr"].is_monotonic_increasing
    assert (roc.iloc[0][["fpr", "tpr"]].tolist(), roc.iloc[-1][["fpr", "tpr"]].tolist()) == ([0, 0], [1, 1])
    # Area under the plotted curve is the holdout ROC AUC.
    assert math.isclose(np.trapezoid(roc["tpr"], roc["fpr"]), get_scorer("roc_auc")(model, X, y))


def test_multiclass_plot_has_one_row_per_holdout_row() -> None:
    model, X, y = _fitted("lightgbm", "multiclass")
    rows = task_plot(model, X, y, "multiclass", seed=0)
    assert list(rows.columns) == ["actual", "predicted"] and len(rows) == len(y)
    assert rows["actual"].tolist() == y.astype(str).tolist()


def test_regression_plot_is_a_seeded_sample_of_at_most_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    model, X, y = _fitted("random_forest", "regression")
    monkeypatch.setattr("tunepipe.evaluate.MAX_PLOT_POINTS", 40)
    a, b = task_plot(model, X, y, "regression", seed=1), task_plot(model, X, y, "regression", seed=1)
    assert len(a) == 40 and a.equals(b)
    assert set(a["actual"]) <= set(y)
    assert MAX_PLOT_POINTS >= 1000

"""Holdout scoring of the refit winner: the search's scorer plus a few standard metrics."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    get_scorer,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from tunepipe.config import Task


def holdout_metrics(model: Any, X: pd.DataFrame, y: pd.Series, scoring: str, task: Task) -> dict[str, float]:
    """``{scoring: value}`` (scikit-learn's sign convention) plus the task's standard metrics.

    Classification: ``roc_auc`` (one-vs-rest for multiclass), ``log_loss``, ``accuracy``;
    regression: ``rmse``, ``mae``, ``r2``. A metric the model cannot give (e.g. no
    ``predict_proba``) is left out rather than guessed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = {scoring: float(get_scorer(scoring)(model, X, y))}
        if task == "regression":
            pred = model.predict(X)
            out |= {
                "rmse": float(root_mean_squared_error(y, pred)),
                "mae": float(mean_absolute_error(y, pred)),
                "r2": float(r2_score(y, pred)),
            }
            return out
        out["accuracy"] = float(accuracy_score(y, model.predict(X)))
        if hasattr(model, "predict_proba"):
            try:
                proba = model.predict_proba(X)
            except AttributeError:  # e.g. a pipeline whose final estimator has no predict_proba
                return out
            classes = model.classes_
            out["log_loss"] = float(log_loss(y, proba, labels=classes))
            if task == "binary":
                out["roc_auc"] = float(roc_auc_score(y, proba[:, 1]))
            else:
                out["roc_auc"] = float(roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    return out


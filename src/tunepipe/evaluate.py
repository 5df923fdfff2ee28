"""Holdout scoring of the refit winner: the search's scorer, the reported metrics, the task plot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    get_scorer,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
)

from tunepipe.config import Task
from tunepipe.errors import DataError

# The predicted-vs-actual plot draws one point per row; more than this only slows the browser.
MAX_PLOT_POINTS = 2000
# The task's plot: file name under reports/eval/ (dvc.yaml declares one plot per name).
PLOT_FILES: dict[Task, str] = {"binary": "roc.csv", "multiclass": "confusion.csv", "regression": "predictions.csv"}
# Each plot file's columns: the files of the other tasks are written with these and no rows, so
# that `dvc plots show` finds every file dvc.yaml declares (a missing one is a failure there).
PLOT_COLUMNS: dict[Task, tuple[str, ...]] = {
    "binary": ("fpr", "tpr", "threshold"), "multiclass": ("actual", "predicted"), "regression": ("actual", "predicted"),
}


def plot_files(task: Task, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every task's plot file: ``task``'s with ``frame``, the others empty (their columns only)."""
    return {name: frame if t == task else pd.DataFrame(columns=list(PLOT_COLUMNS[t])) for t, name in PLOT_FILES.items()}


def holdout_metrics(
    model: Any,
    X: pd.DataFrame,
    y: pd.Series,
    scoring: str,
    task: Task,
    metrics: Literal["auto"] | list[str] = "auto",
    also: Sequence[str] = (),
) -> dict[str, float]:
    """``{"score": search.scoring on the holdout, scoring: same, **also, **metrics}``.

    ``also``: the search's other scorers (``search.scoring`` a list), by their scorer names.

    ``metrics="auto"`` adds the task's standard metrics: classification ``roc_auc`` (one-vs-rest
    for multiclass), ``log_loss``, ``accuracy``; regression ``rmse``, ``mae``, ``r2``. A standard
    metric the model cannot give (e.g. no ``predict_proba``) is left out rather than guessed. A list
    adds those scikit-learn scorers (their sign convention: ``neg_...`` for losses).
    """
    # No warning is silenced here: on the holdout, an undefined metric or an unseen class is news.
    score = float(get_scorer(scoring)(model, X, y))
    out = {"score": score, scoring: score}
    out |= {name: float(get_scorer(name)(model, X, y)) for name in also}
    if metrics == "auto":
        return out | _standard_metrics(model, X, y, task)
    for name in metrics:
        try:
            out[name] = float(get_scorer(name)(model, X, y))
        except (ValueError, TypeError, AttributeError) as exc:
            raise DataError(
                f"evaluate.metrics lists '{name}', but it cannot score this {task} model "
                f"({str(exc).splitlines()[0]}); remove it or use auto"
            ) from None
    return out


def _standard_metrics(model: Any, X: pd.DataFrame, y: pd.Series, task: Task) -> dict[str, float]:
    if task == "regression":
        pred = model.predict(X)
        return {
            "rmse": float(root_mean_squared_error(y, pred)),
            "mae": float(mean_absolute_error(y, pred)),
            "r2": float(r2_score(y, pred)),
        }
    out = {"accuracy": float(accuracy_score(y, model.predict(X)))}
    proba = _proba(model, X)
    if proba is not None:
        classes = model.classes_
        out["log_loss"] = float(log_loss(y, proba, labels=classes))
        if task == "binary":
            out["roc_auc"] = float(roc_auc_score(y, proba[:, 1]))
        else:
            out["roc_auc"] = float(roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    return out


def _proba(model: Any, X: pd.DataFrame) -> np.ndarray | None:
    if not hasattr(model, "predict_proba"):
        return None
    try:
        return model.predict_proba(X)
    except AttributeError:  # e.g. a pipeline whose final estimator has no predict_proba
        return None


def task_plot(model: Any, X: pd.DataFrame, y: pd.Series, task: Task, seed: int) -> pd.DataFrame:
    """Plot data for the winner on the holdout (written to ``reports/eval/PLOT_FILES[task]``).

    binary: the ROC curve (``fpr``, ``tpr``, ``threshold``) of the positive class ``classes_[1]``;
    multiclass: one row per holdout row (``actual``, ``predicted``) for DVC's confusion template;
    regression: ``actual``, ``predicted`` for a scatter plot, a seeded sample of at most
    ``MAX_PLOT_POINTS`` rows.
    """
    if task == "binary":
        proba = _proba(model, X)
        scores = proba[:, 1] if proba is not None else model.decision_function(X)
        fpr, tpr, threshold = roc_curve(y, scores, pos_label=model.classes_[1])
        # roc_curve's first threshold is +inf (nothing predicted positive): not valid JSON/CSV data.
        threshold = np.where(np.isfinite(threshold), threshold, np.nan)
        return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": threshold})
    frame = pd.DataFrame({"actual": y.to_numpy(), "predicted": model.predict(X)})
    if task == "multiclass":
        return frame.astype(str)
    if len(frame) > MAX_PLOT_POINTS:
        frame = frame.sample(MAX_PLOT_POINTS, random_state=seed).sort_index()
    return frame.reset_index(drop=True)

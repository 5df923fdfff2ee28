"""Predictions of the refit winner on new rows (``tunepipe predict``), checked like the training data."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tunepipe.errors import DataError


def feature_columns(model: Any) -> list[str]:
    """The raw columns the model was fitted on (a scikit-learn pipeline fitted on a DataFrame)."""
    return [str(c) for c in getattr(model, "feature_names_in_", [])]


def check_columns(frame: pd.DataFrame, model: Any, source: str) -> None:
    """Every column the model needs is in ``frame`` (others, e.g. the target or ids, are ignored)."""
    missing = [c for c in feature_columns(model) if c not in frame.columns]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        raise DataError(
            f"{source} lacks {len(missing)} column(s) the model was trained on: {names}; add them "
            "(values may be missing) or predict from a file with the training data's columns"
        )


def predict_frame(model: Any, frame: pd.DataFrame, proba: bool, source: str) -> pd.DataFrame:
    """One row per input row, in order: ``prediction`` and, with ``proba``, ``proba_<class>`` per class.

    Rows the model cannot take (a text value in a numeric column, ...) raise :class:`DataError`
    with the library's message on one line.
    """
    check_columns(frame, model, source)
    is_classifier = hasattr(model, "classes_")
    if proba and not (is_classifier and hasattr(model, "predict_proba")):
        raise DataError(
            "--proba was given, but the model gives no class probabilities "
            f"({'a regressor' if not is_classifier else 'no predict_proba'}); leave out --proba"
        )
    X = frame[feature_columns(model)] if feature_columns(model) else frame
    try:
        out = pd.DataFrame({"prediction": model.predict(X)})
        if proba:
            probabilities = model.predict_proba(X)
            for i, label in enumerate(model.classes_):
                out[f"proba_{label}"] = probabilities[:, i]
    except (ValueError, TypeError, KeyError) as exc:
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise DataError(
            f"{source} has values the model cannot take ({detail}); give each column the type it had in the training data"
        ) from None
    return out

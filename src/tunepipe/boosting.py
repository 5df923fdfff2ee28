"""Continue boosting instead of refitting: a promoted candidate's next rung costs only the extra rounds.

LightGBM's scikit-learn wrapper drops the training data after ``fit``, so a fitted model cannot be
boosted further except through ``init_model``, which starts a new booster: its bagging and
feature-fraction draws restart, and the result differs from a from-scratch fit with as many
rounds. Here the wrapper's call to ``lightgbm.train`` keeps the training booster (only inside
:func:`fit_keeping_booster`, per thread), and :func:`extend` calls ``Booster.update`` on that same
booster, whose random state carries on: the continued model equals a from-scratch fit with the
same number of rounds (tests compare scores exactly).

The fitted models live in :data:`LIVE`, one process's memory, bounded by a byte budget: with a
thread task runner every trial of a search shares it; a trial that finds nothing there (another
process, a cached earlier rung, an evicted entry) fits from scratch, with the same result.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, TypeVar

import lightgbm as lgb
import lightgbm.sklearn as lgb_sklearn
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

# Whether lightgbm.train, called by the scikit-learn wrapper in this thread, keeps its training data.
_KEEP_TRAINING: ContextVar[bool] = ContextVar("tunepipe_keep_training", default=False)
_original_train = lgb_sklearn.train


def _train(*args: Any, **kwargs: Any) -> Any:
    """``lightgbm.train`` as the wrapper calls it, keeping the training booster when asked (per thread)."""
    if not _KEEP_TRAINING.get():
        return _original_train(*args, **kwargs)
    booster = _original_train(*args, **{**kwargs, "keep_training_booster": True})
    # The wrapper then drops the booster's reference to its training Dataset; the native booster
    # still uses it, so it is kept here, alive, under a name of our own.
    booster._tunepipe_train_set = kwargs["train_set"]
    return booster


# The wrapper looks ``train`` up in its module at each fit; with the flag unset it is unchanged.
lgb_sklearn.train = _train


Model = TypeVar("Model", Pipeline, BaseEstimator)


def _estimator(model: Pipeline | BaseEstimator) -> Any:
    """The LightGBM estimator itself (the last step of a pipeline)."""
    return model[-1] if isinstance(model, Pipeline) else model


_thread = threading.local()


def _quiet_this_thread() -> None:
    """Set LightGBM's native log level to silent in this thread (once).

    The level is per native thread and set when parameters are parsed; boosting on a live booster
    from another thread than the one that built it would print its warnings. Parsing parameters
    for a tiny dataset sets it; ``Booster.reset_parameter`` would too, but restarts the bagging draws.
    """
    if getattr(_thread, "quiet", False):
        return
    lgb.Dataset(np.zeros((2, 1)), label=np.array([0.0, 1.0]), params={"verbosity": -1}).construct()
    _thread.quiet = True


def fit_keeping_booster(model: Model, X: pd.DataFrame, y: pd.Series) -> Model:
    """Fit a LightGBM estimator (or a pipeline ending in one) so that :func:`extend` can boost it on."""
    token = _KEEP_TRAINING.set(True)
    try:
        return model.fit(X, y)
    finally:
        _KEEP_TRAINING.reset(token)


def rounds(model: Pipeline | BaseEstimator) -> int:
    """Boosting rounds the fitted model has."""
    return int(_estimator(model).booster_.current_iteration())


def extend(model: Model, n_rounds: int) -> Model:
    """Boost a :func:`fit_keeping_booster` model on to ``n_rounds`` rounds in all."""
    estimator = _estimator(model)
    booster = estimator.booster_
    booster.train_set = booster._tunepipe_train_set
    _quiet_this_thread()
    for _ in range(n_rounds - rounds(model)):
        booster.update()
    # Keep the estimator's own record consistent with its booster (get_params, repr).
    estimator.set_params(n_estimators=n_rounds)
    return model


def numeric_view(X: pd.DataFrame) -> np.ndarray:
    """``X`` as LightGBM's predict turns a DataFrame into numbers: category codes, missing as NaN.

    LightGBM converts (and checks the categories of) a DataFrame on every predict call; a trial
    that scores a fold at many round counts converts the fold's test rows once with this instead.
    Same numbers as LightGBM's own conversion when the categories are those the model was
    trained with, which the preprocessing fixes per fold (tests compare predictions exactly).
    """
    columns = [
        X[c].cat.codes.to_numpy(dtype=float) if isinstance(X[c].dtype, pd.CategoricalDtype) else X[c].to_numpy(dtype=float)
        for c in X.columns
    ]
    matrix = np.column_stack(columns) if columns else np.empty((len(X), 0))
    for j, c in enumerate(X.columns):
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            matrix[X[c].cat.codes.to_numpy() == -1, j] = np.nan
    return matrix


def size_bytes(n_rows: int, n_columns: int) -> int:
    """Rough memory of one live model: the binned training data plus gradient and score buffers."""
    return n_rows * (n_columns + 32)


class LiveModels:
    """Fitted, continuable models by (candidate lineage, fold), least recently used dropped first."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._models: OrderedDict[tuple[str, int], tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def take(self, key: tuple[str, int]) -> Any:
        """Remove and return the model stored under ``key`` (None if there is none)."""
        with self._lock:
            found = self._models.pop(key, None)
            if found is None:
                return None
            self._bytes -= found[1]
            return found[0]

    def put(self, key: tuple[str, int], model: Any, nbytes: int) -> None:
        """Store ``model`` under ``key``, dropping the least recently stored beyond the budget."""
        if nbytes > self.budget_bytes:
            return
        with self._lock:
            old = self._models.pop(key, None)
            self._bytes += nbytes - (old[1] if old else 0)
            self._models[key] = (model, nbytes)
            while self._bytes > self.budget_bytes:
                _, (_, dropped) = self._models.popitem(last=False)
                self._bytes -= dropped

    def keep_only(self, lineages: Iterable[str]) -> None:
        """Drop every model whose lineage is not in ``lineages`` (the candidates still in the search)."""
        keep = set(lineages)
        with self._lock:
            for key in [k for k in self._models if k[0] not in keep]:
                self._bytes -= self._models.pop(key)[1]

    def __len__(self) -> int:
        return len(self._models)


# 2 GiB: the first rungs of a big search hold many live models at once; beyond this, trials of
# the next rung fit from scratch (same scores, only slower).
LIVE = LiveModels(budget_bytes=2 * 1024**3)

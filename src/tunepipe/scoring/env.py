"""What a trial's scoring asks of the process it runs in: where folds run, what they may reuse.

:mod:`tunepipe.execution` implements it for the flow's processes; :class:`SequentialEnv` is the
plain one (folds in turn, nothing reused). Scores never depend on which one a trial is given.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from tunepipe import lgbm
from tunepipe.scoring.folds import FoldData, bin_fold, prepare_fold
from tunepipe.scoring.spec import TrialSetup
from tunepipe.threads import thread_limit


class LiveStore(Protocol):
    """Live boosters of continued boosting, by (configuration, fold) (:mod:`tunepipe.execution`)."""

    def take(self, key: tuple[str, int]) -> lgbm.LiveBooster | None:
        """Remove and return the booster stored under ``key`` (None if there is none)."""

    def put(self, key: tuple[str, int], booster: lgbm.LiveBooster) -> None:
        """Keep ``booster`` for a later trial of the same configuration."""

    def peek(self, key: tuple[str, int]) -> lgbm.LiveBooster | None:
        """The booster stored under ``key``, also while a trial has taken it to go on (left in
        place; None if there is none): a schedule's member that copies it snapshots its trees."""


class TrialEnv(Protocol):
    """Where a trial's folds run and what they may reuse (:mod:`tunepipe.execution`)."""

    live: LiveStore | None

    def map_folds(self, fn: Any, n: int, threads: int) -> list[Any]:
        """``[fn(0), ..., fn(n - 1)]``, each call with native thread pools capped at ``threads``."""

    def fold_data(
        self, setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
    ) -> FoldData:
        """Fold ``i`` preprocessed for ``setup`` (the same data however it is obtained)."""

    def binned_fold(
        self, setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray,
        test_idx: np.ndarray, key: lgbm.DatasetKey,
    ) -> lgbm.BinnedFold:
        """Fold ``i`` preprocessed and binned for LightGBM (the same bins however it is obtained)."""


class SequentialEnv:
    """Folds one after the other in the calling thread, nothing reused between trials."""

    live: LiveStore | None = None

    def map_folds(self, fn: Any, n: int, threads: int) -> list[Any]:
        with thread_limit(threads):
            return [fn(i) for i in range(n)]

    def fold_data(
        self, setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
    ) -> FoldData:
        return prepare_fold(setup, X, y, train_idx, test_idx)

    def binned_fold(
        self, setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray,
        test_idx: np.ndarray, key: lgbm.DatasetKey,
    ) -> lgbm.BinnedFold:
        return bin_fold(setup, prepare_fold(setup, X, y, train_idx, test_idx), key)

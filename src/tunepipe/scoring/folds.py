"""A trial's folds as the model family takes them: subsampled (``n_samples``), preprocessed, binned."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import resample

from tunepipe import lgbm
from tunepipe.models import Task
from tunepipe.scoring.spec import TrialSetup


def subsample(train_idx: np.ndarray, y: pd.Series, fraction: float, task: Task, seed: int) -> np.ndarray:
    """The ``n_samples`` resource: a seeded, stratified (for classification) subset of a training fold.

    As scikit-learn's halving search, each fold keeps ``int(fraction * len(train_idx))`` rows.
    """
    n = int(fraction * len(train_idx))
    if n >= len(train_idx):
        return train_idx
    stratify = None if task == "regression" else y.iloc[train_idx].to_numpy()
    try:
        return np.sort(resample(train_idx, replace=False, n_samples=n, random_state=seed, stratify=stratify))
    except ValueError:
        # Too few rows to stratify (a class would get zero rows): fall back to a plain subsample.
        return np.sort(resample(train_idx, replace=False, n_samples=n, random_state=seed))


@dataclass
class FoldData:
    """One fold, preprocessed: the preprocessing step fitted on the fold's training rows only."""

    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series


def prepare_fold(
    setup: TrialSetup, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
) -> FoldData:
    """One fold preprocessed for ``setup``'s model family (fitted on the fold's training rows)."""
    prep = setup.pipeline({})[:-1]
    X_train = prep.fit_transform(X.iloc[train_idx])
    return FoldData(X_train, y.iloc[train_idx], prep.transform(X.iloc[test_idx]), y.iloc[test_idx])


def bin_fold(setup: TrialSetup, data: FoldData, key: lgbm.DatasetKey) -> lgbm.BinnedFold:
    """A preprocessed fold binned for LightGBM with Dataset parameters ``key``."""
    return lgbm.BinnedFold(
        data.X_train, data.y_train, data.X_test, data.y_test, task=setup.spec.task, key=key, threads=setup.run.threads
    )

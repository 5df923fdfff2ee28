"""Execution machinery of the process that runs trials: the shared fold pool, native thread limits,
the cache of preprocessed folds and the live models of continued boosting.

Process-wide state lives here and only here; :mod:`tunepipe.trial` evaluates a trial with whatever
:class:`~tunepipe.trial.TrialEnv` it is given, and gets the same scores from any of them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from tunepipe import boosting
from tunepipe.threads import thread_limit
from tunepipe.trial import FoldData, TrialSetup, prepare_fold

R = TypeVar("R")


def _gather(jobs: list[Future[R]]) -> list[R]:
    """The jobs' results in order.

    Waits in short slices, not in one blocking call, so that a task timeout (raised in this
    thread between bytecodes) interrupts the wait; the trial's folds not yet started are then
    cancelled, and the ones running finish but are not used.
    """
    try:
        while wait(jobs, timeout=0.25).not_done:
            pass
        return [job.result() for job in jobs]
    except BaseException:
        for job in jobs:
            job.cancel()
        raise


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def fold_pool(size: int) -> ThreadPoolExecutor:
    """The process's pool of ``size`` threads that fits folds for every trial.

    Trials hand their folds to one shared pool instead of each fitting its own: the unit of work
    is a fold, as in scikit-learn's search, so while any trial has folds left no core idles, also
    at the end of a rung when fewer trials than workers remain. LightGBM and scikit-learn's tree
    fitting release the GIL, so threads run in parallel.
    """
    with _POOLS_LOCK:
        if size not in _POOLS:
            _POOLS[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="tunepipe-fold")
        return _POOLS[size]


# Preprocessed folds of this process, shared by every trial on the same split: preprocessing does
# not depend on the configuration, so fitting it once per fold (not once per trial) gives the same data.
_FOLDS: OrderedDict[tuple[Any, ...], FoldData] = OrderedDict()
_FOLDS_LOCK = threading.Lock()
_FOLDS_MAX = 32  # n_splits x the distinct row counts of an n_samples search, with room


def cached_fold(
    setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
) -> FoldData:
    """Fold ``i`` preprocessed for ``setup``'s model family, computed once per process and split."""
    if not setup.data_fingerprint:  # without a fingerprint the split has no name to cache it under
        return prepare_fold(setup, X, y, train_idx, test_idx)
    key = (setup.data_fingerprint, i, len(train_idx), setup.preprocessing, setup.numeric, setup.categorical)
    with _FOLDS_LOCK:
        if key in _FOLDS:
            return _FOLDS[key]
    data = prepare_fold(setup, X, y, train_idx, test_idx)
    with _FOLDS_LOCK:
        _FOLDS[key] = data
        while len(_FOLDS) > _FOLDS_MAX:
            _FOLDS.popitem(last=False)
    return data


class ProcessEnv:
    """The trial environment of a process that runs many trials: folds on the shared pool of
    ``fold_workers`` threads (1: in the trial's own thread), preprocessed folds cached, live models
    kept for continued boosting when ``setup.continue_boosting``."""

    def __init__(self, fold_workers: int = 1) -> None:
        self.fold_workers = fold_workers
        self.live = boosting.LIVE

    def map_folds(self, fn: Callable[[int], R], n: int, threads: int) -> list[R]:
        def limited(i: int) -> R:
            with thread_limit(threads):
                return fn(i)

        if self.fold_workers > 1:
            pool = fold_pool(self.fold_workers)
            return _gather([pool.submit(limited, i) for i in range(n)])
        return [limited(i) for i in range(n)]

    def fold_data(
        self, setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
    ) -> FoldData:
        return cached_fold(setup, i, X, y, train_idx, test_idx)


def release_live_models() -> None:
    """Free every live model of continued boosting (the search that needed them is over)."""
    boosting.LIVE.keep_only([])

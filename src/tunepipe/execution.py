"""Execution machinery of the process that runs trials: the splits it has loaded (or received as
bytes), the shared fold pool, the caches of preprocessed and binned folds, and the live boosters
of continued boosting.

Process-wide state lives here and only here; :mod:`tunepipe.scoring` scores a trial with whatever
:class:`~tunepipe.scoring.env.TrialEnv` it is given, and gets the same scores from any of them.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from tunepipe import io, lgbm
from tunepipe.data import Prepared, folds_from_plan
from tunepipe.threads import thread_limit
from tunepipe.scoring.folds import FoldData, bin_fold, prepare_fold
from tunepipe.scoring.spec import TrialSetup

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


class _Cache:
    """A small least-recently-used map, safe across threads; ``get`` computes what is missing.

    Two threads asking for the same missing key may both compute it (the same value); holding the
    lock while computing would serialise every fold of every trial on a miss.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], R]) -> R:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def drop(self, key: Callable[[Any], bool]) -> None:
        """Drop every item whose key ``key`` accepts."""
        with self._lock:
            for k in [k for k in self._items if key(k)]:
                del self._items[k]


class SplitStore:
    """The splits this process reads, each loaded once: from the flow's disk, or from bytes the
    flow shipped (a cluster worker that cannot read that disk)."""

    def __init__(self, size: int = 4) -> None:
        self._received: dict[io.SplitRef, dict[str, bytes]] = {}
        self._loaded = _Cache(size)
        self._folds = _Cache(size)

    def receive(self, ref: io.SplitRef, files: dict[str, bytes]) -> None:
        """Make :meth:`load` of ``ref`` read ``files`` instead of ``ref.path``."""
        self._received[ref] = files

    def load(self, ref: io.SplitRef) -> Prepared:
        """The split (the fingerprint in ``ref`` keys the cache)."""
        return self._loaded.get(ref, lambda: io.parse_split(self._received.get(ref) or io.split_files(ref)))

    def folds(self, ref: io.SplitRef) -> list[tuple[np.ndarray, np.ndarray]]:
        """The split's (train_idx, test_idx) pairs."""
        return self._folds.get(ref, lambda: folds_from_plan(self.load(ref).fold))

    def forget(self, ref: io.SplitRef) -> None:
        """Drop the split's received bytes and loaded copies."""
        self._received.pop(ref, None)
        self._loaded.drop(lambda key: key == ref)
        self._folds.drop(lambda key: key == ref)

    def held(self) -> int:
        """How many splits are received or loaded."""
        return len(set(self._received) | set(self._loaded._items) | set(self._folds._items))


SPLITS = SplitStore()


def load_split(ref: io.SplitRef) -> Prepared:
    """The split ``ref``, loaded once per process (:data:`SPLITS`)."""
    return SPLITS.load(ref)


def load_folds(ref: io.SplitRef) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train_idx, test_idx) pairs of the split ``ref``, computed once per process."""
    return SPLITS.folds(ref)


# Preprocessed folds of this process, shared by every trial on the same split: preprocessing does
# not depend on the configuration, so fitting it once per fold (not once per trial) gives the same
# data. Binned folds likewise, per set of Dataset parameters (tunepipe.lgbm.dataset_params).
# n_splits x the distinct row counts of an n_samples search, with room.
_FOLDS = _Cache(32)
_BINNED = _Cache(32)


def _fold_key(setup: TrialSetup, i: int, train_idx: np.ndarray) -> tuple[Any, ...] | None:
    """What names a fold of a split for a model family (None: an unnamed split, not cached)."""
    spec = setup.spec
    if not spec.data_fingerprint:
        return None
    return (spec.data_fingerprint, i, len(train_idx), spec.preprocessing, spec.numeric, spec.categorical)


def cached_fold(
    setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
) -> FoldData:
    """Fold ``i`` preprocessed for ``setup``'s model family, computed once per process and split."""
    key = _fold_key(setup, i, train_idx)
    compute = lambda: prepare_fold(setup, X, y, train_idx, test_idx)  # noqa: E731
    return compute() if key is None else _FOLDS.get(key, compute)


def cached_binned_fold(
    setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray,
    dataset_key: lgbm.DatasetKey,
) -> lgbm.BinnedFold:
    """Fold ``i`` binned for LightGBM with ``dataset_key``, once per process, split and thread count.

    Preprocessed on the way (not kept: once binned, LightGBM needs only the bins).
    """
    key = _fold_key(setup, i, train_idx)
    compute = lambda: bin_fold(setup, prepare_fold(setup, X, y, train_idx, test_idx), dataset_key)  # noqa: E731
    return compute() if key is None else _BINNED.get((*key, dataset_key, setup.run.threads), compute)


class LiveBoosters:
    """Live boosters by (configuration, fold), within a byte budget, least recently stored dropped first."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._boosters: OrderedDict[tuple[str, int], tuple[lgbm.LiveBooster, int]] = OrderedDict()
        self._bytes = 0
        # Every booster stored, also while a trial has taken it (no copy: the same objects), for
        # a schedule's member that copies another's trees (peek). Dropped with the store's own.
        self._known: dict[tuple[str, int], lgbm.LiveBooster] = {}
        self._lock = threading.Lock()

    def peek(self, key: tuple[str, int]) -> lgbm.LiveBooster | None:
        """The booster stored under ``key``, taken or not (None if there is none or it was dropped)."""
        with self._lock:
            return self._known.get(key)

    def take(self, key: tuple[str, int]) -> lgbm.LiveBooster | None:
        """Remove and return the booster stored under ``key`` (None if there is none)."""
        with self._lock:
            found = self._boosters.pop(key, None)
            if found is None:
                return None
            self._bytes -= found[1]
            return found[0]

    def put(self, key: tuple[str, int], booster: lgbm.LiveBooster) -> None:
        """Store ``booster`` under ``key``, dropping the least recently stored beyond the budget."""
        nbytes = booster.estimated_bytes()
        if nbytes > self.budget_bytes:
            return
        with self._lock:
            old = self._boosters.pop(key, None)
            self._bytes += nbytes - (old[1] if old else 0)
            self._boosters[key] = (booster, nbytes)
            self._known[key] = booster
            while self._bytes > self.budget_bytes:
                evicted, (_, dropped) = self._boosters.popitem(last=False)
                self._known.pop(evicted, None)
                self._bytes -= dropped

    def drop(self, lineage: Callable[[str], bool]) -> None:
        """Drop every booster whose configuration's lineage key ``lineage`` accepts."""
        with self._lock:
            for key in [k for k in self._boosters if lineage(k[0])]:
                self._bytes -= self._boosters.pop(key)[1]
            for key in [k for k in self._known if lineage(k[0])]:
                del self._known[key]

    def __len__(self) -> int:
        return len(self._boosters)

    @property
    def nbytes(self) -> int:
        return self._bytes


# 1 GiB: the first rungs of a big search hold many live boosters at once; beyond this, trials of
# the next budget start again from scratch (same scores, only slower).
LIVE = LiveBoosters(budget_bytes=1024**3)


class ProcessEnv:
    """The trial environment of a process that runs many trials: folds on the shared pool of
    ``fold_workers`` threads (1: in the trial's own thread), preprocessed and binned folds cached,
    live boosters kept for continued boosting when ``setup.run.continue_boosting``."""

    def __init__(self, fold_workers: int = 1) -> None:
        self.fold_workers = fold_workers
        self.live = LIVE

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

    def binned_fold(
        self, setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray,
        test_idx: np.ndarray, key: lgbm.DatasetKey,
    ) -> lgbm.BinnedFold:
        return cached_binned_fold(setup, i, X, y, train_idx, test_idx, key)


def release_live_models(lineages: set[str] | None = None) -> None:
    """Free the live boosters of the configurations in ``lineages`` (None: of every one).

    A search frees only its own configurations' boosters (a second search in the same process
    keeps its), those it will not run again as it goes and all of them when it ends.
    """
    LIVE.drop(lambda lineage: lineages is None or lineage in lineages)


def forget_split(ref: io.SplitRef) -> None:
    """Free what this process holds for the split ``ref``: its received bytes and loaded copy,
    its preprocessed and binned folds and the live boosters grown on it (a long-lived worker
    returns to its baseline)."""
    fingerprint = ref.fingerprint
    SPLITS.forget(ref)
    _FOLDS.drop(lambda key: key[0] == fingerprint)
    _BINNED.drop(lambda key: key[0] == fingerprint)
    LIVE.drop(lambda lineage: json.loads(lineage).get("data") == fingerprint)


def shutdown_fold_pools() -> None:
    """Stop the fold pools' threads (a later search starts new ones)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=False, cancel_futures=True)  # its threads end after their current fold

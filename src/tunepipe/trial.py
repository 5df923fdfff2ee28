"""One trial: one candidate at one resource level, fitted and scored on every fold."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cached_property, lru_cache
from importlib.metadata import version
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMModel
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline
from sklearn.utils import resample
from threadpoolctl import ThreadpoolController

from tunepipe import boosting, models
from tunepipe.config import Config, Task
from tunepipe.data import Prepared
from tunepipe.models import REGISTRY, build_pipeline, resource_param
from tunepipe.search import Candidate, TrialResult


@dataclass(frozen=True)
class TrialSetup:
    """Everything a trial needs besides the data and the candidate (small, cheap to ship to a worker)."""

    kind: str
    task: Task
    fixed_params: dict[str, Any]
    scoring: str
    resource: str
    seed: int
    threads: int
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    score_best_iteration: bool = False
    # Fold fits run on a pool of this many threads shared by all trials of the process (see
    # fold_pool); 1 fits the folds in the trial's own thread. Never changes scores.
    fold_workers: int = 1
    # Boost a promoted candidate on from its previous rung's live model (tunepipe.boosting).
    continue_boosting: bool = False
    # The split's fingerprint: names a candidate's live models together with its params.
    data_fingerprint: str = ""

    @property
    def iteration_kwarg(self) -> str | None:
        """The predict keyword that scores a boosting model at fewer rounds, when that is wanted."""
        if not (self.score_best_iteration and self.resource == "n_estimators"):
            return None
        return REGISTRY[self.kind].iteration_kwarg

    def pipeline(self, params: dict[str, Any], n_resources: int | None = None) -> Pipeline:
        """Unfitted pipeline for ``params``; ``n_resources`` sets the resource parameter if it is one."""
        merged = {**self.fixed_params, **params}
        param = resource_param(self.kind, self.resource)
        if param is not None and n_resources is not None:
            merged[param] = n_resources
        return build_pipeline(
            self.kind, self.task, list(self.numeric), list(self.categorical), merged,
            seed=self.seed, threads=self.threads,
        )


    def estimator(self, params: dict[str, Any], n_resources: int | None = None) -> Any:
        """Unfitted estimator alone (the pipeline's last step), for data already preprocessed."""
        return self.pipeline(params, n_resources)[-1]


def make_setup(cfg: Config, split: Prepared, threads: int, fingerprint: str = "") -> TrialSetup:
    """The trial setup for ``cfg`` on a written split (its task, feature columns and fingerprint)."""
    continuable = cfg.search.resource == "n_estimators" and REGISTRY[cfg.model.kind].continuable
    return TrialSetup(
        kind=cfg.model.kind,
        task=split.task,
        fixed_params=dict(cfg.model.params),
        scoring=cfg.search.scoring,
        resource=cfg.search.resource,
        seed=cfg.base.seed,
        threads=threads,
        numeric=tuple(split.numeric),
        categorical=tuple(split.categorical),
        score_best_iteration=cfg.search.score_best_iteration,
        continue_boosting=cfg.execution.continue_boosting and continuable,
        data_fingerprint=fingerprint,
    )


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


def checkpoints(n_resources: int) -> list[int]:
    """Round counts at which a boosting trial is scored: about doubling up to ``n_resources`` (last).

    Prediction with k rounds costs k, so doubling keeps all checkpoints together under about
    twice the cost of scoring the full model once.
    """
    n_points = int(np.ceil(np.log2(max(n_resources, 2)))) + 1
    grid = np.geomspace(1, n_resources, n_points).astype(int)
    return sorted({int(k) for k in grid if k >= 1} | {n_resources})


class FirstRounds:
    """A fitted boosting estimator seen through its first ``k`` rounds, for a scikit-learn scorer."""

    def __init__(self, model: Any, k: int, kwarg: str) -> None:
        self._model, self._kw = model, {kwarg: k}

    @property
    def classes_(self) -> np.ndarray:
        return self._model.classes_

    def __sklearn_tags__(self) -> Any:
        return self._model.__sklearn_tags__()

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._model.predict(X, **self._kw)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._model.predict_proba(X, **self._kw)


class LightGBMFirstRounds(FirstRounds):
    """:class:`FirstRounds` for LightGBM on rows already converted (``boosting.numeric_view``).

    Asks the booster directly, as the scikit-learn wrapper does (a binary model's probability
    becomes two columns, classes are the argmax), without the wrapper's per-call checks, which
    would warn from the fold pool's threads that the rows have no column names.
    """

    def __init__(self, model: Any, k: int, threads: int) -> None:
        super().__init__(model, k, "num_iteration")
        self._k = k
        # Always the trial's thread count, as the wrapper passes n_jobs: LightGBM keeps its
        # default thread count in a process-wide variable that every fit and predict sets, and a
        # predict without num_threads (OpenMP's default) racing with fits at 1 thread in other
        # fold threads crashed the process once (a segfault, bundled data, 2 workers).
        self._threads = threads

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self._model.booster_.predict(X, num_iteration=self._k, num_threads=self._threads)
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p

    def predict(self, X: Any) -> np.ndarray:
        if isinstance(self._model, LGBMClassifier):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._model.booster_.predict(X, num_iteration=self._k, num_threads=self._threads)


def evaluate_candidate(
    candidate: Candidate,
    X: pd.DataFrame,
    y: pd.Series,
    folds: list[tuple[np.ndarray, np.ndarray]],
    setup: TrialSetup,
    n_train: int,
) -> TrialResult:
    """Fit and score ``candidate`` on every fold.

    With ``setup.iteration_kwarg`` (boosting, resource ``n_estimators``), each fold is also scored
    at fewer rounds, and the trial reports the round count with the best mean CV score (as
    ``lgb.cv`` with early stopping would): a high learning rate that wins at 10 rounds is then
    compared at its best size, not punished or rewarded for a budget it does not need.

    A fold that raises makes the trial ``failed`` with the error message and NaN scores (as
    scikit-learn's ``error_score=np.nan``); the search goes on.
    """
    scorer = get_scorer(setup.scoring)
    fraction = candidate.n_resources / n_train if setup.resource == "n_samples" else 1.0
    kwarg = setup.iteration_kwarg
    points = checkpoints(candidate.n_resources) if kwarg else [candidate.n_resources]

    lineage = lineage_key(candidate, setup) if setup.continue_boosting else ""

    def fold(i: int, train_idx: np.ndarray, test_idx: np.ndarray) -> tuple[list[float], float, float]:
        """One fold: (score at each checkpoint, fit seconds, score seconds)."""
        # Caps every native thread pool (OpenMP, BLAS) the model uses to this trial's budget, in
        # the thread that fits: OpenMP's limit is per thread, so a limit set in the trial's thread
        # would not reach the fold pool's.
        with _native_pools().limit(limits=setup.threads):
            return _fold(i, train_idx, test_idx)

    def _fold(i: int, train_idx: np.ndarray, test_idx: np.ndarray) -> tuple[list[float], float, float]:
        if fraction < 1.0:
            train_idx = subsample(train_idx, y, fraction, setup.task, setup.seed)
        data = fold_data(setup, i, X, y, train_idx, test_idx)
        t0 = time.perf_counter()
        if lineage:
            model = _fit_or_continue(candidate, setup, (lineage, i), data)
        else:
            model = setup.estimator(candidate.params, candidate.n_resources).fit(data.X_train, data.y_train)
        t1 = time.perf_counter()
        if kwarg:
            # Each checkpoint costs only its k rounds of prediction, on rows converted once.
            if isinstance(model, LGBMModel):
                views = [LightGBMFirstRounds(model, k, setup.threads) for k in points]
                X_eval = data.X_test_numeric
            else:
                views = [FirstRounds(model, k, kwarg) for k in points]
                X_eval = data.X_test
            curve = [float(scorer(view, X_eval, data.y_test)) for view in views]
        else:
            curve = [float(scorer(model, data.X_test, data.y_test))]
        return curve, t1 - t0, time.perf_counter() - t1

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if setup.fold_workers > 1:
                pool = fold_pool(setup.fold_workers)
                jobs = [pool.submit(fold, i, train_idx, test_idx) for i, (train_idx, test_idx) in enumerate(folds)]
                done = _gather(jobs)
            else:
                done = [fold(i, train_idx, test_idx) for i, (train_idx, test_idx) in enumerate(folds)]
    except Exception as exc:  # noqa: BLE001 - any model error is a failed trial, not a failed search
        return TrialResult(
            candidate,
            tuple(math.nan for _ in folds),
            status="failed",
            error=f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
        )
    curves = [curve for curve, _, _ in done]  # per fold, the score at each checkpoint
    fit_times = [fit for _, fit, _ in done]
    score_times = [score for _, _, score in done]
    table = np.asarray(curves)  # folds x checkpoints
    mean = table.mean(axis=0)
    # argmax takes the first (fewest rounds) of equal means; an all-NaN curve keeps the budget.
    best = int(np.nanargmax(mean)) if not np.isnan(mean).all() else len(points) - 1
    return TrialResult(
        candidate,
        tuple(float(v) for v in table[:, best]),
        tuple(fit_times),
        tuple(score_times),
        best_resources=points[best] if kwarg else None,
    )


@lru_cache(maxsize=1)
def _native_pools() -> ThreadpoolController:
    """The process's native thread pools (OpenMP, BLAS), found once: a fresh
    ``threadpool_limits`` looks them up again at every call (4 ms, per fold)."""
    return ThreadpoolController()


def _gather(jobs: list[Future[Any]]) -> list[Any]:
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


@dataclass
class FoldData:
    """One fold, preprocessed: the preprocessing step fitted on the fold's training rows only."""

    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series

    @cached_property
    def X_test_numeric(self) -> np.ndarray:
        """The test rows as LightGBM predicts on them, converted once (boosting.numeric_view)."""
        return boosting.numeric_view(self.X_test)


# Preprocessed folds of this process, shared by every trial on the same split: preprocessing does
# not depend on the candidate, so fitting it once per fold (not once per trial) gives the same data.
_FOLDS: OrderedDict[tuple[Any, ...], FoldData] = OrderedDict()
_FOLDS_LOCK = threading.Lock()
_FOLDS_MAX = 32  # n_splits x the distinct row counts of an n_samples search, with room


def fold_data(
    setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
) -> FoldData:
    """Fold ``i`` preprocessed for ``setup``'s model family, computed once per process and split."""
    spec = REGISTRY[setup.kind]
    key = (setup.data_fingerprint, i, len(train_idx), spec.preprocessing, setup.numeric, setup.categorical)
    if setup.data_fingerprint:
        with _FOLDS_LOCK:
            if key in _FOLDS:
                return _FOLDS[key]
    prep = setup.pipeline({})[:-1]
    X_train = prep.fit_transform(X.iloc[train_idx])
    data = FoldData(X_train, y.iloc[train_idx], prep.transform(X.iloc[test_idx]), y.iloc[test_idx])
    if setup.data_fingerprint:  # without a fingerprint the split has no name to cache it under
        with _FOLDS_LOCK:
            _FOLDS[key] = data
            while len(_FOLDS) > _FOLDS_MAX:
                _FOLDS.popitem(last=False)
    return data


def _fit_or_continue(candidate: Candidate, setup: TrialSetup, key: tuple[str, int], data: FoldData) -> Any:
    """The fold's model at ``candidate.n_resources`` rounds: boosted on from its live model of an
    earlier rung when there is one, else fitted from scratch (keeping the booster for the next rung).
    """
    model = boosting.LIVE.take(key)
    if model is not None and boosting.rounds(model) <= candidate.n_resources:
        boosting.extend(model, candidate.n_resources)
    else:
        model = boosting.fit_keeping_booster(
            setup.estimator(candidate.params, candidate.n_resources), data.X_train, data.y_train
        )
    boosting.LIVE.put(key, model, boosting.size_bytes(*data.X_train.shape))
    return model


def lineage_key(candidate: Candidate, setup: TrialSetup) -> str:
    """What names a candidate's live models across rungs: its trial key at no particular resource."""
    return trial_key(dataclasses.replace(candidate, id=0, rung=0, n_resources=0), setup.data_fingerprint, setup)


def release_live_models(keep: list[Candidate], setup: TrialSetup) -> None:
    """Free the live models of every candidate not in ``keep`` (those the search dropped)."""
    boosting.LIVE.keep_only(lineage_key(c, setup) for c in keep)


def refit(setup: TrialSetup, params: dict[str, Any], X: pd.DataFrame, y: pd.Series, n_resources: int | None) -> Pipeline:
    """Fit ``params`` on all training rows at the maximum resource."""
    model = setup.pipeline(params, n_resources)
    with _native_pools().limit(limits=setup.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


# The libraries whose version can change a trial's scores.
KEY_LIBRARIES = ("lightgbm", "scikit-learn", "numpy", "pandas", "scipy")


@lru_cache(maxsize=1)
def _code_version() -> str:
    """Library versions and a hash of the code that computes a trial's scores (this module, models)."""
    parts = [f"python {sys.version_info[:2]}"] + [f"{lib} {version(lib)}" for lib in KEY_LIBRARIES]
    parts += [inspect.getsource(sys.modules[__name__]), inspect.getsource(models)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def trial_key(candidate: Candidate, data_fingerprint: str, setup: TrialSetup) -> str:
    """The trial cache key: what determines a trial's scores, and nothing else.

    Made of the split's fingerprint (data and fold plan), the model kind, task, fixed params,
    scorer, resource, seed and feature columns, the candidate's params and resource level, and the
    library and code versions. Not the candidate's id or rung, nor the thread count: the same
    params at the same resource give the same scores in any search that asks for them (so a larger
    ``n_candidates`` reuses every trial already run), with any number of threads.
    """
    fields = {
        "data": data_fingerprint,
        "kind": setup.kind, "task": setup.task, "fixed": setup.fixed_params, "scoring": setup.scoring,
        "resource": setup.resource, "seed": setup.seed, "numeric": setup.numeric,
        "categorical": setup.categorical, "iteration": setup.iteration_kwarg,
        "params": candidate.params, "n_resources": candidate.n_resources, "code": _code_version(),
    }
    # sort_keys: the key must not depend on the order params.yaml lists the space in.
    text = json.dumps(fields, sort_keys=True, default=repr)
    return f"trial-{hashlib.sha256(text.encode()).hexdigest()[:32]}"

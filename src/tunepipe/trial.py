"""One trial: one configuration at one budget, fitted and scored on every fold (pure evaluation).

Where folds run, how preprocessed folds are cached and where live models of continued boosting are
kept is the caller's :class:`TrialEnv` (:mod:`tunepipe.execution` for the flow's processes); the
scores do not depend on it.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMModel
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline
from sklearn.utils import resample

from tunepipe import boosting
from tunepipe.config import Config, Task
from tunepipe.data import Prepared
from tunepipe.models import REGISTRY, build_pipeline, resource_param
from tunepipe.results import Observation, Trial
from tunepipe.threads import thread_limit


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

    @property
    def preprocessing(self) -> str:
        """How the model family preprocesses features (the fold cache's key)."""
        return REGISTRY[self.kind].preprocessing

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


def prepare_fold(
    setup: TrialSetup, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
) -> FoldData:
    """One fold preprocessed for ``setup``'s model family (fitted on the fold's training rows)."""
    prep = setup.pipeline({})[:-1]
    X_train = prep.fit_transform(X.iloc[train_idx])
    return FoldData(X_train, y.iloc[train_idx], prep.transform(X.iloc[test_idx]), y.iloc[test_idx])


class TrialEnv(Protocol):
    """Where a trial's folds run and what they may reuse (:mod:`tunepipe.execution`)."""

    live: boosting.LiveModels | None

    def map_folds(self, fn: Any, n: int, threads: int) -> list[Any]:
        """``[fn(0), ..., fn(n - 1)]``, each call with native thread pools capped at ``threads``."""

    def fold_data(
        self, setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
    ) -> FoldData:
        """Fold ``i`` preprocessed for ``setup`` (the same data however it is obtained)."""


class SequentialEnv:
    """Folds one after the other in the calling thread, nothing reused between trials."""

    live: boosting.LiveModels | None = None

    def map_folds(self, fn: Any, n: int, threads: int) -> list[Any]:
        return [fn(i) for i in range(n)]

    def fold_data(
        self, setup: TrialSetup, i: int, X: pd.DataFrame, y: pd.Series, train_idx: np.ndarray, test_idx: np.ndarray
    ) -> FoldData:
        return prepare_fold(setup, X, y, train_idx, test_idx)


def evaluate_trial(
    trial: Trial,
    X: pd.DataFrame,
    y: pd.Series,
    folds: list[tuple[np.ndarray, np.ndarray]],
    setup: TrialSetup,
    n_train: int,
    env: TrialEnv | None = None,
) -> Observation:
    """Fit and score ``trial`` on every fold.

    With ``setup.iteration_kwarg`` (boosting, resource ``n_estimators``), each fold is also scored
    at fewer rounds, and the trial reports the round count with the best mean CV score (as
    ``lgb.cv`` with early stopping would): a high learning rate that wins at 10 rounds is then
    compared at its best size, not punished or rewarded for a budget it does not need.

    A fold that raises makes the trial ``failed`` with the error message and NaN scores (as
    scikit-learn's ``error_score=np.nan``); the search goes on.
    """
    env = env or SequentialEnv()
    scorer = get_scorer(setup.scoring)
    fraction = trial.budget / n_train if setup.resource == "n_samples" else 1.0
    kwarg = setup.iteration_kwarg
    points = checkpoints(trial.budget) if kwarg else [trial.budget]
    lineage = lineage_key(trial.params, setup) if setup.continue_boosting and env.live is not None else ""

    def fold(i: int) -> tuple[list[float], float, float]:
        """One fold: (score at each checkpoint, fit seconds, score seconds)."""
        train_idx, test_idx = folds[i]
        if fraction < 1.0:
            train_idx = subsample(train_idx, y, fraction, setup.task, setup.seed)
        data = env.fold_data(setup, i, X, y, train_idx, test_idx)
        t0 = time.perf_counter()
        if lineage:
            assert env.live is not None
            model = _fit_or_continue(trial, setup, env.live, (lineage, i), data)
        else:
            model = setup.estimator(trial.params, trial.budget).fit(data.X_train, data.y_train)
        t1 = time.perf_counter()
        if kwarg:
            # Each checkpoint costs only its k rounds of prediction, on rows converted once.
            if isinstance(model, LGBMModel):
                views: list[Any] = [LightGBMFirstRounds(model, k, setup.threads) for k in points]
                X_eval: Any = data.X_test_numeric
            else:
                views = [FirstRounds(model, k, kwarg) for k in points]
                X_eval = data.X_test
            curve = [float(scorer(view, X_eval, data.y_test)) for view in views]
        else:
            curve = [float(scorer(model, data.X_test, data.y_test))]
        return curve, t1 - t0, time.perf_counter() - t1

    try:
        done = env.map_folds(fold, len(folds), setup.threads)
    except Exception as exc:  # noqa: BLE001 - any model error is a failed trial, not a failed search
        return Observation(
            trial, tuple(math.nan for _ in folds), status="failed",
            error=f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
        )
    table = np.asarray([curve for curve, _, _ in done])  # folds x checkpoints
    mean = table.mean(axis=0)
    # argmax takes the first (fewest rounds) of equal means; an all-NaN curve keeps the budget.
    best = int(np.nanargmax(mean)) if not np.isnan(mean).all() else len(points) - 1
    return Observation(
        trial,
        tuple(float(v) for v in table[:, best]),
        best_budget=points[best] if kwarg else None,
        fit_times=tuple(fit for _, fit, _ in done),
        score_times=tuple(score for _, _, score in done),
    )


def _fit_or_continue(
    trial: Trial, setup: TrialSetup, live: boosting.LiveModels, key: tuple[str, int], data: FoldData
) -> Any:
    """The fold's model at ``trial.budget`` rounds: boosted on from its live model of an earlier
    rung when there is one, else fitted from scratch (keeping the booster for the next rung).
    """
    model = live.take(key)
    if model is not None and boosting.rounds(model) <= trial.budget:
        boosting.extend(model, trial.budget)
    else:
        model = boosting.fit_keeping_booster(setup.estimator(trial.params, trial.budget), data.X_train, data.y_train)
    live.put(key, model, boosting.size_bytes(*data.X_train.shape))
    return model


def lineage_key(params: dict[str, Any], setup: TrialSetup) -> str:
    """What names a configuration's live models across rungs: its params on this split and setup."""
    fields = {
        "data": setup.data_fingerprint, "kind": setup.kind, "task": setup.task, "fixed": setup.fixed_params,
        "seed": setup.seed, "resource": setup.resource, "params": params,
    }
    return json.dumps(fields, sort_keys=True, default=repr)


def refit_budget(observation: Observation, resource: str) -> int | None:
    """The resource level the winner is refit at: what its CV score was measured at.

    ``n_estimators``: the round count its scores belong to (its best one with best-iteration
    scoring, else its trial's budget). ``n_samples``: None, every training row (the resource only
    subsampled the CV folds).
    """
    return observation.scored_budget if resource == "n_estimators" else None


def refit(setup: TrialSetup, params: dict[str, Any], X: pd.DataFrame, y: pd.Series, n_resources: int | None) -> Pipeline:
    """Fit ``params`` on all training rows with ``n_resources`` (None: the estimator's own count)."""
    model = setup.pipeline(params, n_resources)
    with thread_limit(setup.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)

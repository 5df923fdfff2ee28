"""One trial: one configuration at one budget, fitted and scored on every fold (pure evaluation).

Where folds run, how preprocessed folds are cached and where live models of continued boosting are
kept is the caller's :class:`TrialEnv` (:mod:`tunepipe.execution` for the flow's processes); the
scores do not depend on it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline
from sklearn.utils import resample

from tunepipe import failures, lgbm
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
    # Boost a promoted configuration on from its previous budget's live boosters (tunepipe.lgbm).
    continue_boosting: bool = False
    # Stop a LightGBM trial once its mean CV score has not improved for this many rounds.
    early_stopping: int | None = None
    # The split's fingerprint: names a candidate's live models together with its params.
    data_fingerprint: str = ""

    @property
    def native_boosting(self) -> bool:
        """Whether trials train on LightGBM's native API (:mod:`tunepipe.lgbm`)."""
        return REGISTRY[self.kind].native_boosting

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
    continuable = cfg.search.resource == "n_estimators" and REGISTRY[cfg.model.kind].native_boosting
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
        early_stopping=cfg.search.early_stopping if continuable else None,
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
        data.X_train, data.y_train, data.X_test, data.y_test, task=setup.task, key=key, threads=setup.threads
    )


class LiveStore(Protocol):
    """Live boosters of continued boosting, by (configuration, fold) (:mod:`tunepipe.execution`)."""

    def take(self, key: tuple[str, int]) -> lgbm.LiveBooster | None:
        """Remove and return the booster stored under ``key`` (None if there is none)."""

    def put(self, key: tuple[str, int], booster: lgbm.LiveBooster) -> None:
        """Keep ``booster`` for a later trial of the same configuration."""


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

    LightGBM trains on its native API (:mod:`tunepipe.lgbm`): each fold binned once, every round
    scored on the fold's validation rows as it is added. With ``setup.score_best_iteration``
    (resource ``n_estimators``) the trial reports the round count with the best mean CV score, as
    ``lgb.cv`` does: a high learning rate that wins at 10 rounds is compared at its best size, not
    punished or rewarded for a budget it does not need. With ``setup.early_stopping`` the folds
    train in step and stop once the mean score has not improved for that many rounds.

    A fold whose estimator rejects its parameters or data makes the trial ``failed`` with the error
    message and NaN scores (as scikit-learn's ``error_score=np.nan``); the search goes on. So does
    a scorer that gives NaN. Running out of memory raises :class:`TrialResourceError` and an error
    in tunepipe's own code :class:`TrialBugError` (:mod:`tunepipe.failures`): neither is a result.
    """
    env = env or SequentialEnv()
    train_folds = folds
    if setup.resource == "n_samples" and trial.budget < n_train:
        fraction = trial.budget / n_train
        train_folds = [(subsample(tr, y, fraction, setup.task, setup.seed), te) for tr, te in folds]
    try:
        if setup.native_boosting:
            observation = _evaluate_boosted(trial, X, y, train_folds, setup, env)
        else:
            observation = _evaluate_fitted(trial, X, y, train_folds, setup, env)
    except Exception as exc:  # noqa: BLE001 - a model error is a failed trial, not a failed search
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        kind = failures.kind_of(exc)
        if kind == "resource":
            raise failures.TrialResourceError(f"{trial.label}: {message}") from exc
        if kind == "bug":
            raise failures.TrialBugError(f"{trial.label}: {message}") from exc
        return Observation(trial, tuple(math.nan for _ in folds), status="failed", error=message)
    nan = [k for k, s in enumerate(observation.fold_scores) if math.isnan(s)]
    if observation.status == "ok" and nan:
        return dataclasses.replace(
            observation, status="failed",
            error=f"the scorer {setup.scoring} gave NaN on fold{'s' if len(nan) > 1 else ''} "
                  f"{', '.join(map(str, nan))} (a class missing from a fold, or predictions it cannot score)",
        )
    return observation


def _stages(trial: Trial, n_folds: int) -> list[range]:
    """The folds in the order they run, in stages: after each stage but the last the trial's race
    (if any) decides whether it goes on (:meth:`tunepipe.search.racing.Race.looks`)."""
    looks = [k for k in (trial.race.looks() if trial.race is not None else ()) if k < n_folds]
    bounds = [0, *looks, n_folds]
    return [range(a, b) for a, b in zip(bounds, bounds[1:])]


def _pruned(trial: Trial, scores: tuple[float, ...], n_folds: int, best: int | None, seconds: list[float]) -> Observation:
    """A trial stopped after its first folds: their scores, NaN for the folds it never ran."""
    return Observation(
        trial, scores + (math.nan,) * (n_folds - len(scores)), best_budget=best, status="pruned",
        fit_times=tuple(seconds[: len(scores)]),
    )


def _evaluate_fitted(
    trial: Trial, X: pd.DataFrame, y: pd.Series, folds: list[tuple[np.ndarray, np.ndarray]],
    setup: TrialSetup, env: TrialEnv,
) -> Observation:
    """Any scikit-learn estimator: fit on each fold's training rows, score its validation rows."""
    scorer = get_scorer(setup.scoring)

    def fold(i: int) -> tuple[float, float]:
        data = env.fold_data(setup, i, X, y, *folds[i])
        t0 = time.perf_counter()
        model = setup.estimator(trial.params, trial.budget).fit(data.X_train, data.y_train)
        return float(scorer(model, data.X_test, data.y_test)), time.perf_counter() - t0

    done: list[tuple[float, float]] = []
    for stage in _stages(trial, len(folds)):
        done += env.map_folds(lambda j: fold(stage[j]), len(stage), setup.threads)
        scores = tuple(score for score, _ in done)
        if len(done) < len(folds) and trial.race is not None and trial.race.loses(scores):
            return _pruned(trial, scores, len(folds), None, [t for _, t in done])
    return Observation(trial, tuple(s for s, _ in done), fit_times=tuple(t for _, t in done))


def _evaluate_boosted(
    trial: Trial, X: pd.DataFrame, y: pd.Series, folds: list[tuple[np.ndarray, np.ndarray]],
    setup: TrialSetup, env: TrialEnv,
) -> Observation:
    """LightGBM: boosters on binned folds, advanced in step, scored every round.

    With a race, the folds of its first stage train first (in step, with early stopping on their
    own mean); then each later stage's folds are brought to the same round count, and after every
    stage the race decides whether the trial stops there. One that goes on continues exactly as
    an unraced trial: where it stops and what it scores do not depend on the race.

    With early stopping and a ``trial.ceiling``, a trial still improving at its budget goes on
    boosting until early stopping stops it or the ceiling is reached.
    """
    estimator = setup.estimator(trial.params, trial.budget)
    rounds = trial.budget if setup.resource == "n_estimators" else int(estimator.get_params()["n_estimators"])
    if setup.resource == "n_estimators" and setup.early_stopping is not None and trial.ceiling is not None:
        # Early stopping decides where the trial ends; its checks fall where they would with a
        # budget of `ceiling`, so the scores are those of a trial asked at the ceiling.
        rounds = max(rounds, trial.ceiling)
    key = lgbm.dataset_params(estimator.get_params())
    # Continued boosting: the same configuration's boosters of an earlier (smaller) budget.
    lineage = lineage_key(trial.params, setup) if setup.continue_boosting and env.live is not None else ""
    boosters: list[lgbm.LiveBooster | None] = [None] * len(folds)
    seconds = [0.0] * len(folds)
    patience = setup.early_stopping
    best_iteration = setup.score_best_iteration and setup.resource == "n_estimators"
    resumed = 0  # rounds every fold's live booster already has
    if lineage and trial.race is None:
        assert env.live is not None
        live = [env.live.take((lineage, i)) for i in range(len(folds))]
        counts = {b.rounds for b in live if b is not None}
        # Only boosters of one round count on every fold, not past this budget, can go on (a
        # fold evicted from the store, or a longer run of another search: start over).
        if None not in live and len(counts) == 1 and 0 < min(counts) <= rounds:
            boosters, resumed = live, min(counts)

    def advance(i: int, to_rounds: int) -> None:
        t0 = time.perf_counter()
        booster = boosters[i]
        if booster is None:
            fold = env.binned_fold(setup, i, X, y, *folds[i], key)
            booster = boosters[i] = lgbm.LiveBooster(fold, estimator, setup.scoring)
        booster.advance(to_rounds)
        seconds[i] += time.perf_counter() - t0

    def advance_all(ids: list[int], to_rounds: int) -> None:
        env.map_folds(lambda j: advance(ids[j], to_rounds), len(ids), setup.threads)

    def train(ids: list[int], done: int) -> int:
        """Advance folds ``ids`` in step from ``done`` rounds until early stopping or the budget.

        In step: every fold reaches the same round count before the mean curve is looked at, so
        where a trial stops depends only on its scores. The curve is looked at after rounds
        patience, 2 x patience, ... and the budget, whatever ``done`` it starts from (a promoted
        trial going on from its boosters stops where a fresh one would)."""
        while done < rounds:
            done = rounds if patience is None else min(rounds, (done // patience + 1) * patience)
            advance_all(ids, done)
            if patience is not None and done - _best_round([boosters[i] for i in ids], done)[0] >= patience:
                break
        return done

    def scores_at(ids: list[int], done: int) -> tuple[int | None, tuple[float, ...]]:
        chosen = [boosters[i] for i in ids]
        if best_iteration:
            return _best_round(chosen, done)
        # Scored where training ended: that is the round count a refit needs (None: the budget).
        at = done if setup.resource == "n_estimators" and done != trial.budget else None
        return at, tuple(float(b.curve[done - 1]) for b in chosen if b is not None)

    every = list(range(len(folds)))
    stages = _stages(trial, len(folds))
    if len(stages) == 1 and resumed:
        # Going on from a smaller budget: where a fresh trial would have stopped by now, if it
        # would have, is in the curves already; else only the extra rounds are trained.
        stopped = _first_stop([boosters[i] for i in every], resumed, patience, rounds)
        done = stopped if stopped is not None else train(every, resumed)
    elif len(stages) == 1:
        done = train(every, 0)
    else:
        done = train(list(stages[0]), 0)
        for stage in stages[1:]:
            ran = list(range(stage.start))
            best, scores = scores_at(ran, done)
            assert trial.race is not None
            if trial.race.loses(scores):
                return _pruned(trial, scores, len(folds), best, seconds)
            advance_all(list(stage), done)
        stopped = _first_stop([boosters[i] for i in every], done, patience, rounds)
        done = stopped if stopped is not None else train(every, done)
    if lineage:
        assert env.live is not None
        for i, booster in enumerate(boosters):
            assert booster is not None
            env.live.put((lineage, i), booster)
    best, scores = scores_at(every, done)
    return Observation(trial, scores, best_budget=best, fit_times=tuple(seconds))


def _first_stop(boosters: list[Any], trained: int, patience: int | None, rounds: int) -> int | None:
    """Where training every fold in step from round 0 would have stopped, if it stops by ``trained``
    (None: it would go on). Its checks fall at patience, 2 x patience, ... and the budget."""
    if patience is None:
        return rounds if trained >= rounds else None
    checks = list(range(patience, trained + 1, patience)) + ([rounds] if trained >= rounds else [])
    for check in checks:
        if check >= rounds or check - _best_round(boosters, check)[0] >= patience:
            return min(check, rounds)
    return None


def _best_round(boosters: list[Any], rounds: int) -> tuple[int, tuple[float, ...]]:
    """The round (1..rounds) with the best mean validation score, and the folds' scores there.

    Rounds not scored on every fold are skipped, and so, for a scorer not computed every round,
    are rounds off :func:`lgbm.on_grid` (the last round of an advance is scored too, but which
    rounds end an advance depends on the path); of equal means the fewest rounds win; an all-NaN
    curve (every fold failed to score) keeps the last round.
    """
    table = np.vstack([b.curve[:rounds] for b in boosters])  # folds x rounds
    if not all(b.metric.every_round for b in boosters):
        table[:, [not lgbm.on_grid(r) for r in range(1, table.shape[1] + 1)]] = np.nan
    mean = table.mean(axis=0)
    best = int(np.nanargmax(mean)) if not np.isnan(mean).all() else rounds - 1
    return best + 1, tuple(float(v) for v in table[:, best])


def lineage_key(params: dict[str, Any], setup: TrialSetup) -> str:
    """What names a configuration's live boosters across budgets: its params on this split and setup."""
    fields = {
        "data": setup.data_fingerprint, "kind": setup.kind, "task": setup.task, "fixed": setup.fixed_params,
        "seed": setup.seed, "resource": setup.resource, "threads": setup.threads, "scoring": setup.scoring,
        "params": params,
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
    # No warning filter: a convergence or data warning of the final fit is one a user needs.
    with thread_limit(setup.threads):
        return model.fit(X, y)

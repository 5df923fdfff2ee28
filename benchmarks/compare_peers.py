"""tunepipe vs. users' Optuna scripts, Optuna's LightGBMTunerCV and FLAML at equal wall time, next to LightGBM's defaults.

On each data set and for each seed (``--seeds``), back to back in one process tree, on 2 cores:

(a) tunepipe: ``tunepipe run`` with the repo's ``params.yaml`` (its default search, ``base.seed`` =
    the seed) in a temporary project, as a subprocess; its wall time is the budget of (b)-(e) unless
    ``--budget`` is given.
(b) "Optuna plain", as a user would write it: a seeded TPE study of 5-fold
    ``cross_val_score(n_jobs=2)`` of the same preprocessing + LightGBM pipeline as tunepipe's trials
    (``tunepipe.models.build_pipeline``, so categoricals are treated alike), tuning ``n_estimators``
    (20-1000) and tunepipe's default LightGBM space, stopped at the budget (``timeout``); the best
    parameters are refit on the training rows.
(c) "Optuna + lightgbm.cv early stop", a stronger user script: a seeded TPE study of native
    ``lightgbm.cv`` on tunepipe's folds with ``early_stopping(50)``, on one ``lightgbm.Dataset`` of
    the training rows preprocessed as in (b), tuning tunepipe's default LightGBM space (the round
    count comes from early stopping, up to the most a tunepipe trial may train: ``search.max_resources``
    times ``tunepipe.search.EXTEND_FACTOR`` with early stopping; else 1000), stopped at the budget;
    the best trial's parameters are refit with ``lightgbm.train`` at its best round count.
(d) "LightGBMTunerCV": ``optuna_integration.lightgbm.LightGBMTunerCV`` (its stepwise search of
    feature_fraction, num_leaves, bagging, regularisation, min_child_samples; learning rate 0.1) on
    the same Dataset, folds, early stopping and round cap as (c), ``time_budget`` = the budget; the
    best parameters are refit at their best round count.
(e) "FLAML": ``AutoML(estimator_list=["lgbm"], eval_method="cv", n_splits=5, time_budget=<budget>,
    n_jobs=2)``, with its own search space, preprocessing and final refit.
(f) "LightGBM defaults (100 rounds)": tunepipe's ``baseline_score`` on the holdout, and their CV
    score on tunepipe's folds; next to it, tunepipe's defaults' trial (trial 0: the defaults with
    early stopping): its CV score, round count and holdout score from ``metrics/``, where present.

Every method is fitted on the training rows of the split tunepipe wrote and scored once on its
holdout rows with the scikit-learn scorer of ``search.scoring`` (greater is better; FLAML's and
LightGBM's losses are converted). (b), (c), (d) and the defaults use tunepipe's fold plan, so their
best CV scores compare with tunepipe's; FLAML makes its own 5 folds. Per data set, the mean and
standard deviation over seeds of tunepipe's holdout minus the best peer's of that seed closes the
output. The seed also changes tunepipe's split, so holdout scores compare within a seed only.

    pip install -e '.[bench]'
    python benchmarks/compare_peers.py [--sets tv16 diamonds] [--seeds 0 1 2 | --seed 42] [--rows N]
                                       [--quick] [--budget SECONDS] [-S search.strategy=tpe ...]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import get_scorer
from sklearn.model_selection import PredefinedSplit, cross_val_score
from sklearn.preprocessing import LabelEncoder

from _harness import DATASETS, PeakRSS, machine, make_project, read_split, run_tunepipe
from tunepipe.cli import load_config
from tunepipe.models import REGISTRY, build_pipeline
from tunepipe.search import EXTEND_FACTOR

# --quick: a 3-rung halving (9 -> 3 -> 1 candidates at 10 -> 30 -> 90 rounds) on a few rows.
QUICK_OVERRIDES = ["search.n_candidates=9", "search.max_resources=90"]
QUICK_ROWS = 3000
JOBS = 2  # cores for each method; the machine has 2
DEFAULT_SEED = 42
# The native peers' early stopping (as tunepipe's search.early_stopping default), and their round
# cap when tunepipe's search.max_resources is not a round count.
EARLY_STOPPING = 50
MAX_ROUNDS = 1000

PEERS = ("optuna", "optuna_lgbcv", "lgbm_tunercv", "flaml")
# Result.method -> the name in the tables.
LABELS = {
    "tunepipe": "tunepipe",
    "optuna": "Optuna plain",
    "optuna_lgbcv": "Optuna + lightgbm.cv early stop",
    "lgbm_tunercv": "LightGBMTunerCV",
    "flaml": "FLAML",
    "defaults": "LightGBM defaults (100 rounds)",
}

# scikit-learn scorer -> FLAML metric, and how FLAML's loss (lower is better) maps back to the scorer's value.
FLAML_METRICS: dict[str, tuple[str, Callable[[float], float]]] = {
    "roc_auc": ("roc_auc", lambda loss: 1 - loss),
    "roc_auc_ovr": ("roc_auc_ovr", lambda loss: 1 - loss),
    "accuracy": ("accuracy", lambda loss: 1 - loss),
    "r2": ("r2", lambda loss: 1 - loss),
    "neg_log_loss": ("log_loss", lambda loss: -loss),
    "neg_root_mean_squared_error": ("rmse", lambda loss: -loss),
    "neg_mean_squared_error": ("mse", lambda loss: -loss),
    "neg_mean_absolute_error": ("mae", lambda loss: -loss),
}

# scikit-learn scorer -> LightGBM's metric ("{}": binary or multi) and how its value maps to the
# scorer's (None: it does not, e.g. R² from the mean L2 over folds of different variances).
NATIVE_METRICS: dict[str, dict[str, tuple[str, Callable[[float], float] | None]]] = {
    "classification": {
        "roc_auc": ("auc", lambda v: v),  # binary only: scikit-learn's roc_auc rejects multiclass
        "neg_log_loss": ("{}_logloss", lambda v: -v),
        "accuracy": ("{}_error", lambda v: 1 - v),
    },
    "regression": {
        "neg_root_mean_squared_error": ("rmse", lambda v: -v),
        "neg_mean_squared_error": ("l2", lambda v: -v),
        "neg_mean_absolute_error": ("l1", lambda v: -v),
        "r2": ("l2", None),
    },
}


@dataclass(frozen=True)
class Result:
    """One method on one data set. Scores in the scikit-learn scorer's sign (greater is better).

    ``wall``: seconds until the method has its final model (search and refit); ``peak_rss``: bytes.
    """

    method: str
    wall: float
    trials: int
    best_cv: float
    holdout: float
    peak_rss: int


def _pipeline(split: Any, params: dict[str, Any], seed: int, threads: int) -> Any:
    """tunepipe's preprocessing + LightGBM pipeline, as its trials and refit build it."""
    return build_pipeline("lightgbm", split.task, split.numeric, split.categorical, params, seed=seed, threads=threads)


def _cv(split: Any, params: dict[str, Any], scoring: str, seed: int) -> float:
    """Mean score over tunepipe's folds: two folds at a time, one LightGBM thread each (2 cores)."""
    model = _pipeline(split, params, seed, threads=1)
    return float(cross_val_score(model, split.X_train, split.y_train, cv=PredefinedSplit(split.fold),
                                 scoring=scoring, n_jobs=JOBS).mean())


def _stop_workers() -> None:
    """Shut joblib's idle worker processes down, so they are not counted in the next method's memory."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def run_optuna(split: Any, scoring: str, budget: float, seed: int) -> Result:
    """A user's Optuna script: TPE, seeded, stopped after ``budget`` seconds, best refit on the training rows."""
    import optuna

    def objective(trial: optuna.Trial) -> float:
        params = {  # n_estimators, plus tunepipe's default LightGBM space (models.py)
            "n_estimators": trial.suggest_int("n_estimators", 20, 1000, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 8, 256, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 0.001, 10.0, log=True),
        }
        return _cv(split, {**params, "subsample_freq": 1}, scoring, seed)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    with PeakRSS(os.getpid()) as mem:
        t0 = time.perf_counter()
        study.optimize(objective, timeout=budget)
        model = _pipeline(split, {**study.best_params, "subsample_freq": 1}, seed, threads=JOBS)
        model.fit(split.X_train, split.y_train)
        wall = time.perf_counter() - t0
        _stop_workers()
    holdout = get_scorer(scoring)(model, split.X_holdout, split.y_holdout)
    return Result("optuna", wall, len(study.trials), study.best_value, holdout, mem.peak)


class _Fitted(BaseEstimator):
    """A fitted model of another library, seen by scikit-learn's scorers as a classifier or a regressor."""

    def __init__(self, model: Any = None, classifier: bool = True) -> None:
        self.model, self.classifier = model, classifier

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier" if self.classifier else "regressor"
        return tags

    @property
    def classes_(self) -> Any:
        return self.model.classes_

    def predict(self, X: Any) -> Any:
        return self.model.predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self.model.predict_proba(X)


def run_flaml(split: Any, scoring: str, budget: float, seed: int, log_file: Path) -> Result:
    """FLAML's AutoML on LightGBM with 5-fold CV and ``budget`` seconds; its log goes to ``log_file``."""
    from flaml import AutoML
    from flaml.automl.data import get_output_from_log

    if scoring not in FLAML_METRICS:
        raise SystemExit(f"search.scoring is '{scoring}', but compare_peers.py maps only these to FLAML metrics: "
                         f"{', '.join(FLAML_METRICS)}; add it to FLAML_METRICS")
    metric, to_score = FLAML_METRICS[scoring]
    automl = AutoML()
    with PeakRSS(os.getpid()) as mem:
        t0 = time.perf_counter()
        automl.fit(split.X_train, split.y_train, task="regression" if split.task == "regression" else "classification",
                   metric=metric, estimator_list=["lgbm"], eval_method="cv", n_splits=5, time_budget=budget,
                   n_jobs=JOBS, seed=seed, log_file_name=str(log_file), log_type="all", verbose=0)
        wall = time.perf_counter() - t0
    trials = len(get_output_from_log(str(log_file), time_budget=math.inf)[0])  # log_type "all": a record per trial
    holdout = get_scorer(scoring)(_Fitted(automl, split.task != "regression"), split.X_holdout, split.y_holdout)
    return Result("flaml", wall, trials, to_score(automl.best_loss), holdout, mem.peak)


@dataclass(frozen=True)
class _Native:
    """The training rows as a LightGBM native-API script sees them.

    ``prep``: tunepipe's preprocessing, fitted on the training rows; ``X``, ``y``: the rows after it
    and the label (classes encoded 0..k-1, as ``LGBMClassifier`` does); ``classes``: the labels of
    those codes (None for regression); ``folds``: tunepipe's fold plan as (train, test) positions;
    ``params``: what every fit sets (objective, metric, threads, seed, tunepipe's LightGBM defaults);
    ``metric``: LightGBM's metric for ``search.scoring``; ``to_score``: its value -> the scorer's
    (None: no such map); ``rounds``: the round cap.
    """

    prep: Any
    X: Any
    y: np.ndarray
    classes: np.ndarray | None
    folds: list[tuple[np.ndarray, np.ndarray]]
    params: dict[str, Any]
    metric: str
    to_score: Callable[[float], float] | None
    rounds: int

    def dataset(self) -> lgb.Dataset:
        """One Dataset of all training rows: lightgbm.cv bins it once and takes each fold as a subset of it."""
        # feature_pre_filter off (tunepipe's default too): else min_child_samples could not vary
        # between trials on the same binned Dataset.
        return lgb.Dataset(self.X, label=self.y, params={"feature_pre_filter": False, "verbosity": -1})

    def curve(self, params: dict[str, Any], data: lgb.Dataset) -> list[float]:
        """Mean CV metric per round on tunepipe's folds, cut at the best round by early stopping."""
        result = lgb.cv(params, data, num_boost_round=self.rounds, folds=self.folds,
                        callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)])
        return list(result[f"valid {self.metric}-mean"])

    def score(self, value: float) -> float:
        """A value of ``metric`` in the scikit-learn scorer's sign (NaN if it has none)."""
        return self.to_score(value) if self.to_score is not None else math.nan


def _native(split: Any, scoring: str, seed: int, rounds: int) -> _Native:
    """:class:`_Native` for ``split``; SystemExit if ``scoring`` has no LightGBM metric here."""
    kind = "regression" if split.task == "regression" else "classification"
    known = NATIVE_METRICS[kind]
    if scoring not in known or (scoring == "roc_auc" and split.task != "binary"):
        raise SystemExit(f"search.scoring is '{scoring}', but compare_peers.py maps only these to LightGBM metrics "
                         f"for {split.task}: {', '.join(known)}; add it to NATIVE_METRICS")
    metric, to_score = known[scoring]
    metric = metric.format("multi" if split.task == "multiclass" else "binary")
    # The same preprocessing as the Optuna plain peer's pipeline (and tunepipe's trials), fitted once
    # on all training rows, as a native-API script would: its categories then come from every fold.
    prep = _pipeline(split, {}, seed, threads=JOBS)[:-1].fit(split.X_train)
    params: dict[str, Any] = {**REGISTRY["lightgbm"].defaults, "metric": metric, "num_threads": JOBS, "seed": seed}
    if split.task == "regression":
        y, classes = np.asarray(split.y_train, dtype=float), None
        params["objective"] = "regression"
    else:
        encoder = LabelEncoder().fit(split.y_train)
        y, classes = encoder.transform(split.y_train), encoder.classes_
        params["objective"] = split.task
        if split.task == "multiclass":
            params["num_class"] = len(classes)
    folds = [(train, test) for train, test in PredefinedSplit(split.fold).split()]
    return _Native(prep, prep.transform(split.X_train), y, classes, folds, params, metric, to_score, rounds)


class _NativeModel:
    """A booster behind the fitted preprocessing, with the methods scikit-learn's scorers call (via _Fitted)."""

    def __init__(self, booster: lgb.Booster, native: _Native) -> None:
        self.booster, self.prep, self.classes_ = booster, native.prep, native.classes

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self.booster.predict(self.prep.transform(X))
        return np.column_stack([1 - p, p]) if p.ndim == 1 else p  # binary: P(class 1) only

    def predict(self, X: Any) -> np.ndarray:
        if self.classes_ is None:
            return self.booster.predict(self.prep.transform(X))
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _holdout(booster: lgb.Booster, native: _Native, split: Any, scoring: str) -> float:
    """The booster's score on the holdout rows with the scikit-learn scorer ``scoring``."""
    model = _Fitted(_NativeModel(booster, native), native.classes is not None)
    return float(get_scorer(scoring)(model, split.X_holdout, split.y_holdout))


def run_optuna_lgbcv(split: Any, scoring: str, budget: float, seed: int, rounds: int) -> Result:
    """A user's Optuna script on native ``lightgbm.cv`` with early stopping: TPE, seeded, ``budget`` seconds."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with PeakRSS(os.getpid()) as mem:
        t0 = time.perf_counter()
        native = _native(split, scoring, seed, rounds)
        data = native.dataset()

        def objective(trial: optuna.Trial) -> float:
            params = {  # tunepipe's default LightGBM space (models.py), in its scikit-learn aliases
                **native.params,
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "num_leaves": trial.suggest_int("num_leaves", 8, 256, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 1.0),
                "subsample_freq": 1,
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 0.001, 10.0, log=True),
            }
            curve = native.curve(params, data)
            trial.set_user_attr("rounds", len(curve))  # the best round count: the curve ends there
            return curve[-1]

        direction = "maximize" if native.metric == "auc" else "minimize"
        study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(objective, timeout=budget)
        best = study.best_trial
        booster = lgb.train({**native.params, **best.params, "subsample_freq": 1}, data,
                            num_boost_round=int(best.user_attrs["rounds"]))
        wall = time.perf_counter() - t0
    holdout = _holdout(booster, native, split, scoring)
    return Result("optuna_lgbcv", wall, len(study.trials), native.score(study.best_value), holdout, mem.peak)


def run_lgbm_tunercv(split: Any, scoring: str, budget: float, seed: int, rounds: int) -> Result:
    """Optuna's ``LightGBMTunerCV`` on tunepipe's folds with early stopping, ``budget`` seconds, seeded."""
    import optuna
    from optuna_integration.lightgbm import LightGBMTunerCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with PeakRSS(os.getpid()) as mem:
        t0 = time.perf_counter()
        native = _native(split, scoring, seed, rounds)
        data = native.dataset()
        tuner = LightGBMTunerCV(
            dict(native.params), data, num_boost_round=rounds, folds=native.folds, time_budget=max(1, round(budget)),
            callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)], seed=seed, optuna_seed=seed,
            return_cvbooster=False, show_progress_bar=False,
        )
        tuner.run()
        params = tuner.best_params
        # The tuner keeps no round count without return_cvbooster (which would hold 5 boosters per
        # best trial): the best parameters' CV once more finds it (deterministic: the same curve).
        booster = lgb.train(params, data, num_boost_round=len(native.curve(params, data)))
        wall = time.perf_counter() - t0
    holdout = _holdout(booster, native, split, scoring)
    return Result("lgbm_tunercv", wall, len(tuner.study.trials), native.score(tuner.best_score), holdout, mem.peak)


def run_defaults(split: Any, scoring: str, seed: int, holdout: float) -> Result:
    """LightGBM's defaults: their CV score on tunepipe's folds; ``holdout`` is tunepipe's ``baseline_score``."""
    with PeakRSS(os.getpid()) as mem:
        t0 = time.perf_counter()
        cv = _cv(split, {}, scoring, seed)
        wall = time.perf_counter() - t0
        _stop_workers()
    return Result("defaults", wall, 1, cv, holdout, mem.peak)


def compare(name: str, seed: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any] | None:
    """Every method on one data set with one seed in the project folder ``tmp``; None if tunepipe failed."""
    rows = args.rows if args.rows is not None else (QUICK_ROWS if args.quick else None)
    ds = make_project(name, tmp, rows=rows, seed=seed)  # base.seed = seed (a -S base.seed=... would win)
    overrides = [*(QUICK_OVERRIDES if args.quick else []), *args.overrides]
    load_before = os.getloadavg()[0]
    tp = run_tunepipe(tmp, overrides)
    if tp.returncode != 0:
        tail = "\n".join(tp.log.read_text().splitlines()[-20:])
        print(f"\n{name}, seed {seed}: tunepipe run exited {tp.returncode}; the end of its output:\n{tail}", flush=True)
        return None
    split = read_split(tmp)
    scoring = tp.cv["scoring"]
    budget = args.budget if args.budget is not None else tp.wall
    rounds = _round_cap(load_config(str(tmp / "params.yaml"), overrides).search)
    results = [
        Result("tunepipe", tp.wall, int(tp.cv["n_trials"]), float(tp.cv["best_score"]), float(tp.test[scoring]),
               tp.peak_rss),
        run_optuna(split, scoring, budget, seed),
        run_optuna_lgbcv(split, scoring, budget, seed, rounds),
        run_lgbm_tunercv(split, scoring, budget, seed, rounds),
        run_flaml(split, scoring, budget, seed, tmp / "flaml.log"),
        run_defaults(split, scoring, seed, float(tp.test["baseline_score"])),
    ]
    return {
        "name": name, "seed": seed, "source": ds.source, "task": split.task, "scoring": scoring,
        "rows": (len(split.train), len(split.holdout)), "features": len(split.features),
        "budget": budget, "rounds": rounds, "server_rss": tp.server_rss, "results": results,
        # The defaults' trial: absent with search.include_defaults false (its holdout score and round
        # count also from tunepipe versions that have them only).
        "defaults_trial": (tp.cv.get("defaults_score"), tp.test.get("defaults_trial_score"),
                           tp.cv.get("defaults_n_resources")),
        "load": (load_before, os.getloadavg()[0]),
    }


def _round_cap(search: Any) -> int:
    """The native peers' round cap: the most rounds a tunepipe trial may train, so neither side may go further.

    With early stopping, tunepipe lets a trial at ``max_resources`` that still improves go on to
    ``EXTEND_FACTOR`` times it (tunepipe.search); without a round budget, MAX_ROUNDS.
    """
    if search.resource != "n_estimators" or search.max_resources is None:
        return MAX_ROUNDS
    return int(search.max_resources * (EXTEND_FACTOR if search.early_stopping is not None else 1))


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def _diffs(r: dict[str, Any]) -> tuple[float, str, float]:
    """tunepipe's holdout minus the best peer's, that peer, and tunepipe's minus the defaults' (> 0: tunepipe is better)."""
    by = {x.method: x for x in r["results"]}
    best = max(PEERS, key=lambda m: by[m].holdout)
    return by["tunepipe"].holdout - by[best].holdout, best, by["tunepipe"].holdout - by["defaults"].holdout


def _defaults_line(r: dict[str, Any]) -> str:
    """tunepipe's defaults' trial vs LightGBM's defaults at 100 rounds: the scores tunepipe's metrics have."""
    x = next(x for x in r["results"] if x.method == "defaults")
    ours = f"{LABELS['defaults']}: CV {x.best_cv:.5f}, holdout {x.holdout:.5f}"
    cv, holdout, rounds = r["defaults_trial"]
    if cv is None:
        return f"defaults' trial: none (search.include_defaults false); {ours}"
    at = "early-stopped" if rounds is None else f"{rounds} rounds, early-stopped"
    kept = "" if holdout is None else f", holdout {holdout:.5f}"
    return f"defaults' trial ({at}): CV {cv:.5f}{kept} vs {ours}"


def _print(r: dict[str, Any], fixed_budget: bool) -> None:
    train, holdout = r["rows"]
    print(f"\n{r['name']}, seed {r['seed']} ({r['source']}): {train:,} training rows, {holdout:,} holdout rows, "
          f"{r['features']} features, {r['task']}, {r['scoring']}")
    print(f"  budget {r['budget']:.1f} s ({'--budget' if fixed_budget else 'tunepipe run wall time'}), "
          f"lightgbm.cv peers up to {r['rounds']} rounds; "
          f"load average (1 min) {r['load'][0]:.1f} before, {r['load'][1]:.1f} after")
    line = "  {:<31} {:>8} {:>7} {:>12} {:>12} {:>10}"
    print(line.format("method", "wall s", "trials", "best CV", "holdout", "peak RSS"))
    for x in r["results"]:
        print(line.format(LABELS[x.method], f"{x.wall:.1f}", x.trials, f"{x.best_cv:.5f}", f"{x.holdout:.5f}",
                          _gib(x.peak_rss)))
    peer, best, defaults = _diffs(r)
    print(f"  tunepipe peak RSS {_gib(r['results'][0].peak_rss)} without Prefect's temporary server "
          f"({_gib(r['server_rss'])}); the others: this process and its joblib workers, data loaded")
    print(f"  {_defaults_line(r)}")
    print(f"  tunepipe holdout - best peer ({LABELS[best]}) = {peer:+.5f}; tunepipe - defaults = {defaults:+.5f}",
          flush=True)


def _mean_sd(values: list[float]) -> str:
    sd = f"{statistics.stdev(values):.5f}" if len(values) > 1 else "n/a"
    return f"{statistics.mean(values):+.5f} ± {sd}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(DATASETS), choices=list(DATASETS), metavar="NAME",
                        help=f"data sets (default: all): {', '.join(DATASETS)}")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", nargs="+", type=int, default=None, metavar="SEED",
                       help=f"run every method once per seed: base.seed and every peer's seed (default {DEFAULT_SEED})")
    seeds.add_argument("--seed", type=int, default=None, help="one seed: the same as --seeds SEED")
    parser.add_argument("--rows", type=int, default=None, help="subsample each data set to this many rows")
    parser.add_argument("--quick", action="store_true",
                        help=f"check the harness: {QUICK_ROWS} rows, tunepipe with {' '.join(QUICK_OVERRIDES)}")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for each peer (default: tunepipe run's wall time on the set and seed)")
    parser.add_argument("-S", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to tunepipe run (e.g. -S search.strategy=tpe)")
    args = parser.parse_args(argv)
    seed_list: list[int] = args.seeds or [args.seed if args.seed is not None else DEFAULT_SEED]
    # FLAML says so when a holdout row has a category unseen in training (tunepipe makes it missing, silently).
    warnings.filterwarnings("ignore", message="Column .* contains values unseen at fit time")

    print(f"compare_peers: {machine()}")
    print("Wall times are only comparable on a quiet machine: other load slows every method, unevenly.")
    summary: dict[str, list[dict[str, Any]]] = {}
    for name in args.sets:
        for seed in seed_list:
            # A fresh project per seed: nothing of another seed's run (trial cache, split) is reused.
            with tempfile.TemporaryDirectory(prefix=f"compare_peers_{name}_{seed}_") as tmp:
                r = compare(name, seed, args, Path(tmp))
            if r is not None:
                _print(r, args.budget is not None)
                summary.setdefault(name, []).append(r)

    print("\n| data set | seed | method | budget s | wall s | trials | best CV | holdout | tunepipe - method |")
    print("|---|---|---|---|---|---|---|---|---|")
    for runs in summary.values():
        for r in runs:
            top = r["results"][0].holdout
            for x in r["results"]:
                diff = "" if x.method == "tunepipe" else f"{top - x.holdout:+.5f}"
                print(f"| {r['name']} | {r['seed']} | {LABELS[x.method]} | {r['budget']:.0f} | {x.wall:.0f} "
                      f"| {x.trials} | {x.best_cv:.5f} | {x.holdout:.5f} | {diff} |")

    print("\n| data set | seeds | tunepipe - best peer, per seed (that peer) | mean ± sd | tunepipe - defaults, mean ± sd |")
    print("|---|---|---|---|---|")
    for name, runs in summary.items():
        diffs = [_diffs(r) for r in runs]
        per_seed = "; ".join(f"{r['seed']}: {d:+.5f} ({LABELS[best]})" for r, (d, best, _) in zip(runs, diffs))
        print(f"| {name} | {len(runs)} | {per_seed} | {_mean_sd([d[0] for d in diffs])} "
              f"| {_mean_sd([d[2] for d in diffs])} |")
    print()
    for runs in summary.values():
        for r in runs:
            print(f"{r['name']}, seed {r['seed']}: {_defaults_line(r)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

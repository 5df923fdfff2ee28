"""tunepipe vs. a user's Optuna script vs. FLAML at equal wall time, next to LightGBM's defaults.

On each data set, back to back in one process tree, on 2 cores:

(a) tunepipe: ``tunepipe run`` with the repo's ``params.yaml`` (its default search) in a temporary
    project, as a subprocess; its wall time is the budget of (b) and (c) unless ``--budget`` is given.
(b) Optuna, as a user would write it: a seeded TPE study of 5-fold ``cross_val_score(n_jobs=2)`` of
    the same preprocessing + LightGBM pipeline as tunepipe's trials (``tunepipe.models.build_pipeline``,
    so categoricals are treated alike), tuning ``n_estimators`` (20-1000) and tunepipe's default
    LightGBM space, stopped at the budget (``timeout``); the best parameters are refit on the
    training rows.
(c) FLAML: ``AutoML(estimator_list=["lgbm"], eval_method="cv", n_splits=5, time_budget=<budget>,
    n_jobs=2)``, with its own search space, preprocessing and final refit.
(d) LightGBM's defaults: tunepipe's ``baseline_score`` on the holdout, and their CV score on
    tunepipe's folds.

Every method is fitted on the training rows of the split tunepipe wrote and scored once on its
holdout rows with the scikit-learn scorer of ``search.scoring`` (greater is better; FLAML's losses
are converted). Optuna and the defaults use tunepipe's fold plan, so their best CV scores compare
with tunepipe's; FLAML makes its own 5 folds.

    pip install -e '.[bench]'
    python benchmarks/compare_peers.py [--sets tv16 diamonds] [--seed 42] [--rows N] [--quick]
                                       [--budget SECONDS] [-S search.strategy=tpe ...]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.metrics import get_scorer
from sklearn.model_selection import PredefinedSplit, cross_val_score

from _harness import DATASETS, PeakRSS, machine, make_project, read_split, run_tunepipe
from tunepipe.models import build_pipeline

# --quick: a 3-rung halving (9 -> 3 -> 1 candidates at 10 -> 30 -> 90 rounds) on a few rows.
QUICK_OVERRIDES = ["search.n_candidates=9", "search.max_resources=90"]
QUICK_ROWS = 3000
JOBS = 2  # cores for each method; the machine has 2

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


def run_defaults(split: Any, scoring: str, seed: int, holdout: float) -> Result:
    """LightGBM's defaults: their CV score on tunepipe's folds; ``holdout`` is tunepipe's ``baseline_score``."""
    with PeakRSS(os.getpid()) as mem:
        t0 = time.perf_counter()
        cv = _cv(split, {}, scoring, seed)
        wall = time.perf_counter() - t0
        _stop_workers()
    return Result("defaults", wall, 1, cv, holdout, mem.peak)


def compare(name: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any] | None:
    """All four methods on one data set in the project folder ``tmp``; None if tunepipe failed."""
    rows = args.rows if args.rows is not None else (QUICK_ROWS if args.quick else None)
    ds = make_project(name, tmp, rows=rows, seed=args.seed)
    load_before = os.getloadavg()[0]
    tp = run_tunepipe(tmp, [*(QUICK_OVERRIDES if args.quick else []), *args.overrides])
    if tp.returncode != 0:
        tail = "\n".join(tp.log.read_text().splitlines()[-20:])
        print(f"\n{name}: tunepipe run exited {tp.returncode}; the end of its output:\n{tail}", flush=True)
        return None
    split = read_split(tmp)
    scoring = tp.cv["scoring"]
    budget = args.budget if args.budget is not None else tp.wall
    results = [
        Result("tunepipe", tp.wall, int(tp.cv["n_trials"]), float(tp.cv["best_score"]), float(tp.test[scoring]),
               tp.peak_rss),
        run_optuna(split, scoring, budget, args.seed),
        run_flaml(split, scoring, budget, args.seed, tmp / "flaml.log"),
        run_defaults(split, scoring, args.seed, float(tp.test["baseline_score"])),
    ]
    return {
        "name": name, "source": ds.source, "task": split.task, "scoring": scoring,
        "rows": (len(split.train), len(split.holdout)), "features": len(split.features),
        "budget": budget, "server_rss": tp.server_rss, "results": results,
        "load": (load_before, os.getloadavg()[0]),
    }


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def _diffs(r: dict[str, Any]) -> tuple[float, float]:
    """tunepipe's holdout minus the better peer's, and minus the defaults' (> 0: tunepipe is better)."""
    by = {x.method: x for x in r["results"]}
    return (by["tunepipe"].holdout - max(by["optuna"].holdout, by["flaml"].holdout),
            by["tunepipe"].holdout - by["defaults"].holdout)


def _print(r: dict[str, Any], fixed_budget: bool) -> None:
    train, holdout = r["rows"]
    print(f"\n{r['name']} ({r['source']}): {train:,} training rows, {holdout:,} holdout rows, {r['features']} features, "
          f"{r['task']}, {r['scoring']}")
    print(f"  budget {r['budget']:.1f} s ({'--budget' if fixed_budget else 'tunepipe run wall time'}); "
          f"load average (1 min) {r['load'][0]:.1f} before, {r['load'][1]:.1f} after")
    line = "  {:<9} {:>8} {:>7} {:>12} {:>12} {:>10}"
    print(line.format("method", "wall s", "trials", "best CV", "holdout", "peak RSS"))
    for x in r["results"]:
        print(line.format(x.method, f"{x.wall:.1f}", x.trials, f"{x.best_cv:.5f}", f"{x.holdout:.5f}", _gib(x.peak_rss)))
    peer, defaults = _diffs(r)
    print(f"  tunepipe peak RSS {_gib(r['results'][0].peak_rss)} without Prefect's temporary server "
          f"({_gib(r['server_rss'])}); the others: this process and its joblib workers, data loaded")
    print(f"  tunepipe holdout - max(optuna, flaml) = {peer:+.5f}; tunepipe - defaults = {defaults:+.5f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(DATASETS), choices=list(DATASETS), metavar="NAME",
                        help=f"data sets (default: all): {', '.join(DATASETS)}")
    parser.add_argument("--seed", type=int, default=42, help="base.seed, Optuna's and FLAML's seeds (default 42)")
    parser.add_argument("--rows", type=int, default=None, help="subsample each data set to this many rows")
    parser.add_argument("--quick", action="store_true",
                        help=f"check the harness: {QUICK_ROWS} rows, tunepipe with {' '.join(QUICK_OVERRIDES)}")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for Optuna and FLAML (default: tunepipe run's wall time on the set)")
    parser.add_argument("-S", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to tunepipe run (e.g. -S search.strategy=tpe)")
    args = parser.parse_args(argv)
    # FLAML says so when a holdout row has a category unseen in training (tunepipe makes it missing, silently).
    warnings.filterwarnings("ignore", message="Column .* contains values unseen at fit time")

    print(f"compare_peers: {machine()}")
    print("Wall times are only comparable on a quiet machine: other load slows every method, unevenly.")
    summary = []
    for name in args.sets:
        with tempfile.TemporaryDirectory(prefix=f"compare_peers_{name}_") as tmp:
            r = compare(name, args, Path(tmp))
        if r is not None:
            _print(r, args.budget is not None)
            summary.append(r)

    print("\n| data set | train / holdout rows | scoring | budget s | holdout: tunepipe / Optuna / FLAML / defaults "
          "| tunepipe - best peer | tunepipe - defaults | tunepipe peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in summary:
        peer, defaults = _diffs(r)
        scores = " / ".join(f"{x.holdout:.5f}" for x in r["results"])
        print(f"| {r['name']} | {r['rows'][0]:,} / {r['rows'][1]:,} | {r['scoring']} | {r['budget']:.0f} | {scores} "
              f"| {peer:+.5f} | {defaults:+.5f} | {_gib(r['results'][0].peak_rss)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

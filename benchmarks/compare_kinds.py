"""Choosing among model kinds (``model.kind`` a list) on real data sets, against each kind's defaults.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/compare_kinds.py [--sets tv16 diamonds ...] [--rows N] [-S key=value ...]

For each set, one ``tunepipe run`` with the repo's params.yaml (strategy tpe at its default budget)
and ``model.kind: [lightgbm, random_forest, extra_trees, logistic_regression]`` (``ridge`` in place
of the logistic regression for regression). Then each kind's plain defaults (the estimator's own
parameters, tunepipe's preprocessing) are fitted on the same training rows and scored once on the
same holdout. The target: the search's holdout at or above the best of those.

Printed per set: the search's holdout and wall time, the kind that won, and per kind its defaults'
holdout, its trials in the search and the seconds its trials spent fitting.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import get_scorer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATASETS, machine, make_project, read_split, run_tunepipe  # noqa: E402

from tunepipe.models import build_pipeline  # noqa: E402
from tunepipe.threads import available_cores  # noqa: E402

CLASSIFICATION = ["lightgbm", "random_forest", "extra_trees", "logistic_regression"]
REGRESSION = ["lightgbm", "random_forest", "extra_trees", "ridge"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["tv16", "diamonds", "happiness"], choices=sorted(DATASETS))
    parser.add_argument("-S", dest="overrides", action="append", default=[], help="override for every run")
    parser.add_argument("--rows", type=int, default=None, help="subsample each set to this many rows")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    print(machine(), flush=True)
    table = []
    for name in args.sets:
        ds = DATASETS[name]
        kinds = REGRESSION if ds.task == "regression" else CLASSIFICATION
        with tempfile.TemporaryDirectory(prefix=f"kinds-{name}-") as tmp:
            root = Path(tmp)
            make_project(name, root, rows=args.rows, seed=args.seed)
            run = run_tunepipe(root, [f"model.kind=[{', '.join(kinds)}]", *args.overrides])
            if run.returncode != 0:
                print(f"{name}: failed ({run.returncode}); log: {run.log.read_text()[-2000:]}")
                continue
            trials = pd.read_csv(root / "reports" / "trials.csv")
            timings = pd.read_csv(root / ".tunepipe" / "timings.csv")
            per_kind = trials.merge(timings[["trial", "fit_seconds"]], on="trial").groupby("kind")
            winner = trials.loc[trials["trial"] == run.cv["best_trial"], "kind"].item()
            split = read_split(root)
            scorer = get_scorer(ds.scoring)
            defaults = {}
            for kind in kinds:
                model = build_pipeline(kind, split.task, split.numeric, split.categorical, {}, seed=args.seed,
                                       threads=available_cores())
                t0 = time.perf_counter()
                model.fit(split.X_train, split.y_train)
                defaults[kind] = (float(scorer(model, split.X_holdout, split.y_holdout)), time.perf_counter() - t0)
        best_kind = max(defaults, key=lambda k: defaults[k][0])
        print(f"{name}: search holdout {run.test['score']:.5f} in {run.wall:.1f} s ({run.cv['n_trials']} trials), "
              f"won by {winner}; best single kind's defaults {best_kind} {defaults[best_kind][0]:.5f} "
              f"(search - it: {run.test['score'] - defaults[best_kind][0]:+.5f})", flush=True)
        for kind in kinds:
            n = int(per_kind.size().get(kind, 0))
            seconds = float(per_kind["fit_seconds"].sum().get(kind, 0.0))
            best = run.cv["best_by_kind"].get(kind, float("nan"))
            print(f"  {kind:<20} defaults' holdout {defaults[kind][0]:.5f} (fit {defaults[kind][1]:.1f} s)  "
                  f"trials {n:>3}  fitting {seconds:7.1f} s  best CV {best:.5f}", flush=True)
            table.append((name, kind, defaults[kind][0], n, seconds, best, kind == winner))
        table.append((name, "search", run.test["score"], run.cv["n_trials"], run.wall, run.cv["best_score"], False))
    print("\n| data set | kind | holdout (kind: its defaults) | trials | fit s (search: wall s) | best CV | won |")
    print("|---|---|---|---|---|---|---|")
    for r in table:
        print("| {} | {} | {:.5f} | {} | {:.1f} | {:.5f} | {} |".format(*r[:6], "yes" if r[6] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every search strategy on real data sets: holdout, best CV, trials and wall time side by side.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/compare_strategies.py [--sets mpls_stops tv16 ...] [--rows N]
        [--strategies random grid halving hyperband asha tpe cmaes ga bohb pbt] [--variant NAME=key=v,key=v ...]
        [-S key=value ...]

Each strategy runs ``tunepipe run`` with the repo's params.yaml, only ``search.strategy`` changed
(plus ``-S`` for all and a variant's own overrides), on the same split (same seed) of each set, one
after the other on this machine. Every strategy's default budget is its own (see the README's
strategy table): the wall column says what each one cost, next to what it bought.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATASETS, machine, make_project, run_tunepipe  # noqa: E402

STRATEGIES = ["random", "grid", "halving", "hyperband", "asha", "tpe", "cmaes", "ga", "bohb", "pbt"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["mpls_stops", "tv16", "diamonds"], choices=sorted(DATASETS))
    parser.add_argument("--strategies", nargs="*", default=STRATEGIES, choices=STRATEGIES)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=KEY=VALUE,...",
                        help="an extra row: overrides joined by commas, e.g. tpe-es=search.strategy=tpe,search.early_stopping=50")
    parser.add_argument("-S", dest="overrides", action="append", default=[], help="override for every run")
    parser.add_argument("--rows", type=int, default=None, help="subsample each set to this many rows")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    runs = [(s, [f"search.strategy={s}"]) for s in args.strategies]
    for variant in args.variant:
        name, _, overrides = variant.partition("=")
        runs.append((name, overrides.split(",")))
    print(machine(), flush=True)
    rows = []
    for name in args.sets:
        with tempfile.TemporaryDirectory(prefix=f"strategies-{name}-") as tmp:
            for label, overrides in runs:
                root = Path(tmp) / label
                root.mkdir()
                make_project(name, root, rows=args.rows, seed=args.seed)
                run = run_tunepipe(root, [*args.overrides, *overrides])
                if run.returncode != 0:
                    print(f"{name} {label}: failed ({run.returncode}); log: {run.log.read_text()[-2000:]}")
                    continue
                row = (name, label, run.test["score"], run.test["baseline_score"], run.cv["best_score"],
                       run.cv["n_trials"], run.wall, run.peak_rss / 2**30)
                rows.append(row)
                print("{:<12} {:<14} holdout {:.5f} (defaults {:.5f})  best CV {:.5f}  trials {:>4}  "
                      "wall {:6.1f} s  peak {:.2f} GiB".format(*row), flush=True)
    print("\n| data set | strategy | holdout | defaults | best CV | trials | wall s | peak GiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| {} | {} | {:.5f} | {:.5f} | {:.5f} | {} | {:.1f} | {:.2f} |".format(*r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

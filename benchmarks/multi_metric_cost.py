"""What several scorers cost: the same ``tunepipe run`` with one scorer and with three, on real data sets.

    .venv/bin/python benchmarks/multi_metric_cost.py [--sets tv16 mpls_stops ...] [--rows N] [-S key=value ...]

Each set runs the repo's params.yaml (LightGBM, strategy tpe) twice on the same split: with the
set's scorer alone, and with ``search.scoring`` listing it first and two more (the first decides,
so both runs pick the same trials and winner). Printed: wall time of each, the ratio, and whether
the winner's CV score and holdout score are the same (they must be).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATASETS, machine, make_project, run_tunepipe  # noqa: E402

# Two more scorers per task, besides the set's own.
MORE = {"binary": ["neg_log_loss", "accuracy"], "multiclass": ["accuracy", "balanced_accuracy"],
        "regression": ["neg_mean_absolute_error", "r2"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["tv16", "diamonds"], choices=sorted(DATASETS))
    parser.add_argument("-S", dest="overrides", action="append", default=[], help="override for every run")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    print(machine(), flush=True)
    print("| data set | scorers | wall s, one | wall s, three | ratio | same winner and scores |")
    print("|---|---|---|---|---|---|")
    for name in args.sets:
        ds = DATASETS[name]
        metrics = [ds.scoring, *[m for m in MORE[ds.task] if m != ds.scoring]]
        runs = {}
        with tempfile.TemporaryDirectory(prefix=f"metrics-{name}-") as tmp:
            for label, extra in (("one", []), ("three", [f"search.scoring=[{', '.join(metrics)}]"])):
                root = Path(tmp) / label
                root.mkdir()
                make_project(name, root, rows=args.rows, seed=args.seed)
                runs[label] = run_tunepipe(root, [*args.overrides, *extra])
                if runs[label].returncode != 0:
                    print(f"{name} {label}: failed; log: {runs[label].log.read_text()[-2000:]}")
                    return 1
        one, three = runs["one"], runs["three"]
        same = (one.cv["best_trial"], one.cv["best_score"], one.test["score"]) == (
            three.cv["best_trial"], three.cv["best_score"], three.test["score"])
        print(f"| {name} | {', '.join(metrics)} | {one.wall:.1f} | {three.wall:.1f} | {three.wall / one.wall:.3f} | "
              f"{'yes' if same else 'NO'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

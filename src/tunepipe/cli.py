"""``tunepipe`` command line: ``tunepipe run | split | tune | train | evaluate [-S key=value ...]``.

``run`` runs the whole pipeline in one process; the stage commands run one stage each and are
what ``dvc.yaml`` calls.

Bad input is reported as one message (key, value, rule, fix) on stderr with exit status 2, before
Prefect starts and before any output is written.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tunepipe.errors import TunepipeError

if TYPE_CHECKING:
    from tunepipe.config import Config


STAGE_HELP = {
    "run": "run the whole pipeline (split, tune, train, evaluate) on params.yaml, without DVC",
    "split": "stage 1: validate the data, split off the holdout, assign CV folds (data/split/)",
    "tune": "stage 2: the search on the split (reports/trials.csv, metrics/cv.json, models/winner.json)",
    "train": "stage 3: refit the winner and the defaults on all training rows (models/)",
    "evaluate": "stage 4: score both once on the holdout (metrics/test.json, reports/eval/)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tunepipe", description="Hyperparameter tuning pipeline for tabular ML.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in STAGE_HELP.items():
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
        cmd.add_argument(
            "-S", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
            help="override a param, as dvc's -S, e.g. -S search.n_candidates=27 (repeatable)",
        )
        cmd.add_argument("--root", default=".", help="project folder: data paths and outputs are relative to it")
    return parser


def load_and_check(params: str, overrides: list[str], root: str, command: str = "run") -> Config:
    """Read + validate the config, and the data rules the command depends on.

    Every bad-input error surfaces here, in a second, before Prefect starts, with no traceback and
    no output written. ``run`` and ``split`` check the data file; the later stages check the
    outputs of the stages before them, which they read instead.
    """
    from tunepipe import data, io
    from tunepipe.config import parse_config

    cfg = parse_config(io.read_params(params), overrides)
    if command in ("run", "split"):
        data.validate(io.read_table(cfg.data.path, root), cfg, scorers=command == "run")
        return cfg
    split = io.load_split(io.read_split_ref(root))
    if command in ("tune", "evaluate"):
        data.check_scorers(cfg, split.y_train, split.task)
    if command == "train":
        io.read_json(root, io.WINNER_JSON, "tune")
    if command == "evaluate":
        io.read_json(root, io.CV_JSON, "tune")
        for model in (io.MODEL_FILE, io.BASELINE_FILE):
            io.load_model(root, model)
    return cfg


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        cfg = load_and_check(args.params, args.overrides, args.root, args.command)
    except TunepipeError as exc:
        print(f"tunepipe: error: {exc}", file=sys.stderr)
        return 2
    # No network here and no reason to phone home; set before Prefect is imported.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.pipeline import run  # noqa: PLC0415 - Prefect is imported only when a flow runs

    # One line per task run state change drowns the progress lines on a search with hundreds of trials.
    logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
    try:
        stage = None if args.command == "run" else args.command
        out = run(cfg, root=str(Path(args.root).resolve()), stage=stage)
    except TunepipeError as exc:
        print(f"tunepipe: error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(["", "outputs:", *(f"  {p}" for p in out["outputs"])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

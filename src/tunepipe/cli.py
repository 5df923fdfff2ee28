"""``tunepipe`` command line: ``tunepipe run [-S key=value ...]``.

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tunepipe", description="Hyperparameter tuning pipeline for tabular ML.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole tuning flow on params.yaml (Prefect, no server needed)")
    run.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    run.add_argument(
        "-S", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a param, as dvc's -S, e.g. -S search.n_candidates=27 (repeatable)",
    )
    run.add_argument("--root", default=".", help="project folder: data paths and outputs are relative to it")
    return parser


def load_and_check(params: str, overrides: list[str], root: str) -> Config:
    """Read + validate the config and the data rules: every bad-input error surfaces here.

    The data is read here once more than the flow needs, so that bad input fails in a second,
    before Prefect starts, with no traceback and no output written.
    """
    from tunepipe import data, io
    from tunepipe.config import parse_config

    cfg = parse_config(io.read_params(params), overrides)
    data.validate(io.read_table(cfg.data.path, root), cfg)
    return cfg


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        cfg = load_and_check(args.params, args.overrides, args.root)
    except TunepipeError as exc:
        print(f"tunepipe: error: {exc}", file=sys.stderr)
        return 2
    # No network here and no reason to phone home; set before Prefect is imported.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.tune import run  # noqa: PLC0415 - Prefect is imported only when a flow runs

    # One line per task run state change drowns the progress lines on a search with hundreds of trials.
    logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
    try:
        out = run(cfg, root=str(Path(args.root).resolve()))
    except TunepipeError as exc:
        print(f"tunepipe: error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(["", "outputs:", *(f"  {p}" for p in out["outputs"])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

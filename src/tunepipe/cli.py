"""``tunepipe`` command line.

``tunepipe run | split | tune | train | evaluate [-S key=value ...]``: ``run`` runs the whole
pipeline in one process; the stage commands run one stage each and are what ``dvc.yaml`` calls.
``tunepipe server`` starts a local Prefect server; ``tunepipe serve --cron ...`` serves a
deployment whose runs are DVC experiments (``flows/schedule.py``).

Bad input is reported as one message (key, value, rule, fix) on stderr with exit status 2, before
Prefect starts and before any output is written. ``run`` and the stage commands hold the project's
lock (``tunepipe.lock``) from before their checks to their end: a second command in the same
project fails at once, with exit status 2, naming the first.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tunepipe import __version__, interrupt, prefect_home, server_watch
from tunepipe.errors import ConfigError, DataError, TunepipeError
from tunepipe.experiments import TAGS_VARIABLE

if TYPE_CHECKING:
    from tunepipe.config import Config


STAGE_HELP = {
    "run": "run the whole pipeline (split, tune, train, evaluate) on params.yaml, without DVC",
    "split": "stage 1: validate the data, split off the holdout, assign CV folds (data/split/)",
    "tune": "stage 2: the search on the split (reports/trials.csv, metrics/cv.json, models/winner.json)",
    "train": "stage 3: refit the winner and the defaults on all training rows (models/)",
    "evaluate": "stage 4: score both once on the holdout (metrics/test.json, reports/eval/)",
}


SERVE_HELP = (
    "serve a deployment of the pipeline on a schedule; each run is `dvc exp run` in the project "
    "(needs PREFECT_API_URL: see `tunepipe server`)"
)
SERVER_HELP = (
    "start a Prefect server on this machine (SQLite under PREFECT_HOME, default .prefect/); "
    "the project's commands use it while it runs"
)

SUMMARY_HELP = "print what the last run did: strategy, trials, winner, CV and holdout scores against the defaults"
PREDICT_HELP = "predict new rows with the refit winner (models/model.joblib): one row out per row in, in order"
EXP_HELP = (
    "`dvc exp show` with the columns that matter: the holdout score, the two baselines and the gain, the best "
    "CV score, the trials, and the params that differ between the experiments (other args go to dvc)"
)
# `tunepipe exp`: DVC's --keep wins over --drop and --only-changed. Dropped: every metric (a name
# without a dot, or one of the nested metrics of several scorers and kinds, whose names have one)
# and every file dependency (a path); kept: the metrics a reader compares first.
EXP_DROP = r"^[^.]*$|.*/|^(best_metrics|defaults_metrics|baseline_metrics|defaults_trial_metrics|best_by_kind)\."
EXP_KEEP = r"^(Experiment|score|gain|baseline_score|defaults_trial_score|best_score|n_trials|search\.strategy)$"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tunepipe", description="Hyperparameter tuning pipeline for tabular ML.")
    parser.add_argument("--version", action="version", version=f"tunepipe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [*STAGE_HELP.items(), ("serve", SERVE_HELP)]:
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
        cmd.add_argument(
            "-S", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
            help="override a param, as dvc's -S, e.g. -S search.n_candidates=27 (repeatable)",
        )
        cmd.add_argument("--root", default=".", help="project folder: data paths and outputs are relative to it")
    serve = sub.choices["serve"]
    when = serve.add_mutually_exclusive_group()
    when.add_argument("--cron", help="cron schedule, e.g. '0 3 * * *' (03:00 daily, in UTC)")
    when.add_argument("--interval", type=float, help="seconds between runs, e.g. 86400")
    serve.add_argument("--name", default="tunepipe", help="deployment name (default: tunepipe)")
    serve.add_argument(
        "--overlap", choices=["skip", "queue"], default="skip",
        help="a run due while another runs: skip it (cancelled, default) or queue it until the other ends",
    )
    predict = sub.add_parser("predict", help=PREDICT_HELP, description=PREDICT_HELP)
    predict.add_argument("data", help="rows to predict: a .csv or .parquet file with the training data's columns")
    predict.add_argument("-o", "--output", default="predictions.csv", help="CSV to write, - for standard output (default: predictions.csv)")
    predict.add_argument("--proba", action="store_true", help="add a proba_<class> column per class (classification)")
    predict.add_argument("--root", default=".", help="project folder holding models/model.joblib (default: .)")
    summary = sub.add_parser("summary", help=SUMMARY_HELP, description=SUMMARY_HELP)
    summary.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    summary.add_argument("--root", default=".", help="project folder (default: .)")
    exp = sub.add_parser("exp", help=EXP_HELP, description=EXP_HELP)
    exp.add_argument("dvc_args", nargs=argparse.REMAINDER, help="more `dvc exp show` arguments, e.g. -A or --sort-by score")
    server = sub.add_parser("server", help=SERVER_HELP, description=SERVER_HELP)
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    server.add_argument("--port", type=int, default=4200, help="port (default: 4200)")
    return parser


def _exp(dvc_args: list[str]) -> int:
    """``dvc exp show`` with :data:`EXP_DROP` / :data:`EXP_KEEP` and ``dvc_args``; dvc's exit status."""
    dvc = Path(sys.executable).with_name("dvc")
    command = [str(dvc) if dvc.exists() else "dvc", "exp", "show", "--only-changed", "--drop", EXP_DROP,
               "--keep", EXP_KEEP, *dvc_args]
    return subprocess.run(command, check=False).returncode


def _server(host: str, port: int) -> int:
    """Replace this process with ``prefect server start`` (project-local PREFECT_HOME by default)."""
    home = prefect_home.server_home(".", dict(os.environ))
    os.environ["PREFECT_HOME"] = str(home)
    # The project's commands find this server (and use it instead of starting their own).
    prefect_home.record_server(home, prefect_home.local_url(host, port), os.getpid())
    prefect = Path(sys.executable).with_name("prefect")
    print(
        f"Prefect server on http://{host}:{port} (data in {os.environ['PREFECT_HOME']}). In other shells:\n"
        f"  export PREFECT_API_URL=http://{host}:{port}/api",
        flush=True,
    )
    os.execv(prefect, [str(prefect), "server", "start", "--host", host, "--port", str(port)])
    return 0  # not reached


def _predict(args: argparse.Namespace) -> int:
    """Predict ``args.data`` with the project's model; bad input raises before anything is written."""
    from tunepipe import io, provenance  # noqa: PLC0415
    from tunepipe.predict import predict_frame  # noqa: PLC0415

    model = io.load_model(args.root, io.MODEL_FILE)
    out = predict_frame(model, io.read_new_data(args.data), args.proba, source=args.data)
    io.write_predictions(out, args.output)
    about = provenance.describe(io.read_model_record(args.root), io.file_sha256(Path(args.root) / io.MODEL_FILE))
    where = "standard output" if args.output == "-" else args.output
    print(f"tunepipe: {len(out)} predictions to {where}; model {io.MODEL_FILE}: {about}", file=sys.stderr)
    return 0


def _summary(root: str | Path, resource: str) -> str:
    """The end of a run: the aligned summary of its metrics, and the data's warnings."""
    from tunepipe import io, report  # noqa: PLC0415

    cv, test, params, warnings = io.read_summary(root)
    text = report.summary_text(cv, test, params, resource, list(io.SUMMARY_OUTPUTS))
    return "\n".join([text, *(f"warning: {w}" for w in warnings)])


def _serve(args: argparse.Namespace) -> int:
    """Check everything, then serve the deployment until interrupted."""
    from flows.schedule import check_schedule, serve  # noqa: PLC0415 - Prefect is imported only when needed

    check_schedule(args.cron, args.interval)
    if not os.environ.get("PREFECT_API_URL"):
        raise ConfigError(
            "PREFECT_API_URL is not set, but tunepipe serve needs a running Prefect server to hold the "
            "schedule; start one with `tunepipe server` and `export PREFECT_API_URL=http://127.0.0.1:4200/api`"
        )
    import httpx  # noqa: PLC0415 - a dependency of Prefect's

    url = os.environ["PREFECT_API_URL"].rstrip("/")
    try:
        httpx.get(f"{url}/health", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"PREFECT_API_URL is '{url}', but no Prefect server answers there ({type(exc).__name__}); "
            "start one with `tunepipe server`, or fix the address"
        ) from None

    serve(str(Path(args.root).resolve()), args.overrides, args.name, args.cron, args.interval, args.overlap)
    return 0


def load_config(params: str, overrides: list[str]) -> Config:
    """Read and validate the params file with its ``-S`` overrides (no data read)."""
    from tunepipe import io  # noqa: PLC0415 - imports pandas and scikit-learn: not for --help
    from tunepipe.config import parse_config  # noqa: PLC0415

    return parse_config(io.read_params(params), overrides, source=params)


def project_root(root: str) -> Path:
    """``--root``, which must be an existing folder."""
    path = Path(root)
    if not path.exists():
        raise ConfigError(
            f"--root is '{root}', but no such folder exists; pass the project folder (where data.path and the "
            "outputs are), or leave --root out to use the current folder"
        )
    if not path.is_dir():
        raise ConfigError(f"--root is '{root}', but that is a file; pass the project folder")
    return path


def check_project(cfg: Config, root: str | Path, command: str) -> list[str]:
    """The checks of params + data that ``command`` depends on; returns the data's warnings.

    Every bad-input error surfaces here, in a second, before Prefect starts, with no traceback and
    no output written. ``run`` and ``split`` check the data file; the later stages check the
    outputs of the stages before them, which they read instead.
    """
    from tunepipe import checks, data, io  # noqa: PLC0415

    if command in ("run", "tune"):
        checks.check_cluster(cfg)
    if command in ("run", "split"):
        df = io.read_table(cfg.data.path, root)
        return checks.check_run(df, cfg) if command == "run" else checks.check_split(df, cfg)
    try:
        split = io.read_split(io.read_split_ref(root))
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"{io.SPLIT_DIR} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}), "
            "but is written by the split stage; run it again (`dvc repro split` or `tunepipe split`)"
        ) from None
    if command == "tune":
        checks.check_tune(split, cfg)
    if command == "train":
        winner = io.read_json(root, io.WINNER_JSON, "tune")
        checks.check_train(split, cfg, dict(winner.get("params") or {}))
    if command == "evaluate":
        data.check_scorers(cfg, split.y_train, split.task)
        io.read_json(root, io.CV_JSON, "tune")
        for model in (io.MODEL_FILE, io.BASELINE_FILE, io.DEFAULTS_TRIAL_FILE):
            io.load_model(root, model)
    return []


def load_and_check(params: str, overrides: list[str], root: str, command: str = "run") -> Config:
    """:func:`load_config` and :func:`check_project`; the data's warnings go to stderr."""
    cfg = load_config(params, overrides)
    _warn(check_project(cfg, project_root(root), command))
    return cfg


def _warn(warnings: list[str]) -> None:
    for text in warnings:
        print(f"tunepipe: warning: {text}", file=sys.stderr)


def _error(exc: TunepipeError) -> None:
    """One ``tunepipe: error:`` line per problem (a params file can have several)."""
    for line in str(exc).splitlines() or [type(exc).__name__]:
        print(f"tunepipe: error: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["exp"]:  # everything after it is dvc's (argparse would read --no-pager as ours)
        return _exp(argv[1:])
    args = _parser().parse_args(argv)
    # No network here and no reason to phone home; set before Prefect is imported.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect gives its temporary server 20 s to start; the first start in a new PREFECT_HOME
    # creates its database and takes longer than that on a busy 2-core machine (seen: a timeout).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if args.command == "server":
        return _server(args.host, args.port)
    if args.command == "exp":
        return _exp(args.dvc_args)
    if args.command == "predict":
        try:
            return _predict(args)
        except TunepipeError as exc:
            _error(exc)
            return 2
    if args.command == "summary":
        try:
            print(_summary(project_root(args.root), load_config(args.params, []).search.resource))
            return 0
        except TunepipeError as exc:
            _error(exc)
            return 2
    from tunepipe.lock import ProjectLock  # noqa: PLC0415

    try:
        root = project_root(args.root)
        cfg = load_config(args.params, args.overrides)
        if args.command == "serve":
            # The pipeline's checks on the params as the deployment will run them; each run's
            # stage commands take the project's lock themselves.
            _warn(check_project(cfg, root, "run"))
            return _serve(args)
        # Before anything is read from the project's outputs or written: held to the end.
        lock = ProjectLock(root, command=["tunepipe", *argv])
        lock.acquire()
    except TunepipeError as exc:
        _error(exc)
        return 2
    try:
        try:
            _warn(check_project(cfg, root, args.command))
            # After every check, before Prefect is imported: the project's Prefect home and server,
            # from any working directory.
            prefect_home.use_project_server(root)
        except TunepipeError as exc:
            _error(exc)
            return 2
        return _run(cfg, root, args.command)
    finally:
        lock.release()


def _kept(cfg: Config, root: Path, command: str, started: float) -> str:
    """What a stopped run kept, and how to resume: ``3 trials finished in this run are in ...``."""
    cache = root / cfg.execution.cache_dir
    kept = 0
    if cfg.execution.cache and cache.is_dir():
        kept = sum(1 for p in cache.glob("trial-*.json") if p.stat().st_mtime >= started)
    again = "`tunepipe run`" if command == "run" else f"`tunepipe {command}` (or `dvc repro`)"
    trials = (f"{kept} trial{'s' if kept != 1 else ''} finished in this run {'are' if kept != 1 else 'is'} in the "
              f"trial cache ({cfg.execution.cache_dir}), and {again} resumes from them"
              if cfg.execution.cache else f"the trial cache is off (execution.cache: false): {again} starts over")
    return f"{trials}; the outputs of the stage that was running are as they were"


def _interrupted_line(cfg: Config, root: Path, command: str, started: float) -> str:
    """What Ctrl-C kept, and how to resume: the line printed as the process ends."""
    return f"tunepipe: interrupted: {_kept(cfg, root, command, started)} (exit {interrupt.EXIT_STATUS})"


def _lost_server_line(cfg: Config, root: Path, command: str, started: float, url: str, silent: float) -> str:
    """Why a run stopped when its Prefect server went away, what it kept, and how to resume."""
    return (f"tunepipe: the Prefect server at {url} has not answered for {silent:.0f} s, so the run stops: "
            f"{_kept(cfg, root, command, started)}; start the server again (or unset PREFECT_API_URL for the "
            "project's own) and run again (exit 1)")


def _run(cfg: Config, root: Path, command: str) -> int:
    """Run the command's flow (``run``: the whole pipeline); 1 if it fails."""
    from flows.pipeline import run  # noqa: PLC0415 - Prefect is imported only when a flow runs

    started = time.time() - 1  # file times can be a little coarse
    interrupt.install(lambda: _interrupted_line(cfg, root, command, started))
    from prefect.settings import PREFECT_API_URL  # noqa: PLC0415

    api_url = PREFECT_API_URL.value()  # the project's server, or the user's own (None: a temporary one)
    if api_url:
        server_watch.watch(api_url, lambda silent: interrupt.stop(
            lambda: _lost_server_line(cfg, root, command, started, api_url, silent), status=1),
            lost_after=server_watch.lost_after(dict(os.environ)))

    # One line per task run state change drowns the progress lines on a search with hundreds of trials.
    logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
    from prefect import tags  # noqa: PLC0415

    # A scheduled run (flows/schedule.py) tags its stages' flow runs with its experiment.
    run_tags = [t for t in os.environ.get(TAGS_VARIABLE, "").split(",") if t]
    try:
        stage = None if command == "run" else command
        with tags(*run_tags):
            out = run(cfg, root=str(root.resolve()), stage=stage)
    except TunepipeError as exc:
        _error(exc)
        return 1
    if stage is None:
        print("\n" + _summary(root, cfg.search.resource))
    else:
        print("\n".join(["", "outputs:", *(f"  {p}" for p in out["outputs"])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

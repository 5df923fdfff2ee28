"""The evaluate stage: score the refit winner and the baseline once on the holdout; the task plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from tunepipe import io, report
from tunepipe.config import Config
from tunepipe.data import Prepared
from tunepipe.evaluate import PLOT_FILES, holdout_metrics, plot_files, task_plot


@task(name="holdout", task_run_name="holdout {label}", cache_policy=NO_CACHE)
def score_holdout(root: str, split: Prepared, model_file: Path, cfg: Config, label: str) -> dict[str, float]:
    """Score a fitted model once on the holdout with every ``search.scoring`` scorer (the refit one
    as ``score``) and ``evaluate.metrics``."""
    model = io.load_model(root, model_file)
    return holdout_metrics(
        model, split.X_holdout, split.y_holdout, cfg.search.refit_metric, split.task, cfg.evaluate.metrics,
        also=cfg.search.other_metrics,
    )


@task(name="task plot", task_run_name="task plot", cache_policy=NO_CACHE)
def plot_data(root: str, split: Prepared, cfg: Config) -> tuple[str, pd.DataFrame]:
    """The winner's task plot on the holdout: ROC, confusion rows, or predicted vs. actual."""
    model = io.load_model(root, io.MODEL_FILE)
    return PLOT_FILES[split.task], task_plot(model, split.X_holdout, split.y_holdout, split.task, cfg.base.seed)


@flow(name="tunepipe-evaluate")
def evaluate(cfg: Config, root: str = ".") -> dict[str, Any]:
    """Write ``metrics/test.json`` and ``reports/eval/<task plot>.csv``; publish the summary artifact."""
    cv = io.read_json(root, io.CV_JSON, "tune")
    winner = io.read_json(root, io.WINNER_JSON, "tune")
    split = io.read_split(io.read_split_ref(root))
    scores = score_holdout(root, split, io.MODEL_FILE, cfg, label="winner")
    baselines = score_holdout(root, split, io.BASELINE_FILE, cfg, label="defaults")
    trials0 = score_holdout(root, split, io.DEFAULTS_TRIAL_FILE, cfg, label="defaults' trial")
    baseline, trial0 = baselines["score"], trials0["score"]
    # The numbers a reader compares first, first: `dvc exp show` keeps the leftmost columns.
    # "What tuning bought" is measured against the better of the two baselines.
    test = {
        "score": scores["score"], "baseline_score": baseline, "defaults_trial_score": trial0,
        "gain": scores["score"] - max(baseline, trial0), **scores,
    }
    if len(cfg.search.metrics) > 1:  # every search scorer for both baselines too
        test["baseline_metrics"] = {m: baselines[m] for m in cfg.search.metrics}
        test["defaults_trial_metrics"] = {m: trials0[m] for m in cfg.search.metrics}
    name, frame = plot_data(root, split, cfg)
    split_task = next(t for t, n in PLOT_FILES.items() if n == name)
    # reports/eval/ is replaced whole: another task's plot from an earlier run would look current.
    # The other tasks' files are there without rows: dvc.yaml declares them all.
    plots = {io.EVAL_DIR / n: io.csv_writer(f) for n, f in plot_files(split_task, frame).items()}
    paths = io.replace_outputs(root, {io.TEST_JSON: io.json_writer(test), **plots}, folders=[io.EVAL_DIR])
    summary = create_markdown_artifact(
        markdown=report.summary_markdown(cv, test, winner.get("kind", cfg.model.name), winner["params"]), key="tunepipe-summary", description="Tuning summary"
    )
    get_run_logger().info(
        "holdout %s %.5f (the model's defaults: %.5f; the defaults' trial: %.5f). Outputs: %s",
        cfg.search.refit_metric, test["score"], test["baseline_score"], test["defaults_trial_score"],
        ", ".join(str(p) for p in paths),
    )
    return {"test": test, "outputs": [str(p) for p in paths], "artifacts": [str(summary)]}

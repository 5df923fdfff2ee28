"""The tuning flow: split -> strategy loop of CV trial tasks -> refit winner -> holdout score.

This module only wires tasks; each ``@task`` wraps one core call and adds name, retries and
caching behaviour. Trial tasks receive a :class:`~tunepipe.io.SplitRef`, never a DataFrame.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from prefect import flow, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.logging import get_run_logger
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from sklearn.pipeline import Pipeline

from tunepipe import data, io, report, trial
from tunepipe.config import Config
from tunepipe.errors import SearchError
from tunepipe.evaluate import holdout_metrics
from tunepipe.search import Candidate, TrialResult, make_strategy, resolve_max_resources
from tunepipe.space import sample_candidates
from tunepipe.threads import available_cores, plan_threads


# Caching across runs is a separate concern (inputs would have to be hashed on every call);
# within a run every task is computed exactly once, so no cache policy is needed.
@task(name="prepare", task_run_name="prepare", cache_policy=NO_CACHE)
def prepare_split(cfg: Config, root: str) -> io.SplitRef:
    """Validate the data, split off the holdout, assign folds, write them."""
    df = io.read_table(cfg.data.path, root)
    return io.write_split(data.prepare(df, cfg), Path(root) / io.SPLIT_DIR)


@task(name="trial", task_run_name="trial {candidate.label}", cache_policy=NO_CACHE)
def run_trial(candidate: Candidate, ref: io.SplitRef, setup: trial.TrialSetup) -> TrialResult:
    """Cross-validate one candidate at one resource level."""
    split = io.load_split(ref)
    return trial.evaluate_candidate(
        candidate, split.X_train, split.y_train, io.load_folds(ref), setup, len(split.train)
    )


@task(name="refit", task_run_name="refit {label}", cache_policy=NO_CACHE, retries=1)
def refit(ref: io.SplitRef, setup: trial.TrialSetup, params: dict[str, Any], n_resources: int | None, label: str) -> Pipeline:
    """Fit a parameter set on the whole training set."""
    split = io.load_split(ref)
    return trial.refit(setup, params, split.X_train, split.y_train, n_resources)


@task(name="holdout", task_run_name="holdout {label}", cache_policy=NO_CACHE)
def score_holdout(model: Pipeline, ref: io.SplitRef, scoring: str, label: str) -> dict[str, float]:
    """Score a fitted model once on the holdout."""
    split = io.load_split(ref)
    return holdout_metrics(model, split.X_holdout, split.y_holdout, scoring, split.task)


def _collect(futures: list[PrefectFuture[TrialResult]], rung: int, n_rungs: int, n_resources: int) -> list[TrialResult]:
    """Wait for a rung's trials, logging progress (done / total, best so far) as they finish."""
    logger = get_run_logger()
    results: list[TrialResult] = []
    best: TrialResult | None = None
    step = max(1, len(futures) // 10)
    for done, future in enumerate(as_completed(futures), start=1):
        result = future.result()
        results.append(result)
        if not math.isnan(result.mean_score) and (best is None or result.mean_score > best.mean_score):
            best = result
        if done % step == 0 or done == len(futures):
            best_text = f"{best.mean_score:.5f} ({best.candidate.label})" if best else "n/a"
            failed = sum(r.status == "failed" for r in results)
            logger.info(
                "rung %d/%d (resource %d): %d/%d trials done, %d failed, best so far %s",
                rung + 1, n_rungs, n_resources, done, len(futures), failed, best_text,
            )
    return results


@flow(name="tunepipe-tune")
def tune(cfg: Config, root: str = ".") -> dict[str, Any] | State:
    """Tune ``cfg.model`` on ``cfg.data`` with ``cfg.search``; write reports, metrics and the model."""
    logger = get_run_logger()
    ref = prepare_split(cfg, root)
    split = io.load_split(ref)
    workers, threads = plan_threads(cfg.execution.workers, cfg.execution.threads_per_trial)
    setup = trial.TrialSetup(
        kind=cfg.model.kind,
        task=split.task,
        fixed_params=dict(cfg.model.params),
        scoring=cfg.search.scoring,
        resource=cfg.search.resource,
        seed=cfg.base.seed,
        threads=threads,
        numeric=tuple(split.numeric),
        categorical=tuple(split.categorical),
        score_best_iteration=cfg.search.score_best_iteration,
    )
    candidates = sample_candidates(cfg.search.space, cfg.search.n_candidates, cfg.base.seed)
    if len(candidates) < cfg.search.n_candidates:
        logger.warning(
            "search.space has only %d distinct points (all choices), so %d candidates instead of %d",
            len(candidates), len(candidates), cfg.search.n_candidates,
        )
    strategy = make_strategy(
        cfg.search, candidates, n_train=len(split.train), n_splits=cfg.cv.n_splits, n_classes=split.n_classes
    )
    n_rungs = strategy.n_planned_rungs
    logger.info(
        "%s on %d training rows (%s, %d folds), %d candidates, %d rungs, %d workers x %d threads",
        cfg.search.strategy, len(split.train), split.task, cfg.cv.n_splits, len(candidates), n_rungs, workers, threads,
    )

    while (batch := strategy.ask()) is not None:
        futures = run_trial.map(batch, unmapped(ref), unmapped(setup))
        strategy.tell(_collect(list(futures), batch[0].rung, n_rungs, batch[0].n_resources))

    best = strategy.best
    if math.isnan(best.mean_score):
        # A Failed state with the error as data: the run fails with this one message, and callers
        # still get the SearchError raised, without Prefect logging a traceback for it.
        error = SearchError(report.all_failed_message(strategy.rungs[-1].results))
        return Failed(message=str(error), data=error)
    # Refit at the winner's best round count when trials scored below their budget, else at the maximum.
    n_final = best.best_resources or resolve_max_resources(cfg.search, len(split.train))
    # The final fits are single tasks: give them every core.
    final_setup = dataclasses.replace(setup, threads=available_cores())
    model = refit(ref, final_setup, best.candidate.params, n_final, label=best.candidate.label)
    baseline = refit(ref, final_setup, {}, None, label="defaults")
    test = score_holdout(model, ref, cfg.search.scoring, label=best.candidate.label)
    test["baseline_score"] = score_holdout(baseline, ref, cfg.search.scoring, label="defaults")[cfg.search.scoring]

    cv = report.cv_metrics(strategy, cfg.search.scoring)
    trials = report.trials_table(strategy, sorted(cfg.search.space))
    paths = io.write_outputs(root, trials, cv, test, model)
    artifact_ids = _publish(trials, cv, test, cfg.model.kind)
    logger.info(
        "best CV %s %.5f (%s); holdout %.5f (default parameters: %.5f). Outputs: %s",
        cfg.search.scoring, cv["best_score"], best.candidate.label, test[cfg.search.scoring],
        test["baseline_score"], ", ".join(str(p) for p in paths),
    )
    return {"cv": cv, "test": test, "outputs": [str(p) for p in paths], "artifacts": artifact_ids}


def run(cfg: Config, root: str = ".", **options: Any) -> Any:
    """Run :func:`tune` with a task runner sized by ``cfg.execution`` (the thread budget).

    Prefect's default thread pool is unbounded: every trial of a rung would start at once and
    fight for the cores. Extra keyword arguments go to the flow call (e.g. ``return_state=True``).
    """
    workers, _ = plan_threads(cfg.execution.workers, cfg.execution.threads_per_trial)
    return tune.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))(cfg, root=root, **options)


def _publish(trials: Any, cv: dict[str, Any], test: dict[str, float], kind: str) -> list[str]:
    """Leaderboard table and summary markdown as Prefect artifacts (shown in the UI); returns their ids."""
    top = trials.sort_values(["rung", "rank_test_score"], ascending=[False, True]).head(50)
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in top.to_dict("records")]
    table = create_table_artifact(table=rows, key="tunepipe-leaderboard", description="Best trials, last rung first")
    summary = create_markdown_artifact(
        markdown=report.summary_markdown(cv, test, kind), key="tunepipe-summary", description="Tuning summary"
    )
    return [str(table), str(summary)]

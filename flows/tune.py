"""The tune stage: the strategy loop of CV trial tasks on the written split.

This module only wires tasks; each ``@task`` wraps one core call and adds name, retries and
caching behaviour. Trial tasks receive a :class:`~tunepipe.io.SplitRef`, never a DataFrame.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from prefect import flow, task, unmapped
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE, CachePolicy
from prefect.futures import PrefectFuture, as_completed
from prefect.logging import get_run_logger
from prefect.states import Failed, State

from flows import runners
from tunepipe import importance, io, report, trial
from tunepipe.config import Config
from tunepipe.errors import SearchError
from tunepipe.search import Candidate, TrialResult, make_strategy, resolve_max_resources
from tunepipe.space import sample_candidates
from tunepipe.threads import plan_threads


@task(name="trial", task_run_name="trial {candidate.label}", cache_policy=NO_CACHE)
def run_trial(candidate: Candidate, ref: io.SplitRef, setup: trial.TrialSetup) -> TrialResult:
    """Cross-validate one candidate at one resource level."""
    split = io.load_split(ref)
    return trial.evaluate_candidate(
        candidate, split.X_train, split.y_train, io.load_folds(ref), setup, len(split.train)
    )


def _cached_key(context: Any, parameters: dict[str, Any]) -> str:
    """Prefect cache key of a trial task: the core's trial key (no hashing of data on each call)."""
    return trial.trial_key(parameters["candidate"], parameters["ref"].fingerprint, parameters["setup"])


def _is_transient(task: Any, task_run: Any, state: State) -> bool:
    """Retry a failed trial task unless it ran out of time (a timeout would only repeat).

    A model error never reaches here: the core records it as a failed trial.
    """
    try:
        state.result()
    except TimeoutError:
        return False
    except Exception:  # noqa: BLE001 - anything else (a lost worker, an I/O error) may pass
        return True
    return True


def trial_task(cfg: Config, root: str) -> Any:
    """The trial task with ``execution``'s timeout and retries, and the trial cache when ``execution.cache``.

    The cache is Prefect's own: the key names a result file under ``execution.cache_dir``; a
    finished trial's result is written when it completes, so a killed run loses only the trials
    that were running.
    """
    ex = cfg.execution
    task = run_trial.with_options(
        timeout_seconds=ex.trial_timeout, retries=ex.trial_retries,
        retry_delay_seconds=ex.trial_retry_delay, retry_condition_fn=_is_transient,
    )
    if not ex.cache:
        return task
    # A Path is a local folder to Prefect (no storage block to register on the server).
    storage = (Path(root) / ex.cache_dir).resolve()
    # As a cache policy (not cache_key_fn), so it replaces the task's NO_CACHE without a warning.
    policy = CachePolicy.from_cache_key_fn(_cached_key)
    return task.with_options(cache_policy=policy, persist_result=True, result_storage=storage)


def _outcome(future: PrefectFuture[TrialResult], candidate: Candidate, n_folds: int) -> TrialResult:
    """The future's trial result, or a failed trial when the task itself failed (a timeout, or
    retries used up): the search goes on without it, as with a model error."""
    try:
        value = future.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - a crashed worker's future raises even without raise_on_failure
        value = exc
    if isinstance(value, TrialResult):
        # A cached result may come from another candidate id or rung with the same params and resource.
        return dataclasses.replace(value, candidate=candidate)
    text = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else f"{future.state.name}: {future.state.message}"
    return TrialResult(candidate, (math.nan,) * n_folds, status="failed", error=text.strip().splitlines()[0][:500])


def _collect(
    futures: list[PrefectFuture[TrialResult]], batch: list[Candidate], n_rungs: int, n_folds: int
) -> tuple[list[TrialResult], int]:
    """Wait for a rung's trials, logging progress (done / total, best so far) as they finish.

    Returns the results, each carrying its own candidate, and how many came from the cache.
    """
    logger = get_run_logger()
    rung, n_resources = batch[0].rung, batch[0].n_resources
    candidate_of = {future: candidate for future, candidate in zip(futures, batch)}
    results: list[TrialResult] = []
    best: TrialResult | None = None
    n_cached = 0
    step = max(1, len(futures) // 10)
    for done, future in enumerate(as_completed(futures), start=1):
        result = _outcome(future, candidate_of[future], n_folds)
        n_cached += int(future.state.name == "Cached")
        results.append(result)
        if not math.isnan(result.mean_score) and (best is None or result.mean_score > best.mean_score):
            best = result
        if done % step == 0 or done == len(futures):
            best_text = f"{best.mean_score:.5f} ({best.candidate.label})" if best else "n/a"
            failed = sum(r.status == "failed" for r in results)
            logger.info(
                "rung %d/%d (resource %d): %d/%d trials done (%d from the trial cache), %d failed, best so far %s",
                rung + 1, n_rungs, n_resources, done, len(futures), n_cached, failed, best_text,
            )
    return results, n_cached


@flow(name="tunepipe-tune")
def tune(cfg: Config, root: str = ".") -> dict[str, Any] | State:
    """Search ``cfg.search`` for ``cfg.model`` on the split; write trials, progress, CV metrics, winner."""
    logger = get_run_logger()
    ref = io.read_split_ref(root)
    split = io.load_split(ref)
    workers, threads = plan_threads(cfg.execution.workers, cfg.execution.threads_per_trial)
    # With threads, trials hand their folds to one pool of `workers` threads: the unit of work is a
    # fold, so no core idles at the end of a rung (trial.fold_pool). Fits stay at `threads` threads
    # each. A worker process (processes, Dask) runs one trial at a time, its folds in turn.
    fold_workers = workers if cfg.execution.runner == "threads" else 1
    setup = dataclasses.replace(
        trial.make_setup(cfg, split, threads, fingerprint=ref.fingerprint), fold_workers=fold_workers
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
        "%s on %d training rows (%s, %d folds), %d candidates, %d rungs, %d workers x %d threads (%s)",
        cfg.search.strategy, len(split.train), split.task, cfg.cv.n_splits, len(candidates), n_rungs, workers, threads,
        cfg.execution.runner,
    )
    if cfg.execution.runner == "dask":
        runners.ship_split(ref)

    task = trial_task(cfg, root)
    n_cached = n_run = 0
    while (batch := strategy.ask()) is not None:
        # Live models (continued boosting) of candidates the search dropped are no longer needed.
        trial.release_live_models(batch, setup)
        futures = task.map(batch, unmapped(ref), unmapped(setup))
        results, cached = _collect(list(futures), batch, n_rungs, cfg.cv.n_splits)
        strategy.tell(results)
        n_cached, n_run = n_cached + cached, n_run + len(results) - cached
    trial.release_live_models([], setup)
    logger.info("%d trials evaluated, %d taken from the trial cache", n_run, n_cached)

    best = strategy.best
    if math.isnan(best.mean_score):
        # A Failed state with the error as data: the run fails with this one message, and callers
        # still get the SearchError raised, without Prefect logging a traceback for it.
        error = SearchError(report.all_failed_message(strategy.rungs[-1].results))
        return Failed(message=str(error), data=error)

    trials = report.trials_table(strategy, sorted(cfg.search.space))
    cv = report.cv_metrics(strategy, cfg.search.scoring)
    winner = {
        "candidate": best.candidate.id,
        "label": best.candidate.label,
        "params": best.candidate.params,
        # Refit at the winner's best round count when trials scored below their budget, else at the maximum.
        "n_resources": best.best_resources or resolve_max_resources(cfg.search, len(split.train)),
    }
    paths = io.write_search_outputs(root, trials, report.progress_table(trials), cv, winner)
    paths += io.write_importance(
        root, importance.param_importances(trials, cfg.search.space, cfg.base.seed),
        importance.parallel_coordinates(trials, cfg.search.space),
    )
    artifact = _publish_leaderboard(trials)
    logger.info(
        "best CV %s %.5f (%s) at %d resources. Outputs: %s",
        cfg.search.scoring, cv["best_score"], best.candidate.label, winner["n_resources"],
        ", ".join(str(p) for p in paths),
    )
    return {
        "cv": cv, "winner": winner, "outputs": [str(p) for p in paths], "artifacts": [artifact],
        "trials_run": n_run, "trials_cached": n_cached,
    }


def _publish_leaderboard(trials: Any) -> str:
    """The best trials as a Prefect table artifact (shown in the UI); returns its id."""
    top = trials.sort_values(["rung", "rank_test_score"], ascending=[False, True]).head(50)
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in top.to_dict("records")]
    return str(create_table_artifact(table=rows, key="tunepipe-leaderboard", description="Best trials, last rung first"))

"""The tune stage: the core's ask / tell loop (tunepipe.tuning), each trial a task, on the written split.

This module only wires tasks; each ``@task`` wraps one core call and adds name, retries and a
timeout. Trial tasks receive a :class:`~tunepipe.io.SplitRef`, never a DataFrame.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.logging import get_run_logger
from prefect.states import Failed, State

from flows import runners
from tunepipe import importance, io, report, tuning
from tunepipe.config import Config
from tunepipe.errors import SearchError
from tunepipe.execution import ProcessEnv, forget_split, load_folds, load_split, release_live_models, shutdown_fold_pools
from tunepipe.failures import TrialBugError, TrialResourceError
from tunepipe.results import Observation, Trial
from tunepipe.search import Search, make_search, plan_table
from tunepipe.threads import plan_threads
from tunepipe.scoring import TrialSetup, frozen_params, lineage_key, make_setup, score_trial
from tunepipe.trialcache import trial_key
from tunepipe.tuning import Progress, at_round, run_search, winner_record


@task(name="trial", task_run_name="{trial.label}", cache_policy=NO_CACHE, persist_result=False)
def run_trial(trial: Trial, ref: io.SplitRef, setup: TrialSetup, cache_dir: str | None) -> Observation:
    """Cross-validate one configuration at one budget; store the observation in the trial cache."""
    split = load_split(ref)
    observation = score_trial(
        trial, split.X_train, split.y_train, load_folds(ref), setup, len(split.train),
        env=ProcessEnv(setup.run.fold_workers),
    )
    if cache_dir is not None:
        io.write_trial_result(cache_dir, trial_key(trial, setup), observation)
    return observation


def _is_transient(task: Any, task_run: Any, state: State) -> bool:
    """Retry a failed trial task unless it ran out of time (a timeout would only repeat) or hit a
    bug in tunepipe's own code (it would only repeat too).

    A model error never reaches here: the core records it as a failed trial.
    """
    try:
        state.result()
    except (TimeoutError, TrialBugError):
        return False
    except Exception:  # noqa: BLE001 - anything else (a lost worker, an I/O error) may pass
        return True
    return True


def trial_task(cfg: Config) -> Any:
    """The trial task with ``execution``'s timeout and retries."""
    ex = cfg.execution
    return run_trial.with_options(
        timeout_seconds=ex.trial_timeout, retries=ex.trial_retries,
        retry_delay_seconds=ex.trial_retry_delay, retry_condition_fn=_is_transient,
    )


def observation_of(future: PrefectFuture[Observation], trial: Trial, n_folds: int) -> Observation:
    """The future's observation, or a failed trial when the task itself failed (a timeout, or
    retries used up): the search goes on without it, as with a model error.

    Raises:
        SearchError: the trial kept running out of resources, or hit a bug in tunepipe's own code:
            the run stops (finished trials stay in the trial cache).
    """
    try:
        value = future.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - a crashed worker's future raises even without raise_on_failure
        value = exc
    if isinstance(value, Observation):
        return value
    if isinstance(value, TrialBugError):
        raise SearchError(
            f"tunepipe's own code failed in {value}. This is a bug in tunepipe, not in your params or "
            "data: please report it with the command, params.yaml and this line; finished trials are "
            "kept in the trial cache"
        )
    if isinstance(value, TrialResourceError):
        raise SearchError(
            f"{value} (and again on each of its execution.trial_retries retries). Lower execution.workers or "
            "execution.threads_per_trial, or use fewer rows; finished trials are kept in the trial cache "
            "and the next run resumes from them"
        )
    text = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else f"{future.state.name}: {future.state.message}"
    return Observation(trial, (math.nan,) * n_folds, status="failed", error=text.strip().splitlines()[0][:500])


class PrefectTrials:
    """Trials as Prefect tasks on the flow's task runner (a :class:`~tunepipe.tuning.TrialRunner`)."""

    def __init__(self, cfg: Config, ref: io.SplitRef, setup: TrialSetup, cache_dir: str | None) -> None:
        self.task = trial_task(cfg)
        self.ref, self.setup, self.cache_dir, self.n_folds = ref, setup, cache_dir, cfg.cv.n_splits

    def submit(self, trial: Trial) -> PrefectFuture[Observation]:
        return self.task.submit(trial, self.ref, self.setup, self.cache_dir)

    def next_finished(self, handles: list[Any]) -> PrefectFuture[Observation]:
        return next(as_completed(handles))

    def observation(self, handle: Any, trial: Trial) -> Observation:
        return observation_of(handle, trial, self.n_folds)


def _release_dropped(search: Search, setup: TrialSetup) -> None:
    """Free the live boosters of configurations the search will not run again (this process's:
    with the thread runner, every trial's)."""
    alive = search.alive()
    if setup.run.continue_boosting and alive is not None:
        alive_keys = {lineage_key(t.params, setup, t.schedule) for t in alive}
        asked = {lineage_key(t.params, setup, t.schedule) for t in search.history.trials}
        release_live_models(asked - alive_keys)


@flow(name="tunepipe-tune")
def tune(cfg: Config, root: str = ".") -> dict[str, Any] | State:
    """Search ``cfg.search`` for ``cfg.model`` on the split; write trials, progress, CV metrics, winner."""
    logger = get_run_logger()
    ref = io.read_split_ref(root)
    split = load_split(ref)
    workers, threads = plan_threads(cfg.execution.workers, cfg.execution.threads_per_trial)
    # With threads, trials hand their folds to one pool of `workers` threads: the unit of work is a
    # fold, so no core idles at the end of a rung (execution.fold_pool). Fits stay at `threads`
    # threads each. A worker process (processes, Dask) runs one trial at a time, its folds in turn.
    fold_workers = workers if cfg.execution.runner == "threads" else 1
    setup = make_setup(cfg, split, threads, fingerprint=ref.fingerprint)
    setup = dataclasses.replace(setup, run=dataclasses.replace(setup.run, fold_workers=fold_workers))
    defaults = tuning.defaults_of(cfg, split.task)
    search = make_search(
        cfg.search.settings(), seed=cfg.base.seed, n_train=len(split.train), n_splits=cfg.cv.n_splits,
        n_classes=split.n_classes, defaults=defaults, frozen=frozen_params(cfg),
    )
    logger.info(
        "%s on %d training rows (%s, %d folds), %d workers x %d thread%s each (%s runner)%s",
        search.name, len(split.train), split.task, cfg.cv.n_splits, workers, threads, "" if threads == 1 else "s",
        cfg.execution.runner,
        f", window {search.window}" if search.window else "",
    )
    for line in plan_table(search) + search.notes:
        logger.info("%s", line)
    if cfg.execution.runner == "dask":
        runners.ship_split(ref)

    cache_dir = str((Path(root) / cfg.execution.cache_dir).resolve()) if cfg.execution.cache else None
    progress = Progress(search.n_trials_planned, logger.info)
    try:
        run_search(
            search, PrefectTrials(cfg, ref, setup, cache_dir), progress,
            cached=lambda trial: io.read_trial_result(cache_dir, trial_key(trial, setup), trial) if cache_dir else None,
            time_budget=cfg.search.time_budget, slots=workers,
            after_tell=lambda: _release_dropped(search, setup),
        )
    except SearchError as error:
        # One message for the run, as for a search whose trials all failed.
        return Failed(message=str(error), data=error)
    finally:
        # What this run grew in the processes that ran its trials goes (process-pool workers
        # exit with their pool): the flow's own, and every Dask worker's.
        forget_split(ref)
        shutdown_fold_pools()
        if cfg.execution.runner == "dask":
            runners.unship_split(ref)
    logger.info(
        "%d trials evaluated, %d taken from the trial cache; %d of %d configurations proposed by the model (%s)",
        progress.done - progress.cached, progress.cached, report.model_proposed(search.observations),
        search.history.n_candidates, search.sampler.name,
    )

    best = search.best
    if math.isnan(best.mean_score):
        # A Failed state with the error as data: the run fails with this one message, and callers
        # still get the SearchError raised, without Prefect logging a traceback for it.
        error = SearchError(report.all_failed_message(search.observations))
        return Failed(message=str(error), data=error)

    metrics, refit = cfg.search.metrics, cfg.search.refit_metric
    trials = report.trials_table(search.observations, cfg.search.param_names, metrics, refit)
    cv = report.cv_metrics(search.observations, refit, search.name, metrics)
    if cfg.search.time_budget is not None:
        cv["time_budget_spent"] = search.closed
    winner = winner_record(search, cfg.search.resource)
    # Hyperparameter importance is within one space: with several kinds, the winner's kind's.
    own = trials[trials["kind"] == winner["kind"]] if "kind" in winner else trials
    space = cfg.search.space_of(winner["kind"]) if "kind" in winner else cfg.search.flat_space
    paths = io.write_search_outputs(
        root, trials, report.progress_table(trials), cv, winner,
        importance.param_importances(own, space, cfg.base.seed), importance.parallel_coordinates(own, space),
    )
    io.write_timings(root, report.timings_table(search.observations))
    artifact = _publish_leaderboard(trials)
    at = at_round(best).replace(",", "", 1)
    logger.info(
        "winner: %s, CV %s %.5f%s (the best at the largest budget). Outputs: %s",
        best.trial.label, refit, cv["best_score"], at, ", ".join(str(p) for p in paths),
    )
    return {
        "cv": cv, "winner": winner, "outputs": [str(p) for p in paths], "artifacts": [artifact],
        "leaderboard": report.leaderboard(trials, n=5),
        "trials_run": progress.done - progress.cached, "trials_cached": progress.cached,
    }


def _publish_leaderboard(trials: pd.DataFrame) -> str:
    """The best trials as a Prefect table artifact (shown in the UI); returns its id."""
    return str(create_table_artifact(
        table=report.leaderboard(trials), key="tunepipe-leaderboard", description="Best trials, largest budget first"
    ))

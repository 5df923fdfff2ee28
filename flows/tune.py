"""The tune stage: the search's ask / tell loop, each trial a task, on the written split.

This module only wires tasks; each ``@task`` wraps one core call and adds name, retries and a
timeout. Trial tasks receive a :class:`~tunepipe.io.SplitRef`, never a DataFrame.
"""

from __future__ import annotations

import dataclasses
import math
import time
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
from tunepipe import importance, io, report
from tunepipe.config import Config
from tunepipe.errors import SearchError
from tunepipe.execution import ProcessEnv, forget_split, release_live_models, shutdown_fold_pools
from tunepipe.failures import TrialBugError, TrialResourceError
from tunepipe.models import default_values
from tunepipe.results import Observation, Trial
from tunepipe.search import Search, make_search, plan_table
from tunepipe.threads import plan_threads
from tunepipe.scoring import TrialSetup, lineage_key, make_setup, refit_budget, score_trial
from tunepipe.trialcache import trial_key


@task(name="trial", task_run_name="{trial.label}", cache_policy=NO_CACHE, persist_result=False)
def run_trial(trial: Trial, ref: io.SplitRef, setup: TrialSetup, cache_dir: str | None) -> Observation:
    """Cross-validate one configuration at one budget; store the observation in the trial cache."""
    split = io.load_split(ref)
    observation = score_trial(
        trial, split.X_train, split.y_train, io.load_folds(ref), setup, len(split.train),
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


def _outcome(future: PrefectFuture[Observation], trial: Trial, n_folds: int) -> Observation:
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


def _at_round(o: Observation) -> str:
    """``, at its best round count 696 of 1000`` (or past its budget, boosting on while improving)."""
    if o.best_budget is None:
        return ""
    if o.best_budget > o.trial.budget:
        return f", at its best round count {o.best_budget} (boosted past its budget of {o.trial.budget} while improving)"
    return f", at its best round count {o.best_budget} of {o.trial.budget}"


class Progress:
    """Logs the search's progress about ten times: trials done, from the cache, failed, best so far."""

    def __init__(self, n_planned: int) -> None:
        self.n_planned = n_planned
        self.step = max(1, n_planned // 10)
        self.done = self.cached = self.failed = self.pruned = 0
        self.best: Observation | None = None

    def record(self, observation: Observation, cached: bool) -> None:
        self.done += 1
        self.cached += cached
        self.failed += observation.status == "failed"
        self.pruned += observation.status == "pruned"
        score = observation.mean_score
        if not math.isnan(score) and (self.best is None or score > self.best.mean_score):
            self.best = observation
        if self.done % self.step == 0 or self.done == self.n_planned:
            best = "n/a"
            if self.best is not None:
                t = self.best.trial
                at = _at_round(self.best)
                best = f"{self.best.mean_score:.5f} ({t.label}, budget {t.budget}{at})"
            raced = f", {self.pruned} stopped by racing" if self.pruned else ""
            get_run_logger().info(
                "%d/%d trials done (%d from the trial cache, %d failed%s); best so far %s",
                self.done, self.n_planned, self.cached, self.failed, raced, best,
            )


def run_search(search: Search, cfg: Config, ref: io.SplitRef, setup: TrialSetup, root: str) -> Progress:
    """The ask / tell loop: cached trials are told at once, the others run as tasks.

    Observations may finish in any order; the search applies them in trial-number order, so
    what it asks next never depends on which task finished first. Once ``search.time_budget`` is
    spent no new trial is asked; the running ones finish and are told.
    """
    budget = cfg.search.time_budget
    deadline = time.monotonic() + budget if budget is not None else None
    # With a time budget, trials are handed to the task runner only as it has a free slot: a
    # trial queued there could not be withdrawn once the budget is spent.
    slots = plan_threads(cfg.execution.workers, cfg.execution.threads_per_trial)[0] if deadline is not None else None
    cache_dir = str((Path(root) / cfg.execution.cache_dir).resolve()) if cfg.execution.cache else None
    task = trial_task(cfg)
    n_folds = cfg.cv.n_splits
    progress = Progress(search.n_planned)
    running: dict[PrefectFuture[Observation], Trial] = {}
    while not search.done:
        if deadline is not None and not search.closed and time.monotonic() >= deadline:
            search.close()
            get_run_logger().info(
                "time budget of %gs spent after %d trials: no new trial starts; %d running to finish",
                budget, progress.done, len(running),
            )
            continue
        told = False
        for asked in search.ask(None if slots is None else slots - len(running)):
            hit = io.read_trial_result(cache_dir, trial_key(asked, setup), asked) if cache_dir else None
            if hit is not None:
                search.tell(hit)
                progress.record(hit, cached=True)
                told = True
            else:
                running[task.submit(asked, ref, setup, cache_dir)] = asked
        if told:
            continue  # a cached observation may let the search ask more right away
        if not running:
            raise RuntimeError("the search waits for an observation, but no trial is running")
        finished = next(as_completed(list(running)))
        observation = _outcome(finished, running.pop(finished), n_folds)
        search.tell(observation)
        progress.record(observation, cached=False)
        _release_dropped(search, setup)
    return progress


def _release_dropped(search: Search, setup: TrialSetup) -> None:
    """Free the live boosters of configurations the search will not run again (this process's:
    with the thread runner, every trial's)."""
    alive = search.alive()
    if setup.run.continue_boosting and alive is not None:
        alive_keys = {lineage_key(params, setup) for params in alive.values()}
        asked = {lineage_key(t.params, setup) for t in search.history.trials}
        release_live_models(asked - alive_keys)


@flow(name="tunepipe-tune")
def tune(cfg: Config, root: str = ".") -> dict[str, Any] | State:
    """Search ``cfg.search`` for ``cfg.model`` on the split; write trials, progress, CV metrics, winner."""
    logger = get_run_logger()
    ref = io.read_split_ref(root)
    split = io.load_split(ref)
    workers, threads = plan_threads(cfg.execution.workers, cfg.execution.threads_per_trial)
    # With threads, trials hand their folds to one pool of `workers` threads: the unit of work is a
    # fold, so no core idles at the end of a rung (execution.fold_pool). Fits stay at `threads`
    # threads each. A worker process (processes, Dask) runs one trial at a time, its folds in turn.
    fold_workers = workers if cfg.execution.runner == "threads" else 1
    setup = make_setup(cfg, split, threads, fingerprint=ref.fingerprint)
    setup = dataclasses.replace(setup, run=dataclasses.replace(setup.run, fold_workers=fold_workers))
    defaults = default_values(cfg.model.kind, split.task, cfg.search.param_names, cfg.model.params)
    search = make_search(
        cfg.search.settings(), seed=cfg.base.seed, n_train=len(split.train), n_splits=cfg.cv.n_splits,
        n_classes=split.n_classes, defaults=defaults,
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

    try:
        progress = run_search(search, cfg, ref, setup, root)
    except SearchError as error:
        # One message for the run, as for a search whose trials all failed.
        return Failed(message=str(error), data=error)
    finally:
        # What this run grew in the processes that ran its trials goes (process-pool workers
        # exit with their pool): the flow's own, and every Dask worker's.
        forget_split(ref.fingerprint)
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

    trials = report.trials_table(search.observations, cfg.search.param_names)
    cv = report.cv_metrics(search.observations, cfg.search.scoring, search.name)
    if cfg.search.time_budget is not None:
        cv["time_budget_spent"] = search.closed
    winner = {
        "candidate": best.trial.candidate,
        "trial": best.trial.number,
        "label": best.trial.label,
        "params": best.trial.params,
        "n_resources": refit_budget(best, cfg.search.resource),
    }
    # The baseline the winner is measured against besides LightGBM's own defaults: the defaults'
    # trial, refit at the round count early stopping chose for it (the train stage refits both).
    defaults = next((o for o in search.observations if o.trial.is_defaults and o.status == "ok"), None)
    if defaults is not None:
        winner["defaults_trial"] = {
            "params": defaults.trial.params, "n_resources": refit_budget(defaults, cfg.search.resource),
        }
    paths = io.write_search_outputs(
        root, trials, report.progress_table(trials), cv, winner,
        importance.param_importances(trials, cfg.search.flat_space, cfg.base.seed),
        importance.parallel_coordinates(trials, cfg.search.flat_space),
    )
    io.write_timings(root, report.timings_table(search.observations))
    artifact = _publish_leaderboard(trials)
    at = _at_round(best).replace(",", "", 1)
    logger.info(
        "winner: %s, CV %s %.5f%s (the best at the largest budget). Outputs: %s",
        best.trial.label, cfg.search.scoring, cv["best_score"], at, ", ".join(str(p) for p in paths),
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

"""The tune stage's core: the ask / tell loop over trials run elsewhere, its progress, and the
winner's record. The flow (flows/tune.py) only supplies how a trial runs (a :class:`TrialRunner`
of Prefect tasks) and where the log goes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol

from tunepipe.models import Task, default_values
from tunepipe.results import Observation, Trial, rank_order
from tunepipe.scoring import refit_budget
from tunepipe.search import Search
from tunepipe.space import KIND

if TYPE_CHECKING:
    from tunepipe.config import Config


class TrialRunner(Protocol):
    """Runs trials somewhere (task runner threads, processes, a cluster); a handle names each."""

    def submit(self, trial: Trial) -> Hashable:
        """Start ``trial``; return a handle for it."""

    def next_finished(self, handles: list[Hashable]) -> Hashable:
        """Wait until one of ``handles`` has finished; return it."""

    def observation(self, handle: Hashable, trial: Trial) -> Observation:
        """What the finished ``handle`` (of ``trial``) observed (a failed trial if the run failed)."""


def at_round(o: Observation) -> str:
    """``, at its best round count 696 of 1000`` (or past its budget, boosting on while improving)."""
    if o.best_budget is None:
        return ""
    if o.best_budget > o.trial.budget:
        return f", at its best round count {o.best_budget} (boosted past its budget of {o.trial.budget} while improving)"
    return f", at its best round count {o.best_budget} of {o.trial.budget}"


class Progress:
    """Logs the search's progress about ten times: trials done, from the cache, failed, best so far."""

    def __init__(self, n_trials: int, log: Callable[[str], None]) -> None:
        self.n_trials = n_trials
        self.log = log
        self.step = max(1, n_trials // 10)
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
        if self.done % self.step == 0 or self.done == self.n_trials:
            best = "n/a"
            if self.best is not None:
                t = self.best.trial
                best = f"{self.best.mean_score:.5f} ({t.label}, budget {t.budget}{at_round(self.best)})"
            raced = f", {self.pruned} stopped by racing" if self.pruned else ""
            self.log(
                f"{self.done}/{self.n_trials} trials done ({self.cached} from the trial cache, "
                f"{self.failed} failed{raced}); best so far {best}"
            )


def run_search(
    search: Search,
    runner: TrialRunner,
    progress: Progress,
    *,
    cached: Callable[[Trial], Observation | None],
    time_budget: float | None = None,
    slots: int | None = None,
    after_tell: Callable[[], None] = lambda: None,
) -> None:
    """The ask / tell loop: cached trials are told at once, the others go to ``runner``.

    Observations may finish in any order; the search applies them in trial-number order, so
    what it asks next never depends on which trial finished first. Once ``time_budget`` seconds
    are spent no new trial is asked; the running ones finish and are told. With a time budget,
    trials go to the runner only as it has a free slot (``slots`` at once): a trial queued there
    could not be withdrawn once the budget is spent.
    """
    deadline = time.monotonic() + time_budget if time_budget is not None else None
    running: dict[Hashable, Trial] = {}
    while not search.done:
        if deadline is not None and not search.closed and time.monotonic() >= deadline:
            search.close()
            progress.log(
                f"time budget of {time_budget:g}s spent after {progress.done} trials: no new trial starts; "
                f"{len(running)} running to finish"
            )
            continue
        told = False
        limit = None if deadline is None or slots is None else slots - len(running)
        for asked in search.ask(limit):
            hit = cached(asked)
            if hit is not None:
                search.tell(hit)
                progress.record(hit, cached=True)
                told = True
            else:
                running[runner.submit(asked)] = asked
        if told:
            continue  # a cached observation may let the search ask more right away
        if not running:
            raise RuntimeError("the search waits for an observation, but no trial is running")
        finished = runner.next_finished(list(running))
        observation = runner.observation(finished, running.pop(finished))
        search.tell(observation)
        progress.record(observation, cached=False)
        after_tell()


def winner_record(search: Search, resource: str) -> dict[str, Any]:
    """``models/winner.json``: the best trial at the largest budget and what the refit needs, and
    the defaults' trial, refit too as the baseline besides the model's plain defaults."""
    best = search.best
    winner: dict[str, Any] = {
        "candidate": best.trial.candidate,
        "trial": best.trial.number,
        "label": best.trial.label,
        "params": best.trial.params,
        "n_resources": refit_budget(best, resource),
    }
    if best.trial.schedule is not None:
        # Population-based training: the refit replays every segment (rounds, parameters in force).
        winner["schedule"] = [{"rounds": s.rounds, "params": s.params} for s in best.trial.segments]
    if KIND in best.trial.params:
        winner["kind"] = best.trial.params[KIND]
    # Refit at the round count early stopping chose for it (the train stage refits both). With
    # several kinds, the best kind's defaults in CV (the holdout is not looked at to choose).
    defaults = next(iter(rank_order([o for o in search.observations if o.trial.is_defaults and o.status == "ok"])), None)
    if defaults is not None:
        winner["defaults_trial"] = {"params": defaults.trial.params, "n_resources": refit_budget(defaults, resource)}
    return winner


def defaults_of(cfg: Config, task: Task) -> dict[str, Any] | list[dict[str, Any]]:
    """The defaults' trial: the model's default values of the searched parameters. With several
    model kinds, one configuration per kind (its ``kind`` and its own defaults), in the order listed."""
    if not cfg.model.several:
        return default_values(cfg.model.kind, task, cfg.search.param_names, cfg.model.params)  # type: ignore[arg-type]
    return [
        {KIND: kind, **default_values(kind, task, sorted(cfg.search.space_of(kind)), cfg.model.params_of(kind))}
        for kind in cfg.model.kinds
    ]

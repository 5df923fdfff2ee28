"""The one ask / tell loop every strategy runs through: a sampler (what) and a scheduler (how much).

The flow asks for trials, runs them however it likes, and tells their observations back in any
order. Observations are applied in trial-number order, and trials are asked only while at most
``window`` of them are pending, so every decision (which configuration, which budget, which
promotion) is a function of the seed, the params and the observations in trial-number order,
never of completion order, the number of workers or the runner.
"""

from __future__ import annotations

from typing import Any

from tunepipe.results import DEFAULTS, Observation, Trial, winner
from tunepipe.search._types import History
from tunepipe.search.samplers import Sampler
from tunepipe.search.schedulers import Scheduler


class Search:
    """A sampler paired with a scheduler, behind ``ask`` / ``tell``.

    Args:
        sampler: Proposes new configurations.
        scheduler: Decides budgets and promotions.
        window: Most trials pending (asked, not yet applied) at a time; None for no limit. It
            bounds how stale a model-based sampler's view or an asynchronous scheduler's rungs
            may be, so it is part of the search's definition; a strategy whose decisions cannot
            depend on it (nothing learns from results until a rung is complete) runs unbounded.
        name: The strategy's name, for logs and reports.
        notes: Lines for the run's log about how the params were read (keys the strategy does
            not read, a grid's size).
        defaults: The model's default configuration, asked first (trial 0) at ``defaults_budget``
            whatever the strategy: the winner, the best at the largest budget, then scores at
            least as well as the defaults in cross-validation. A list: one per model kind of a
            search over several, trials 0..k-1 (candidates -1, -2, ...), so the winner is at least
            the best kind's defaults. None: not asked.
        defaults_budget: The budget of the defaults' trial (the search's largest).
        ceiling: The most boosting rounds a trial at the largest budget may train to while its CV
            score still improves there (early stopping decides; None: trials stop at their budget).

    Example:
        >>> while not search.done:                       # doctest: +SKIP
        ...     for trial in search.ask():
        ...         submit(trial)
        ...     search.tell(next_finished())
    """

    def __init__(
        self,
        sampler: Sampler,
        scheduler: Scheduler,
        *,
        window: int | None,
        name: str,
        notes: list[str] | None = None,
        defaults: dict[str, Any] | list[dict[str, Any]] | None = None,
        defaults_budget: int = 0,
        ceiling: int | None = None,
    ) -> None:
        if window is not None and window < 1:
            raise ValueError(f"window is {window}, but must be >= 1 or None")
        self.sampler = sampler
        self.scheduler = scheduler
        self.window = window
        self.name = name
        self.notes = list(notes or [])
        self.history = History()
        self.top = defaults_budget
        self.ceiling = ceiling
        self.closed = False
        self._params: dict[int, dict[str, Any]] = {}
        self._by: dict[int, str] = {}
        self._early: dict[int, Observation] = {}
        self._fresh: list[Trial] = []
        for i, config in enumerate([defaults] if isinstance(defaults, dict) else defaults or []):
            candidate = DEFAULTS - i
            self._params[candidate] = dict(config)
            trial = Trial(
                i, candidate, dict(config), defaults_budget, bracket=DEFAULTS, proposed_by="defaults",
                ceiling=self._ceiling(defaults_budget),
            )
            self.history.trials.append(trial)
            self._fresh.append(trial)

    def ask(self, limit: int | None = None) -> list[Trial]:
        """Every trial that can start now and has not been handed out (possibly none: then wait
        for an observation); at most ``limit`` of them, the rest stay for a later ``ask`` (and
        are withdrawn by :meth:`close`). The limit changes what is handed out when, never which
        trials the search asks for."""
        self._issue()
        cut = len(self._fresh) if limit is None else max(0, limit)
        fresh, self._fresh = self._fresh[:cut], self._fresh[cut:]
        return fresh

    def tell(self, observation: Observation) -> list[Observation]:
        """Report one trial's observation; returns those applied now, in trial-number order.

        An observation that arrives before a lower-numbered trial's is held until that one
        arrives: the search sees observations in trial-number order only. After each one it
        applies, it issues what the new history allows, so trial numbers do not depend on how
        many observations arrived together.
        """
        number = observation.trial.number
        if number >= len(self.history.trials) or self.history.trials[number] != observation.trial:
            raise ValueError(f"tell() got an observation of {observation.trial.label}, which was not asked")
        if number < len(self.history.observations) or number in self._early:
            raise ValueError(f"tell() got {observation.trial.label} twice")
        self._early[number] = observation
        applied = []
        while (next_number := len(self.history.observations)) in self._early:
            applied.append(self._early.pop(next_number))
            self.history.observations.append(applied[-1])
            self._issue()
        return applied

    def _issue(self) -> None:
        """Ask the scheduler (and the sampler) for every trial the history allows now."""
        history = self.history
        while not self.closed and (self.window is None or len(history.pending) < self.window):
            slot = self.scheduler.next(history)
            if slot is None:
                return
            number = len(history.trials)
            if slot.candidate is None:
                candidate = history.n_candidates
                self._params[candidate] = self.sampler.sample(candidate, number, history)
                self._by[candidate] = self.sampler.proposed_by(number, history)
            else:
                candidate = slot.candidate
            if slot.params is not None:  # the scheduler's own (population-based training's explore)
                self._params[candidate], self._by[candidate] = dict(slot.params), "pbt"
            trial = Trial(
                number, candidate, dict(self._params[candidate]), slot.budget, slot.bracket, slot.rung,
                race=slot.race, proposed_by=self._by[candidate],
                ceiling=self._ceiling(slot.budget) if slot.schedule is None else None,
                schedule=slot.schedule, parent=slot.parent,
            )
            history.trials.append(trial)
            self._fresh.append(trial)

    def _ceiling(self, budget: int) -> int | None:
        return self.ceiling if self.ceiling is not None and budget == self.top else None

    def close(self) -> None:
        """Ask for nothing more (the time budget is spent): trials handed out still finish and are
        told; those issued but not yet handed out are withdrawn, as if never asked."""
        self.closed = True
        withdrawn = len(self._fresh)
        if withdrawn:
            del self.history.trials[-withdrawn:]  # the fresh trials are the newest ones
            self._fresh = []

    @property
    def done(self) -> bool:
        """Nothing pending, and the scheduler has nothing more to run (or the search is closed)."""
        return not self.history.pending and (self.closed or self.scheduler.next(self.history) is None)

    def alive(self) -> list[Trial] | None:
        """The latest trial of each configuration that may still run: pending, or promotable
        later (None: the scheduler cannot tell, any may). Its live boosters are what a later
        trial of the configuration continues."""
        promotable = self.scheduler.alive(self.history)
        if promotable is None:
            return None
        keep = promotable | {t.candidate for t in self.history.pending}
        latest = {t.candidate: t for t in self.history.trials if t.candidate in keep}
        return [latest[c] for c in sorted(latest)]

    @property
    def n_trials_planned(self) -> int:
        """Trials the search plans to run, the defaults' included (for asynchronous schedulers,
        as a run without failures would)."""
        defaults = sum(t.is_defaults for t in self.history.trials)
        return defaults + sum(sum(b.n_configs) for b in self.scheduler.plan())

    @property
    def observations(self) -> list[Observation]:
        """Every observation applied, in trial-number order."""
        return list(self.history.observations)

    @property
    def best(self) -> Observation:
        """The winner: the best observation at the largest budget reached."""
        return winner(self.history.observations)

"""The scheduler contract: how much budget, and which configuration to run next (never what to try)."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from collections.abc import Sequence

from tunepipe.results import Observation, Race, Segment, rank_order
from tunepipe.search._types import History
from tunepipe.space import KIND


@dataclass(frozen=True)
class Slot:
    """What a scheduler wants run next.

    Attributes:
        bracket: Hyperband bracket (0 for single-bracket schedulers).
        rung: Rung within the bracket.
        budget: Resource level.
        candidate: The configuration to promote; None asks the sampler for a new one.
        race: The race the trial runs against the incumbent (fold-wise racing), or None.
        params: New parameters for ``candidate`` from this trial on (population-based training's
            explore), or None: its own.
        schedule: The segments trained before the parameters (population-based training), or None.
        parent: The member whose trees the trial takes over (population-based training's exploit).
    """

    bracket: int
    rung: int
    budget: int
    candidate: int | None = None
    race: Race | None = None
    params: dict[str, Any] | None = None
    schedule: tuple[Segment, ...] | None = None
    parent: int | None = None


@dataclass(frozen=True)
class Bracket:
    """One bracket of a scheduler's plan: configurations and budget per rung.

    Attributes:
        number: The bracket's number in trials (Hyperband's ``s``, the rungs it halves through;
            0 for single-bracket schedulers).
        n_configs: Configurations per rung (for asynchronous schedulers, what a run without
            failures reaches).
        budgets: Budget per rung.
        first_candidate: Its own configurations are numbered from here, in bracket order.
    """

    number: int
    n_configs: list[int]
    budgets: list[int]
    first_candidate: int = 0


class Scheduler(ABC):
    """Decides budgets and promotions from the history alone (observations in trial-number order).

    ``next`` is a pure function of the history: the driver calls it until it returns None (nothing
    to run until another observation is applied); a search is over when nothing is pending and
    ``next`` returns None.
    """

    #: How many new configurations the scheduler will ask the sampler for, when it knows.
    n_configs: int | None = None

    @abstractmethod
    def next(self, history: History) -> Slot | None:
        """The next trial to run given ``history``, or None if there is none for now."""

    def alive(self, history: History) -> set[int] | None:
        """Candidates that may still run at a larger budget (None: any may).

        The flow frees the live boosters of every other configuration (continued boosting keeps
        them only for a promotion).
        """
        return None

    @abstractmethod
    def plan(self) -> list[Bracket]:
        """The planned shape, one :class:`Bracket` each."""


def latest_rung(history: History, bracket: int, n_rungs: int) -> set[int]:
    """The candidates of ``bracket``'s latest rung, if a later rung may promote them."""
    rungs = [t.rung for t in history.trials if t.bracket == bracket]
    if not rungs or max(rungs) >= n_rungs - 1:
        return set()
    return {t.candidate for t in history.trials_at(bracket, max(rungs))}


def promotion_order(observations: Sequence[Observation]) -> list[Observation]:
    """A rung's observations in the order they are promoted: best first (:func:`rank_order`).

    With several model kinds, a kind is compared only with itself below the full budget: a
    budget is the same share of each kind's full budget, but one kind's early rounds say little
    about another's (3 boosting rounds against a logistic regression fitted in full). So the
    slots go round by rank within kind: every kind's best first, then every kind's second, ...;
    within a round the better score goes first (then the lower trial number).
    """
    if not any(KIND in o.trial.params for o in observations):
        return rank_order(observations)
    within: dict[int, int] = {}
    seen: dict[object, int] = {}
    for o in rank_order(observations):
        kind = o.trial.params.get(KIND)
        within[o.trial.number] = seen.get(kind, 0)
        seen[kind] = within[o.trial.number] + 1
    overall = {o.trial.number: i for i, o in enumerate(rank_order(observations))}
    return sorted(observations, key=lambda o: (within[o.trial.number], overall[o.trial.number]))


def keep(n: int, factor: float) -> int:
    """How many of ``n`` observations a synchronous rung promotes (Li et al.: ``floor(n / factor)``)."""
    return math.floor(n / factor)


def geometric_budgets(min_resources: int, max_resources: int, factor: float) -> list[int]:
    """Rung budgets ``max * factor**-k`` down to the smallest >= ``min_resources``, smallest first.

    The top rung is ``max_resources`` exactly, so the best configurations always reach the full
    budget (Li et al., Hyperband: ``r_i = R * eta**(i - s)``).
    """
    if not 1 <= min_resources <= max_resources:
        raise ValueError(f"need 1 <= min_resources ({min_resources}) <= max_resources ({max_resources})")
    n_rungs = 1
    # Integer test, not log(): log(810 / 10, 3) is 3.9999999999999996 in floating point.
    while min_resources * factor**n_rungs <= max_resources * (1 + 1e-12):
        n_rungs += 1
    return [max(1, int(max_resources / factor ** (n_rungs - 1 - k) + 1e-9)) for k in range(n_rungs)]

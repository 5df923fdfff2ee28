"""Population-based training over boosting rounds: exploit the best members, explore around them.

Jaderberg et al., "Population Based Training of Neural Networks" (arXiv:1711.09846, 2017), with
its truncation selection and perturbation (as Ray Tune's ``PopulationBasedTraining``). Ours has
boosting rounds as the time axis and cross-validation as the evaluation: a population of
configurations boosts on every fold in steps of ``interval`` rounds; after each step the members
are ranked by mean CV score at that round count, and each member of the bottom quantile takes over
a top member's trees so far (*exploit*) with that member's parameters perturbed (*explore*) for
the rounds to come. What a member trained is a schedule of (rounds, parameters) segments, which
the refit replays (LightGBM's ``reset_parameter`` between rounds).

Like Ray Tune's, this scheduler decides the perturbed configurations itself: the sampler draws the
first population, and explore is a step of the schedule, not a draw from a model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunepipe.results import Observation, Segment, rank_order
from tunepipe.search._types import History
from tunepipe.search.schedulers._base import Bracket, Scheduler, Slot
from tunepipe.space import Distribution, to_sklearn

# Jaderberg et al.'s truncation selection takes 20 %; Ray Tune's default is 25 %.
QUANTILE = 0.25
# Ray Tune's default perturbation: multiply by 1.2 or 0.8, or resample with probability 0.25.
FACTORS = (1.2, 0.8)
RESAMPLE_PROBABILITY = 0.25


@dataclass(frozen=True)
class Move:
    """What a member does in a step.

    Attributes:
        member: The member (its candidate number).
        parent: The member whose trees it takes over (exploit), or None: it goes on with its own.
        params: Its parameters from this step on (the parent's, perturbed), or None: its own.
        schedule: The segments before ``params`` take over.
    """

    member: int
    parent: int | None
    params: dict[str, Any] | None
    schedule: tuple[Segment, ...]


def step_budgets(interval: int, max_resources: int) -> list[int]:
    """The round count at the end of each step: ``interval``, ``2 * interval``, ..., ``max_resources``."""
    if interval < 1:
        raise ValueError(f"interval is {interval}, but must be >= 1")
    n = math.ceil(max_resources / interval)
    return [min((k + 1) * interval, max_resources) for k in range(n)]


def n_exploited(population: int, quantile: float = QUANTILE) -> int:
    """How many members are replaced each step, and how many they copy from (at least one each)."""
    return max(1, math.floor(population * quantile))


class PopulationBasedTraining(Scheduler):
    """A population of ``population`` members, each trained in steps of ``interval`` rounds.

    Step 0 asks the sampler for the members' first configurations. Each later step waits for the
    previous one to be fully observed, then decides every member's move (:meth:`moves`), a pure
    function of the seed, the step and the previous step's observations.

    Args:
        population: Members (configurations trained at once).
        interval: Boosting rounds per step.
        max_resources: Rounds of the last step.
        space: The searched hyperparameters, for explore.
        frozen: Hyperparameters fixed when LightGBM bins a Dataset: never perturbed.
        seed: The search's seed; each (step, member) draws from its own stream.
        quantile: The share of members replaced each step (and copied from).

    Example:
        >>> PopulationBasedTraining(4, 100, 250, {}, frozenset(), 0).plan()[0].budgets
        [100, 200, 250]
    """

    def __init__(
        self, population: int, interval: int, max_resources: int, space: Mapping[str, Distribution],
        frozen: frozenset[str], seed: int, quantile: float = QUANTILE,
    ) -> None:
        if population < 2:
            raise ValueError(f"population is {population}, but must be >= 2")
        self.population, self.interval = population, interval
        self.budgets = step_budgets(interval, max_resources)
        self.space, self.frozen, self.seed = dict(space), frozen, seed
        self.quantile = quantile
        self.n_configs = population

    def plan(self) -> list[Bracket]:
        return [Bracket(0, [self.population] * len(self.budgets), list(self.budgets))]

    def next(self, history: History) -> Slot | None:
        if history.n_candidates < self.population:
            return Slot(0, 0, self.budgets[0], schedule=())
        for step in range(1, len(self.budgets)):
            previous = history.observed_at(0, step - 1)
            if len(previous) < len(history.trials_at(0, step - 1)):
                return None  # the previous step is still running
            issued = {t.candidate for t in history.trials_at(0, step)}
            if len(issued) == self.population:
                continue  # this step is handed out: the next one may wait for it
            for move in self.moves(step, previous):
                if move.member not in issued:
                    return Slot(
                        0, step, self.budgets[step], move.member,
                        params=move.params, schedule=move.schedule, parent=move.parent,
                    )
        return None

    def moves(self, step: int, previous: Sequence[Observation]) -> list[Move]:
        """Every member's move into ``step``, in member order, from its observations at ``step - 1``.

        Ranked as the winner is (NaN last, ties to the lower trial number, that is the lower
        member): the bottom ``n_exploited`` members each take a top member's schedule so far,
        picked at random, and that member's parameters perturbed by :meth:`explore`.
        """
        ranked = rank_order(previous)
        n = n_exploited(len(ranked), self.quantile) if len(ranked) >= 2 else 0
        top, bottom = ranked[:n], {o.trial.candidate for o in ranked[len(ranked) - n:]}
        moves = []
        for o in sorted(previous, key=lambda o: o.trial.candidate):
            member, own = o.trial.candidate, o.trial
            if member not in bottom:
                moves.append(Move(member, None, None, tuple(own.schedule or ())))
                continue
            rng = np.random.default_rng([self.seed, step, member])
            parent = top[int(rng.integers(len(top)))].trial
            moves.append(Move(member, parent.candidate, self.explore(parent.params, rng), tuple(parent.segments)))
        return moves

    def explore(self, params: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """``params`` perturbed: each searched, non-frozen hyperparameter (in name order) is
        resampled from its distribution with probability 0.25, else multiplied by 1.2 or 0.8
        (a choice moves to a neighbouring one), and kept within its range."""
        new = dict(params)
        for name in sorted(params):
            dist = self.space.get(name)
            if dist is None or name in self.frozen:
                continue
            resample = rng.random() < RESAMPLE_PROBABILITY
            up = rng.random() < 0.5
            if dist.choices is not None:
                choices = list(dist.choices)
                if resample:
                    new[name] = choices[int(rng.integers(len(choices)))]
                elif params[name] in choices:
                    i = choices.index(params[name]) + (1 if up else -1)
                    new[name] = choices[min(max(i, 0), len(choices) - 1)]
                continue
            assert dist.low is not None and dist.high is not None
            value = float(to_sklearn(dist).rvs(random_state=rng)) if resample else params[name] * FACTORS[0 if up else 1]
            value = min(max(value, dist.low), dist.high)
            new[name] = int(round(value)) if dist.type == "int" else float(value)
        return new

    def alive(self, history: History) -> set[int] | None:
        # Every member's latest boosters may be continued or copied by the next step.
        return set(range(self.population)) if self.budgets and not self._finished(history) else set()

    def _finished(self, history: History) -> bool:
        last = len(self.budgets) - 1
        return len(history.observed_at(0, last)) == self.population

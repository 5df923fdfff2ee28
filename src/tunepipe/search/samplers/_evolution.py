"""Evolutionary samplers through Optuna: CMA-ES and a genetic algorithm (NSGA-II, one objective).

Hansen & Ostermeier, "Completely Derandomized Self-Adaptation in Evolution Strategies" (2001), with
Hamano et al.'s margin for integer dimensions, "CMA-ES with Margin" (GECCO 2022): Optuna's
``CmaEsSampler``. Deb, Pratap, Agarwal & Meyarivan, "A Fast and Elitist Multiobjective Genetic
Algorithm: NSGA-II" (IEEE TEC 2002): Optuna's ``NSGAIISampler``, which with one objective is a
genetic algorithm with elitist selection, uniform crossover and mutation over generations.

Both keep their state (CMA-ES's mean and covariance, the GA's generations) in the study's trials,
so each search has one in-memory study for its whole life, created by this sampler and told every
observation in trial-number order before each draw: what it proposes is a function of the seed
and the observations in trial-number order, as for every sampler (the window bounds how many are
still running, which the study sees as running trials).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunepipe.results import Observation
from tunepipe.search._types import History
from tunepipe.search.samplers._base import Sampler
from tunepipe.search.samplers._tpe import quiet_optuna
from tunepipe.space import Distribution, plain, to_optuna


def cmaes_sampler(seed: int) -> optuna.samplers.BaseSampler:
    """Optuna's CMA-ES: with margin (integer hyperparameters such as ``num_leaves`` do not get
    stuck on one value), categorical ones drawn at random (Optuna's independent sampler), and
    one startup draw at random (Optuna's default)."""
    with warnings.catch_warnings():
        # "with_margin is an experimental feature": Optuna's flag, not something a user can act on.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.CmaEsSampler(
            seed=seed, with_margin=True, warn_independent_sampling=False,
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
        )


def ga_sampler(seed: int, population: int) -> optuna.samplers.BaseSampler:
    """Optuna's NSGA-II with one objective: generations of ``population`` configurations, the first
    drawn at random, each next one bred from the best so far (Optuna's default crossover and
    mutation rates)."""
    return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)


class EvolutionSampler(Sampler):
    """An Optuna sampler whose state lives in its study, behind the sampler contract.

    Args:
        space: Hyperparameter -> distribution.
        name: ``cmaes`` or ``ga``: what ``proposed_by`` says of a bred configuration.
        optuna_sampler: The Optuna sampler (seeded by the search's seed).
        bred: Whether an asked trial was proposed by the model (not the sampler's random start).
    """

    def __init__(
        self,
        space: dict[str, Distribution],
        name: str,
        optuna_sampler: optuna.samplers.BaseSampler,
        bred: Callable[[FrozenTrial], bool],
    ) -> None:
        self.name = name
        self._distributions = {k: to_optuna(d) for k, d in sorted(space.items())}
        with quiet_optuna():
            self._study = optuna.create_study(direction="maximize", sampler=optuna_sampler)
        self._bred = bred
        self._optuna_number: dict[int, int] = {}  # candidate -> the study's trial number
        self._told = 0  # observations of the history told to the study so far
        self._last: tuple[int, bool] | None = None  # (trial number, bred) of the latest draw

    def sample(self, candidate: int, number: int, history: History) -> dict[str, Any]:
        self._tell(history.observations)
        with quiet_optuna():
            asked = self._study.ask(self._distributions)
        self._optuna_number[candidate] = asked.number
        frozen = self._study._storage.get_trial(asked._trial_id)
        self._last = (number, self._bred(frozen))
        return {name: plain(value) for name, value in asked.params.items()}

    def proposed_by(self, number: int, history: History) -> str:
        """``name`` for a bred configuration, ``random`` for the random start (asked after
        :meth:`sample` for the same trial)."""
        return self.name if self._last == (number, True) else "random"

    def _tell(self, observations: list[Observation]) -> None:
        """Tell the study the observations it has not seen, in trial-number order."""
        for o in observations[self._told:]:
            self._told += 1
            optuna_number = self._optuna_number.get(o.trial.candidate)
            if optuna_number is None or o.trial.is_defaults:
                continue  # the defaults' trial was not drawn by the study
            state, value = _state(o)
            with quiet_optuna():
                self._study.tell(optuna_number, value if state == TrialState.COMPLETE else None, state=state,
                                 skip_if_finished=True)


def _state(o: Observation) -> tuple[TrialState, float | None]:
    """Completed with its mean CV score; stopped by racing (pruned: CMA-ES and the GA leave it out
    of their generation, which draws another in its place); or failed."""
    if o.status == "ok" and not math.isnan(o.mean_score):
        return TrialState.COMPLETE, o.mean_score
    if o.status == "pruned":
        return TrialState.PRUNED, None
    return TrialState.FAIL, None


def is_cma_draw(trial: FrozenTrial) -> bool:
    """Whether CMA-ES drew the trial's numeric hyperparameters (it marks them with its generation)."""
    return any(key in ("cma:generation", "cmawm:generation", "sepcma:generation") for key in trial.system_attrs)


def is_bred(trial: FrozenTrial) -> bool:
    """Whether the GA bred the trial (generation 1 on; generation 0 is drawn at random)."""
    return trial.system_attrs.get(optuna.samplers.NSGAIISampler._get_generation_key(), 0) > 0

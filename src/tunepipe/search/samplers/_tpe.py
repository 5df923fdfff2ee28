"""Bayesian optimisation with the Tree-structured Parzen Estimator, through Optuna.

Bergstra, Bardenet, Bengio & Kégl, "Algorithms for Hyper-Parameter Optimization" (NeurIPS 2011);
Watanabe, "Tree-Structured Parzen Estimator: Understanding Its Algorithm Components..." (2023).
TPE itself is Optuna's ``TPESampler``: for each trial an in-memory study is rebuilt from the
history (observations as completed or failed trials, pending trials as running ones, which
Optuna's constant liar keeps TPE from proposing again) and asked for one trial.

With ``random_fraction`` and a model fitted on the largest budget that has enough observations,
it is BOHB's sampler (Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter
Optimization at Scale", ICML 2018), paired with the Hyperband scheduler.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState, create_trial

from tunepipe.space import Distribution
from tunepipe.results import Observation
from tunepipe.search._types import History
from tunepipe.search.samplers._base import Sampler
from tunepipe.search.samplers._random import RandomSampler
from tunepipe.space import plain, to_optuna

# Optuna's default: TPE needs this many observations before its model beats random draws.
DEFAULT_STARTUP = 10


class TPESampler(Sampler):
    """TPE on the observations of one budget; random draws until it has enough of them.

    Raced-out trials enter the model as Optuna's pruned trials: ranked below every fully scored
    trial (racing stopped them as surely worse than one), among themselves by the mean of the
    folds they ran. They are in TPE's "bad" group, so a region where trials keep being raced out
    loses density; they count towards ``n_startup``.

    Args:
        space: Hyperparameter -> distribution.
        seed: The search's seed; trial ``number``'s draw is seeded by ``(seed, number)``.
        random: The random sampler for startup draws and the random fraction: before the model
            has ``n_startup`` observations, configuration ``k`` is the random search's ``k``-th.
        n_startup: Observations at one budget the model needs (TPE: 10, Optuna's default;
            BOHB: d + 1, with d the number of hyperparameters).
        random_fraction: Share of configurations drawn at random even once the model can
            propose (BOHB: 1/3, which keeps its convergence guarantee).
    """

    name = "tpe"

    def __init__(
        self,
        space: dict[str, Distribution],
        seed: int,
        random: RandomSampler,
        *,
        n_startup: int = DEFAULT_STARTUP,
        random_fraction: float = 0.0,
    ) -> None:
        self._space = dict(sorted(space.items()))
        self._distributions = {name: to_optuna(d) for name, d in self._space.items()}
        self._seed = seed
        self._random = random
        self.n_startup = n_startup
        self.random_fraction = random_fraction

    def proposed_by(self, number: int, history: History) -> str:
        """``tpe`` once the model has ``n_startup`` observations at one budget, else ``random``
        (the startup draws, and BOHB's random fraction)."""
        seeds = np.random.SeedSequence([self._seed, number]).generate_state(2)
        if self.random_fraction and np.random.default_rng(seeds[0]).random() < self.random_fraction:
            return "random"
        return "random" if self.model_budget(history) is None else "tpe"

    def sample(self, candidate: int, number: int, history: History) -> dict[str, Any]:
        if self.proposed_by(number, history) == "random":
            return self._random.sample(candidate, number, history)
        budget = self.model_budget(history)
        seeds = np.random.SeedSequence([self._seed, number]).generate_state(2)
        # The defaults' trial may lie outside the space (reg_lambda 0 below a log range): TPE's
        # model is built from the space's own configurations.
        trials = [self._frozen(o.trial.params, *_outcome(o))
                  for o in history.observations if o.trial.budget == budget and not o.trial.is_defaults]
        trials += [self._frozen(t.params) for t in history.pending if t.budget == budget and not t.is_defaults]
        sampler = optuna.samplers.TPESampler(
            seed=int(seeds[1]), n_startup_trials=0, multivariate=True, constant_liar=True
        )
        with quiet_optuna():
            study = optuna.create_study(direction="maximize", sampler=sampler)
            study.add_trials(trials)
            asked = study.ask(self._distributions)
        return {name: plain(value) for name, value in asked.params.items()}

    def model_budget(self, history: History) -> int | None:
        """The largest budget with at least ``n_startup`` informative observations (None: none has).

        Informative: scored on every fold, or stopped by racing after scoring some folds. A
        raced-out trial is evidence too (it was surely worse than the incumbent), and with racing
        most trials of a search are raced out: counting only fully scored ones left the model
        idle for a whole default run.
        """
        counts: dict[int, int] = {}
        for o in history.observations:
            if not o.trial.is_defaults and _outcome(o)[0] != TrialState.FAIL:
                counts[o.trial.budget] = counts.get(o.trial.budget, 0) + 1
        enough = [b for b, n in counts.items() if n >= self.n_startup]
        return max(enough) if enough else None

    def _frozen(
        self, params: dict[str, Any], state: TrialState = TrialState.RUNNING, value: float | None = None,
        steps: dict[int, float] | None = None,
    ) -> FrozenTrial:
        """An Optuna trial for ``params`` in ``state``, with its value or its intermediate values."""
        inside = {name: _clip(params[name], dist) for name, dist in self._space.items()}
        return create_trial(
            state=state, value=value, params=inside, distributions=self._distributions, intermediate_values=steps,
        )


def _outcome(o: Observation) -> tuple[TrialState, float | None, dict[int, float] | None]:
    """How Optuna sees an observation: completed with its mean score, failed, or pruned (stopped by
    fold-wise racing) with the mean of the folds it ran as its last intermediate value, which TPE
    ranks below every completed trial."""
    if o.status == "ok":
        return TrialState.COMPLETE, o.mean_score, None
    ran = [s for s in o.fold_scores if not math.isnan(s)]
    if o.status == "pruned" and ran:
        return TrialState.PRUNED, None, {len(ran): float(np.mean(ran))}
    return TrialState.FAIL, None, None


def _clip(value: Any, dist: Distribution) -> Any:
    """A value inside its range: rounding a draw (space.plain) may step just past a bound."""
    if dist.choices is not None or not isinstance(value, (int, float)) or math.isnan(value):
        return value
    assert dist.low is not None and dist.high is not None
    return type(value)(min(max(value, dist.low), dist.high))


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Without Optuna's INFO line per study: one study is built per trial, the user never sees it."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)

"""Bayesian optimisation with the Tree-structured Parzen Estimator, through Optuna.

Bergstra, Bardenet, Bengio & Kégl, "Algorithms for Hyper-Parameter Optimization" (NeurIPS 2011);
Watanabe, "Tree-Structured Parzen Estimator: Understanding Its Algorithm Components..." (2023).
TPE itself is Optuna's ``TPESampler``: for each trial an in-memory study is rebuilt from the
history (observations as completed or failed trials, pending trials as running ones, which
Optuna's constant liar keeps TPE from proposing again) and asked for one trial.

With ``random_fraction`` and a model fitted on the largest budget that has enough observations,
it is BOHB's sampler (Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter
Optimization at Scale", ICML 2018), paired with the Hyperband scheduler.

With several model kinds the space is conditional: TPE first picks ``kind``, then that kind's
hyperparameters, each named ``<kind>__<name>`` in Optuna's study (two kinds' ``max_features``
are different dimensions). Optuna's multivariate TPE with ``group=True`` models each set of
hyperparameters that occur together (one kind's) jointly, over the trials that have them, and
``kind`` over every trial: a kind whose trials keep landing in the worse group is proposed less
(TPE's own allocation among kinds, as in Optuna's documented conditional search).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import warnings

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from tunepipe.space import Distribution
from tunepipe.results import Observation
from tunepipe.search._types import History
from tunepipe.search.samplers._base import Sampler
from tunepipe.search.samplers._random import RandomSampler
from tunepipe.space import KIND, plain, to_optuna

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
        space: dict[str, Distribution] | list[dict[str, Distribution]],
        seed: int,
        random: RandomSampler,
        *,
        n_startup: int = DEFAULT_STARTUP,
        random_fraction: float = 0.0,
    ) -> None:
        # One space per model kind (a list, each holding `kind`), or one space: then a single "kind".
        spaces = space if isinstance(space, list) else [space]
        self._conditional = isinstance(space, list)
        self._spaces: dict[Any, dict[str, Distribution]] = {
            (s[KIND].choices or [None])[0] if self._conditional else None:
                dict(sorted((n, d) for n, d in s.items() if not (self._conditional and n == KIND)))
            for s in spaces
        }
        self._kind_distribution = CategoricalDistribution(list(self._spaces))
        self._distributions = {
            kind: {_optuna_name(kind, n): to_optuna(d) for n, d in sub.items()} for kind, sub in self._spaces.items()
        }
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
        with warnings.catch_warnings():
            # "group is an experimental feature": Optuna's flag, not something a user can act on.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=int(seeds[1]), n_startup_trials=0, multivariate=True, constant_liar=True,
                group=self._conditional,
            )
        with quiet_optuna():
            study = optuna.create_study(direction="maximize", sampler=sampler)
            study.add_trials(trials)
            if not self._conditional:
                asked = study.ask(self._distributions[None])
                return {name: plain(value) for name, value in asked.params.items()}
            # Define-by-run: the kind first, then only its own hyperparameters.
            asked = study.ask()
            kind = asked.suggest_categorical(KIND, self._kind_distribution.choices)  # type: ignore[arg-type]
            values = {name: _suggest(asked, _optuna_name(kind, name), d) for name, d in self._spaces[kind].items()}
        return {KIND: kind, **{name: plain(value) for name, value in values.items()}}

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
        kind = params[KIND] if self._conditional else None
        inside = {_optuna_name(kind, name): _clip(params[name], dist) for name, dist in self._spaces[kind].items()}
        distributions: dict[str, BaseDistribution] = dict(self._distributions[kind])
        if self._conditional:
            inside, distributions = {KIND: kind, **inside}, {KIND: self._kind_distribution, **distributions}
        return create_trial(
            state=state, value=value, params=inside, distributions=distributions, intermediate_values=steps,
        )


def _optuna_name(kind: Any, name: str) -> str:
    """A hyperparameter's name in Optuna's study: ``<kind>__<name>`` with several kinds (each kind's
    hyperparameters are their own dimensions), else its own name."""
    return name if kind is None else f"{kind}__{name}"


def _suggest(trial: optuna.Trial, name: str, dist: Distribution) -> Any:
    """Optuna's suggestion for one hyperparameter of ``dist`` (define-by-run, conditional spaces)."""
    if dist.choices is not None:
        return trial.suggest_categorical(name, list(dist.choices))
    assert dist.low is not None and dist.high is not None
    if dist.type == "int":
        return trial.suggest_int(name, int(dist.low), int(dist.high), log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)


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

"""TPE (Optuna's) and BOHB's sampler: learn from results, seeded per trial, random where they must be."""

from __future__ import annotations

import math

import numpy as np

from tests.search.conftest import drive, fresh, observe
from tunepipe.config import Distribution
from tunepipe.results import Trial
from tunepipe.search import History
from tunepipe.search.samplers import RandomSampler, TPESampler
from tunepipe.search.schedulers import FIFO

SPACE = {
    "learning_rate": Distribution(low=0.001, high=1.0, log=True),
    "num_leaves": Distribution(low=2, high=512, type="int", log=True),
    "subsample": Distribution(low=0.1, high=1.0),
    "boosting": Distribution(choices=["gbdt", "dart", "goss"]),
}


def objective(t: Trial) -> float:
    """A known function of the params, best at lr 0.05, 64 leaves, subsample 0.8, goss."""
    p = t.params
    return -(
        (math.log10(p["learning_rate"]) - math.log10(0.05)) ** 2
        + (math.log2(p["num_leaves"]) - 6) ** 2 / 9
        + (p["subsample"] - 0.8) ** 2 * 4
        + (p["boosting"] != "goss") * 0.3
    )


def _best(sampler_kind: str, seed: int, n: int = 40) -> float:
    random = RandomSampler(SPACE, seed, n)
    sampler = random if sampler_kind == "random" else TPESampler(SPACE, seed, random)
    observations = drive(fresh(FIFO(n, budget=1), sampler, window=1), objective)
    return max(o.mean_score for o in observations)


def test_tpe_beats_random_search_on_average_at_equal_trials() -> None:
    tpe = [_best("tpe", seed) for seed in range(10)]
    random = [_best("random", seed) for seed in range(10)]
    assert np.mean(tpe) > np.mean(random)
    assert sum(t > r for t, r in zip(tpe, random)) >= 7


def test_startup_draws_are_the_random_searchs() -> None:
    random = RandomSampler(SPACE, 5, 20)
    tpe = TPESampler(SPACE, 5, RandomSampler(SPACE, 5, 20), n_startup=10)
    history = History()
    for k in range(10):
        assert tpe.sample(k, k, history) == random.sample(k, k, history)


def test_same_history_same_proposal_and_the_seed_is_per_trial() -> None:
    history = History()
    random = RandomSampler(SPACE, 0, 30)
    for k in range(12):
        t = Trial(k, k, random.sample(k, k, history), 1)
        history.trials.append(t)
        history.observations.append(observe(t, objective(t)))
    a = TPESampler(SPACE, 0, RandomSampler(SPACE, 0, 30)).sample(12, 12, history)
    b = TPESampler(SPACE, 0, RandomSampler(SPACE, 0, 30)).sample(12, 12, history)
    assert a == b
    assert TPESampler(SPACE, 0, RandomSampler(SPACE, 0, 30)).sample(12, 13, history) != a


def test_learns_from_the_largest_budget_with_enough_observations() -> None:
    tpe = TPESampler(SPACE, 0, RandomSampler(SPACE, 0, 30), n_startup=3)
    history = History()
    random = RandomSampler(SPACE, 0, 30)
    for k, budget in enumerate([1, 1, 1, 1, 3, 3, 9, 9, 9]):
        t = Trial(k, k, random.sample(k, k, history), budget)
        history.trials.append(t)
        history.observations.append(observe(t, 0.5))
    assert tpe.model_budget(history) == 9
    history.observations[-1] = observe(history.trials[-1], math.nan)  # a failure does not count
    assert tpe.model_budget(history) == 1


def test_bohb_draws_about_a_third_at_random() -> None:
    random = RandomSampler(SPACE, 1, 300)
    bohb = TPESampler(SPACE, 1, random, n_startup=5, random_fraction=1 / 3)
    history = History()
    for k in range(20):
        t = Trial(k, k, random.sample(k, k, history), 1)
        history.trials.append(t)
        history.observations.append(observe(t, objective(t)))
    draws = [bohb.sample(k, k, history) == random.sample(k, k, history) for k in range(20, 200)]
    assert 0.2 < np.mean(draws) < 0.47

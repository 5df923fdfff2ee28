"""TPE (Optuna's) and BOHB's sampler: learn from results, seeded per trial, random where they must be."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tests.search.conftest import drive, fresh, observe, table_data
from tunepipe.config import Distribution
from tunepipe.results import Trial
from tunepipe.search import History, Search
from tunepipe.search.racing import Racing
from tunepipe.search.samplers import RandomSampler, TPESampler
from tunepipe.search.schedulers import FIFO
from tunepipe.scoring import score_trial

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


# With racing on, through the real trial code (tunepipe.scoring) on a fake estimator: fold k of
# configuration (x, y) scores a known function plus the fold's difficulty plus a little noise.
FOLD_DIFFICULTY = (-0.10, -0.12, -0.08, -0.11, -0.09)
XY = {"x": Distribution(low=0.0, high=1.0), "y": Distribution(low=0.0, high=1.0)}


def _xy_score(p: dict[str, Any], fold: int) -> float:
    noise = np.random.default_rng([int(p["x"] * 1e9), int(p["y"] * 1e9), fold]).normal(0, 0.003)
    return -0.05 - (p["x"] - 0.3) ** 2 - (p["y"] - 0.7) ** 2 + FOLD_DIFFICULTY[fold] + noise


def _raced_search(sampler_kind: str, seed: int, setup: Any, n: int = 40) -> Search:
    X, y, folds = table_data(rows=2)
    random = RandomSampler(XY, seed, n)
    sampler = random if sampler_kind == "random" else TPESampler(XY, seed, random)
    search = Search(sampler, Racing(FIFO(n, budget=1)), window=1, name=sampler_kind)
    while not search.done:
        for t in search.ask():
            search.tell(score_trial(t, X, y, folds, setup, len(X)))
    return search


def _best_ok(search: Search) -> float:
    return max(o.mean_score for o in search.observations if o.status == "ok")


@pytest.mark.slow
def test_tpe_learns_from_raced_out_trials_and_beats_random_with_racing_on(table_kind: Any) -> None:
    setup = table_kind(_xy_score)
    tpe = [_raced_search("tpe", seed, setup) for seed in range(10)]
    random = [_raced_search("random", seed, setup) for seed in range(10)]
    # Racing stops most trials, and the model still engages: every configuration from the 11th
    # on is TPE's (10 startup draws), not only once 10 trials have been scored on every fold.
    assert sum(o.status == "pruned" for s in tpe for o in s.observations) > 10 * 10
    for search in tpe:
        by = [o.trial.proposed_by for o in search.observations]
        assert by[:10] == ["random"] * 10 and by[10:] == ["tpe"] * 30
    best_tpe, best_random = [_best_ok(s) for s in tpe], [_best_ok(s) for s in random]
    assert np.mean(best_tpe) > np.mean(best_random)
    assert sum(t > r for t, r in zip(best_tpe, best_random)) >= 7

"""Evolutionary samplers (Optuna's CMA-ES and NSGA-II) behind ask / tell: they breed from results,
deterministically whatever the completion order, and CMA-ES beats random draws on a smooth bowl."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.search.conftest import drive
from tunepipe.results import Trial
from tunepipe.search import Search
from tunepipe.search.samplers import EvolutionSampler, RandomSampler, cmaes_sampler, ga_sampler, is_bred, is_cma_draw
from tunepipe.search.schedulers import FIFO
from tunepipe.space import Distribution

SPACE = {
    "x": Distribution(low=-5.0, high=5.0),
    "y": Distribution(low=-5.0, high=5.0),
    "n": Distribution(low=1, high=64, type="int", log=True),
    "kind": Distribution(choices=["a", "b"]),
}


def bowl(trial: Trial) -> float:
    """Best at x = 1.5, y = -2, n = 8, kind = b; smooth in x, y and log n."""
    p = trial.params
    return -((p["x"] - 1.5) ** 2 + (p["y"] + 2) ** 2 + (math.log2(p["n"]) - 3) ** 2) - (p["kind"] == "a") * 0.5


def _search(kind: str, seed: int, n: int = 60, window: int = 4) -> Search:
    if kind == "cmaes":
        sampler = EvolutionSampler(SPACE, "cmaes", cmaes_sampler(seed), is_cma_draw)
    elif kind == "ga":
        sampler = EvolutionSampler(SPACE, "ga", ga_sampler(seed, 8), is_bred)
    else:
        sampler = RandomSampler(SPACE, seed, n)
    return Search(sampler, FIFO(n, 10), window=window, name=kind)


@pytest.mark.parametrize("kind", ["cmaes", "ga"])
def test_same_trials_whatever_the_completion_order(kind: str) -> None:
    runs = [[(o.trial.params, o.trial.proposed_by) for o in drive(_search(kind, seed=3), bowl, workers=w, seed=s)]
            for w, s in ((1, None), (2, 1), (4, 2))]
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize(("kind", "first_bred"), [("cmaes", 1), ("ga", 8)])
def test_configurations_are_bred_from_results_after_the_random_start(kind: str, first_bred: int) -> None:
    """CMA-ES: one random startup draw (Optuna's default); the GA: its first generation of 8."""
    by = [o.trial.proposed_by for o in drive(_search(kind, seed=0), bowl, workers=2, seed=0)]
    assert by[:first_bred] == ["random"] * first_bred
    # From there on the model proposes (a GA generation may hold a few more random draws while
    # the first one is still running: the window is 4).
    assert by[first_bred + 4:] == [kind] * (len(by) - first_bred - 4)


def test_cmaes_beats_random_draws_on_a_smooth_bowl() -> None:
    best = {kind: [max(o.mean_score for o in drive(_search(kind, seed), bowl, workers=2, seed=seed))
                   for seed in range(6)] for kind in ("cmaes", "random")}
    assert np.mean(best["cmaes"]) > np.mean(best["random"]), best


def test_raced_out_and_failed_trials_are_told_and_the_search_goes_on() -> None:
    def flaky(trial: Trial) -> float:
        return math.nan if trial.number % 5 == 0 else bowl(trial)

    observations = drive(_search("cmaes", seed=1, n=30), flaky, workers=2, seed=1)
    assert len(observations) == 30 and sum(o.status == "failed" for o in observations) == 6

"""Space sampling: seeded, within bounds, identical to scikit-learn's ParameterSampler."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.model_selection import ParameterSampler

from tunepipe.config import Distribution
from tunepipe.space import sample_candidates

SPACE = {
    "lr": Distribution(low=0.01, high=0.3, log=True),
    "leaves": Distribution(low=4, high=64, type="int"),
    "leaves_log": Distribution(low=8, high=256, type="int", log=True),
    "frac": Distribution(low=0.5, high=1.0),
    "kind": Distribution(choices=["a", "b", None]),
}


def test_same_seed_same_candidates_other_seed_others() -> None:
    assert sample_candidates(SPACE, 20, seed=3) == sample_candidates(SPACE, 20, seed=3)
    assert sample_candidates(SPACE, 20, seed=3) != sample_candidates(SPACE, 20, seed=4)


def test_values_respect_bounds_and_types() -> None:
    for params in sample_candidates(SPACE, 300, seed=0):
        assert 0.01 <= params["lr"] <= 0.3
        assert isinstance(params["leaves"], int) and 4 <= params["leaves"] <= 64
        assert isinstance(params["leaves_log"], int) and 8 <= params["leaves_log"] <= 256
        assert 0.5 <= params["frac"] <= 1.0
        assert params["kind"] in ("a", "b", None)


def test_int_bounds_are_inclusive() -> None:
    seen = {p["n"] for p in sample_candidates({"n": Distribution(low=1, high=3, type="int")}, 200, seed=0)}
    assert seen == {1, 2, 3}
    seen_log = {p["n"] for p in sample_candidates({"n": Distribution(low=1, high=3, type="int", log=True)}, 300, seed=0)}
    assert seen_log == {1, 2, 3}


def test_log_uniform_spreads_over_decades() -> None:
    values = np.array([p["lr"] for p in sample_candidates({"lr": Distribution(low=1e-4, high=1.0, log=True)}, 2000, seed=1)])
    # Each of the 4 decades gets about a quarter of the draws.
    counts = np.histogram(np.log10(values), bins=[-4, -3, -2, -1, 0])[0]
    assert counts.min() > 400


def test_equals_scikit_learn_parameter_sampler() -> None:
    space = {"lr": Distribution(low=0.01, high=0.3, log=True), "leaves": Distribution(low=4, high=64, type="int")}
    ours = sample_candidates(space, 10, seed=5)
    theirs = list(ParameterSampler({"leaves": stats.randint(4, 65), "lr": stats.loguniform(0.01, 0.3)}, 10, random_state=5))
    assert [(p["leaves"], p["lr"]) for p in ours] == [(int(p["leaves"]), p["lr"]) for p in theirs]


def test_small_grid_returns_whole_grid_once() -> None:
    grid = {"a": Distribution(choices=[1, 2]), "b": Distribution(choices=["x", "y"])}
    out = sample_candidates(grid, 10, seed=0)
    assert len(out) == 4
    assert {(p["a"], p["b"]) for p in out} == {(1, "x"), (1, "y"), (2, "x"), (2, "y")}


@pytest.mark.parametrize("n", [1, 7])
def test_returns_n_candidates_of_plain_python_values(n: int) -> None:
    out = sample_candidates(SPACE, n, seed=0)
    assert len(out) == n
    assert all(type(v) in (int, float, str, type(None)) for p in out for v in p.values())
    assert not any(isinstance(v, float) and math.isnan(v) for p in out for v in p.values())

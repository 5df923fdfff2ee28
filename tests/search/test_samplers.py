"""Random and grid samplers: seeded, within bounds, the same points as scikit-learn's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats
from sklearn.model_selection import ParameterGrid, ParameterSampler

from tests.search.conftest import drive, fresh
from tunepipe.config import Distribution
from tunepipe.search import History
from tunepipe.search.samplers import GridSampler, RandomSampler
from tunepipe.search.schedulers import FIFO

SPACE = {
    "lr": Distribution(low=0.01, high=0.3, log=True),
    "leaves": Distribution(low=4, high=64, type="int"),
    "leaves_log": Distribution(low=8, high=256, type="int", log=True),
    "frac": Distribution(low=0.5, high=1.0),
    "kind": Distribution(choices=["a", "b", None]),
}


def _draw(space: dict[str, Distribution], n: int, seed: int) -> list[dict[str, Any]]:
    sampler = RandomSampler(space, seed, n)
    return [sampler.sample(k, k, History()) for k in range(min(n, sampler.size or n))]


def test_same_seed_same_candidates_other_seed_others() -> None:
    assert _draw(SPACE, 20, seed=3) == _draw(SPACE, 20, seed=3)
    assert _draw(SPACE, 20, seed=3) != _draw(SPACE, 20, seed=4)


def test_the_first_draws_do_not_depend_on_how_many_follow() -> None:
    assert _draw(SPACE, 30, seed=3)[:9] == _draw(SPACE, 9, seed=3)


def test_values_respect_bounds_and_types() -> None:
    for params in _draw(SPACE, 300, seed=0):
        assert 0.01 <= params["lr"] <= 0.3
        assert isinstance(params["leaves"], int) and 4 <= params["leaves"] <= 64
        assert isinstance(params["leaves_log"], int) and 8 <= params["leaves_log"] <= 256
        assert 0.5 <= params["frac"] <= 1.0
        assert params["kind"] in ("a", "b", None)


def test_int_bounds_are_inclusive() -> None:
    assert {p["n"] for p in _draw({"n": Distribution(low=1, high=3, type="int")}, 200, seed=0)} == {1, 2, 3}
    assert {p["n"] for p in _draw({"n": Distribution(low=1, high=3, type="int", log=True)}, 300, seed=0)} == {1, 2, 3}


def test_log_uniform_spreads_over_decades() -> None:
    values = np.array([p["lr"] for p in _draw({"lr": Distribution(low=1e-4, high=1.0, log=True)}, 2000, seed=1)])
    counts = np.histogram(np.log10(values), bins=[-4, -3, -2, -1, 0])[0]
    assert counts.min() > 400  # each of the 4 decades gets about a quarter of the draws


def test_equals_scikit_learn_parameter_sampler_to_eight_digits() -> None:
    space = {"lr": Distribution(low=0.01, high=0.3, log=True), "leaves": Distribution(low=4, high=64, type="int")}
    ours = _draw(space, 10, seed=5)
    theirs = list(ParameterSampler({"leaves": stats.randint(4, 65), "lr": stats.loguniform(0.01, 0.3)}, 10, random_state=5))
    assert [p["leaves"] for p in ours] == [int(p["leaves"]) for p in theirs]
    np.testing.assert_allclose([p["lr"] for p in ours], [p["lr"] for p in theirs], rtol=5e-8)  # half a unit of the 8th digit
    # Rounded to 8 significant digits: a last-bit difference in exp/log between CPUs cannot show.
    assert all(p["lr"] == float(f"{p['lr']:.8g}") for p in ours)


def test_small_grid_of_choices_gives_each_point_once() -> None:
    grid = {"a": Distribution(choices=[1, 2]), "b": Distribution(choices=["x", "y"])}
    sampler = RandomSampler(grid, seed=0, n_configs=10)
    assert sampler.size == 4
    out = [sampler.sample(k, k, History()) for k in range(4)]
    assert {(p["a"], p["b"]) for p in out} == {(1, "x"), (1, "y"), (2, "x"), (2, "y")}


def test_values_are_plain_python() -> None:
    out = _draw(SPACE, 7, seed=0)
    assert all(type(v) in (int, float, str, type(None)) for p in out for v in p.values())
    assert not any(isinstance(v, float) and math.isnan(v) for p in out for v in p.values())


@pytest.mark.parametrize("space", [
    {"a": [1, 2, 3], "b": ["x", "y"]},
    [{"kernel": ["linear"], "C": [1, 10]}, {"kernel": ["rbf"], "C": [1], "gamma": [0.1, 0.01]}],
])
def test_grid_enumerates_parameter_grid_in_its_order(space: Any) -> None:
    grids = space if isinstance(space, list) else [space]
    ours = GridSampler([{k: Distribution(choices=v) for k, v in g.items()} for g in grids] if isinstance(space, list)
                       else {k: Distribution(choices=v) for k, v in space.items()})
    expected = list(ParameterGrid(space))
    assert ours.size == len(expected)
    observations = drive(fresh(FIFO(ours.size, budget=50), ours), lambda t: 0.0)
    assert [o.trial.params for o in observations] == expected
    assert {o.trial.budget for o in observations} == {50}


def test_fifo_runs_every_configuration_once_at_full_budget() -> None:
    observations = drive(fresh(FIFO(5, budget=200)), lambda t: float(t.params["a"] % 3))
    assert [(o.trial.number, o.trial.candidate, o.trial.rung, o.trial.budget) for o in observations] == [
        (i, i, 0, 200) for i in range(5)
    ]

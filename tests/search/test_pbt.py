"""Population-based training's schedule: steps of boosting rounds, who copies whom, what explore
changes, ties, and the same trials whatever the completion order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.search.conftest import ListSampler, drive, observe
from tunepipe.results import Observation, Segment, Trial
from tunepipe.search import Search
from tunepipe.search.samplers import RandomSampler
from tunepipe.search.schedulers import PopulationBasedTraining
from tunepipe.search.schedulers._pbt import n_exploited, step_budgets
from tunepipe.space import Distribution

SPACE = {
    "learning_rate": Distribution(low=0.01, high=0.3, log=True),
    "num_leaves": Distribution(low=4, high=64, type="int"),
    "min_child_samples": Distribution(low=5, high=100, type="int"),  # fixed at binning: never perturbed
    "boosting": Distribution(choices=["a", "b", "c", "d"]),
}
FROZEN = frozenset({"min_child_samples"})


def _pbt(population: int = 8, interval: int = 10, max_resources: int = 30, seed: int = 0) -> PopulationBasedTraining:
    return PopulationBasedTraining(population, interval, max_resources, SPACE, FROZEN, seed)


def _member(member: int, score: float, budget: int = 10, schedule: tuple[Segment, ...] = ()) -> Observation:
    params = {"learning_rate": 0.1, "num_leaves": 16 + member, "min_child_samples": 20, "boosting": "b"}
    return observe(Trial(member, member, params, budget, schedule=schedule), score)


@pytest.mark.parametrize(("interval", "max_resources", "budgets"), [
    (100, 1000, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]),
    (30, 100, [30, 60, 90, 100]),
    (1, 3, [1, 2, 3]),
    (50, 60, [50, 60]),
])
def test_steps_end_at_multiples_of_the_interval_and_at_max_resources(interval: int, max_resources: int, budgets: list[int]) -> None:
    assert step_budgets(interval, max_resources) == budgets


@pytest.mark.parametrize(("population", "replaced"), [(2, 1), (4, 1), (7, 1), (8, 2), (10, 2), (16, 4), (40, 10)])
def test_a_quarter_of_the_population_is_replaced_each_step(population: int, replaced: int) -> None:
    assert n_exploited(population) == replaced


# Scores of 8 members after step 0, by member: the two worst are 5 (0.50) and 2 (NaN: failed);
# the two best are 6 (0.95) and 1 (0.90).
SCORES = [0.80, 0.90, math.nan, 0.70, 0.75, 0.50, 0.95, 0.60]


def test_the_worst_quarter_copies_the_best_quarter_and_the_rest_go_on() -> None:
    moves = _pbt().moves(1, [_member(m, s) for m, s in enumerate(SCORES)])
    assert [m.member for m in moves] == list(range(8))
    copied = {m.member: m.parent for m in moves if m.parent is not None}
    assert set(copied) == {2, 5}
    assert set(copied.values()) <= {6, 1}
    for m in moves:
        if m.parent is None:
            assert m.params is None and m.schedule == ()  # goes on with its own trees and parameters


def test_ties_rank_the_lower_member_first() -> None:
    """Members 0..3 tie at 0.5 at the bottom: 3 is the worst of them (the higher trial number)."""
    scores = [0.5, 0.5, 0.5, 0.5, 0.9, 0.8, 0.7, 0.6]
    moves = _pbt().moves(1, [_member(m, s) for m, s in enumerate(scores)])
    assert {m.member for m in moves if m.parent is not None} == {2, 3}
    assert {m.parent for m in moves if m.parent is not None} <= {4, 5}


def test_a_copy_inherits_the_parents_schedule_so_far_and_explores_its_parameters() -> None:
    earlier = (Segment(10, {"learning_rate": 0.2, "num_leaves": 8, "min_child_samples": 20, "boosting": "a"}),)
    previous = [_member(0, 0.9, budget=20, schedule=earlier), _member(1, 0.1, budget=20)]
    (keep, copy) = _pbt(population=2).moves(2, previous)
    assert keep.parent is None and copy.parent == 0
    parent = previous[0].trial
    # The parent's first segment, then its own parameters for rounds 10..20.
    assert copy.schedule == (earlier[0], Segment(10, parent.params))
    assert copy.params is not None and copy.params["min_child_samples"] == 20  # frozen


def test_explore_multiplies_by_1_2_or_0_8_or_resamples_within_the_range_and_never_touches_frozen() -> None:
    pbt = _pbt()
    params = {"learning_rate": 0.1, "num_leaves": 20, "min_child_samples": 20, "boosting": "b"}
    seen = {"lr": set(), "leaves": set(), "choice": set()}
    resampled = 0
    n = 400
    for seed in range(n):
        new = pbt.explore(params, np.random.default_rng(seed))
        assert new["min_child_samples"] == 20
        assert 0.01 <= new["learning_rate"] <= 0.3 and 4 <= new["num_leaves"] <= 64
        assert isinstance(new["num_leaves"], int) and new["boosting"] in {"a", "b", "c", "d"}
        perturbed = math.isclose(new["learning_rate"], 0.12) or math.isclose(new["learning_rate"], 0.08)
        resampled += not perturbed
        seen["lr"].add(round(new["learning_rate"], 6))
        seen["leaves"].add(new["num_leaves"])
        seen["choice"].add(new["boosting"])
    # About a quarter of the draws resample (Ray Tune's resample_probability 0.25): 100 of 400,
    # sd 8.7; the bounds are 4.6 sd away.
    assert 60 <= resampled <= 140
    assert {0.12, 0.08} <= seen["lr"] and {24, 16} <= seen["leaves"]  # 20 x 1.2, 20 x 0.8
    assert {"a", "c"} <= seen["choice"]  # b's neighbours
    assert len(seen["choice"]) == 4  # d only by resampling


def test_explore_keeps_values_at_the_ends_of_the_range() -> None:
    pbt = _pbt()
    top = {"learning_rate": 0.3, "num_leaves": 64, "min_child_samples": 20, "boosting": "d"}
    values = [pbt.explore(top, np.random.default_rng(s)) for s in range(100)]
    assert max(v["learning_rate"] for v in values) == 0.3 and max(v["num_leaves"] for v in values) == 64
    assert {v["boosting"] for v in values} >= {"c", "d"}


def _search(population: int = 4, seed: int = 0) -> Search:
    pbt = PopulationBasedTraining(population, 10, 35, SPACE, FROZEN, seed)
    return Search(RandomSampler(SPACE, seed, population), pbt, window=None, name="pbt",
                  defaults={"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20, "boosting": "a"},
                  defaults_budget=35)


def _objective(trial: Trial) -> float:
    """Best learning rate about 0.05 at every step, later steps score higher."""
    return -abs(math.log(trial.params["learning_rate"] / 0.05)) + trial.budget / 100


def test_a_run_is_population_times_steps_trials_after_the_defaults() -> None:
    observations = drive(_search(), _objective)
    trials = [o.trial for o in observations]
    assert trials[0].is_defaults and trials[0].schedule is None
    assert [t.budget for t in trials[1:]] == [10] * 4 + [20] * 4 + [30] * 4 + [35] * 4
    assert [t.candidate for t in trials[1:]] == [0, 1, 2, 3] * 4
    assert _search().n_trials_planned == 17
    # Every step after the first replaces one member (a quarter of 4).
    for step in (1, 2, 3):
        assert sum(t.parent is not None for t in trials if t.rung == step) == 1
    # A copied member's schedule ends where the step starts.
    for t in trials[1:]:
        assert sum(s.rounds for s in t.schedule or ()) <= t.budget - 5


def test_the_population_moves_towards_the_best_learning_rate() -> None:
    """8 members, 6 seeds: the last step's members are on average closer to 0.05 (in log) than
    the first step's, which are random draws."""
    def spread(observations: list[Observation], step: int) -> float:
        at = [o for o in observations if o.trial.rung == step and not o.trial.is_defaults]
        return float(np.mean([abs(math.log(o.trial.params["learning_rate"] / 0.05)) for o in at]))

    runs = [drive(_search(population=8, seed=seed), _objective) for seed in range(6)]
    first, last = np.mean([spread(r, 0) for r in runs]), np.mean([spread(r, 3) for r in runs])
    assert last < 0.6 * first


def test_same_trials_whatever_the_completion_order_and_workers() -> None:
    runs = [[(t.params, t.schedule, t.parent, t.budget) for t in (o.trial for o in drive(_search(seed=5), _objective, workers=w, seed=s))]
            for w, s in ((1, None), (2, 1), (4, 2))]
    assert runs[0] == runs[1] == runs[2]


def test_a_failed_member_is_replaced_at_the_next_step() -> None:
    def objective(trial: Trial) -> float:
        return math.nan if trial.candidate == 1 and trial.rung == 0 else _objective(trial)

    trials = [o.trial for o in drive(_search(), objective)]
    assert next(t for t in trials if t.candidate == 1 and t.rung == 1).parent is not None


def test_the_sampler_draws_only_the_first_population() -> None:
    sampler = ListSampler([{"learning_rate": 0.02 * (k + 1), "num_leaves": 8, "min_child_samples": 20, "boosting": "a"}
                           for k in range(4)])
    search = Search(sampler, PopulationBasedTraining(4, 10, 20, SPACE, FROZEN, 0), window=None, name="pbt")
    trials = [o.trial for o in drive(search, _objective)]
    assert [t.proposed_by for t in trials[:4]] == ["random"] * 4  # ListSampler's default name
    assert {t.proposed_by for t in trials[4:] if t.parent is not None} == {"pbt"}

"""The driver: decisions depend only on the seed, the params and observations in trial-number order."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.conftest import BASE_RAW
from tests.search.conftest import ListSampler, drive, fresh, observe
from tunepipe.config import parse_config
from tunepipe.results import Trial
from tunepipe.search import make_search
from tunepipe.search.schedulers import FIFO, SuccessiveHalving

STRATEGIES = ["random", "grid", "halving", "hyperband", "asha", "tpe", "bohb"]


def _search(strategy: str, *extra: str) -> Any:
    overrides = [f"search.strategy={strategy}", "search.n_candidates=20", "search.max_resources=90", *extra]
    if strategy == "grid":
        overrides.append("search.space={num_leaves: {choices: [4, 8, 16]}, learning_rate: {choices: [0.05, 0.1, 0.2]}}")
    cfg = parse_config(BASE_RAW, overrides)
    return make_search(cfg.search.settings(), seed=3, n_train=500, n_splits=3, n_classes=2)


def _objective(t: Trial) -> float:
    lr, leaves = t.params["learning_rate"], t.params["num_leaves"]
    return -abs(math.log(lr / 0.08)) - abs(math.log(leaves / 12)) / 3 + math.log(t.budget) / 50


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_trials_whatever_the_completion_order_and_the_number_of_workers(strategy: str) -> None:
    runs = [drive(_search(strategy), _objective, workers=w, seed=s) for w, s in [(1, None), (2, 0), (5, 1), (16, 2)]]
    first = [(o.trial, o.mean_score) for o in runs[0]]
    for other in runs[1:]:
        assert [(o.trial, o.mean_score) for o in other] == first
    assert len({o.trial.number for o in runs[0]}) == len(runs[0])


def test_window_bounds_the_pending_trials() -> None:
    search = fresh(FIFO(10, budget=1), window=3)
    asked = search.ask()
    assert [t.number for t in asked] == [0, 1, 2]
    assert search.ask() == []
    search.tell(observe(asked[2], 0.5))  # held: trial 0 has not been applied yet
    assert search.ask() == [] and len(search.observations) == 0
    search.tell(observe(asked[0], 0.1))
    assert [o.trial.number for o in search.observations] == [0]
    assert [t.number for t in search.ask()] == [3]  # one slot: 1 and 2 are still pending in order


def test_held_observations_are_applied_in_trial_number_order() -> None:
    search = fresh(FIFO(4, budget=1))
    asked = search.ask()
    assert search.tell(observe(asked[3], 0.3)) == []
    assert search.tell(observe(asked[1], 0.1)) == []
    applied = search.tell(observe(asked[0], 0.0))
    assert [o.trial.number for o in applied] == [0, 1]
    assert [o.trial.number for o in search.tell(observe(asked[2], 0.2))] == [2, 3]
    assert search.done


def test_tell_rejects_unasked_and_repeated_observations() -> None:
    search = fresh(FIFO(2, budget=1))
    a, _ = search.ask()
    with pytest.raises(ValueError, match="tell\\(\\) got an observation of trial 5 b0 r0, which was not asked"):
        search.tell(observe(Trial(5, 5, {"a": 5}, 1), 0.0))
    with pytest.raises(ValueError, match="was not asked"):
        search.tell(observe(Trial(0, 0, {"a": 99}, 1), 0.0))  # same number, other params
    search.tell(observe(a, 0.0))
    with pytest.raises(ValueError, match="got trial 0 b0 r0 twice"):
        search.tell(observe(a, 0.0))


def test_a_promoted_configuration_keeps_its_candidate_and_params() -> None:
    search = fresh(SuccessiveHalving(3, factor=3, min_resources=1, max_resources=3), ListSampler([{"x": 1}, {"x": 2}, {"x": 3}]))
    for t in search.ask():
        search.tell(observe(t, t.params["x"]))
    (top,) = search.ask()
    assert (top.number, top.candidate, top.params, top.budget) == (3, 2, {"x": 3}, 3)


@pytest.mark.parametrize(("strategy", "n_trials"), [
    ("random", 20), ("grid", 9), ("halving", 30), ("tpe", 20),
])
def test_presets_run_their_planned_trials(strategy: str, n_trials: int) -> None:
    search = _search(strategy)
    observations = drive(search, _objective, workers=2, seed=0)
    assert len(observations) == n_trials == sum(sum(b.n_configs) for b in search.scheduler.plan())
    assert search.best.trial.budget == 90


DEFAULTS = {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20}


def _defaults_config(strategy: str, n_candidates: int, max_resources: int) -> Any:
    """The search config of a defaults test: grid gets a space of choices (it takes no ranges)."""
    grid_space = "search.space={num_leaves: {choices: [4, 8, 16]}, learning_rate: {choices: [0.05, 0.1]}}"
    return parse_config(BASE_RAW, [f"search.strategy={strategy}", f"search.n_candidates={n_candidates}",
                                   f"search.max_resources={max_resources}"] + ([grid_space] if strategy == "grid" else []))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_defaults_are_trial_0_at_the_largest_budget_and_change_nothing_else(strategy: str) -> None:
    defaults = DEFAULTS
    cfg = _defaults_config(strategy, 20, 90)
    with_defaults = make_search(cfg.search.settings(), seed=3, n_train=500, n_splits=3, n_classes=2, defaults=defaults)
    without = make_search(cfg.search.model_copy(update={"include_defaults": False}).settings(), seed=3, n_train=500,
                          n_splits=3, n_classes=2, defaults=defaults)
    ran = drive(with_defaults, lambda t: 1.0 if t.is_defaults else _objective(t), workers=2, seed=0)
    first = ran[0].trial
    assert (first.number, first.label, first.params, first.budget) == (0, "trial 0 defaults", defaults, 90)
    # The strategy's own trials are those of a search without the defaults, numbered one on
    # (not for TPE: its draws are seeded by trial number, and the window holds one more trial).
    others = drive(without, _objective, workers=2, seed=0)
    assert strategy in ("tpe", "bohb") or [(o.trial.candidate, o.trial.params, o.trial.budget, o.trial.bracket, o.trial.rung) for o in ran[1:]] == [
        (o.trial.candidate, o.trial.params, o.trial.budget, o.trial.bracket, o.trial.rung) for o in others]
    assert with_defaults.best.trial.is_defaults  # scored 1.0, above every other trial
    assert with_defaults.n_trials_planned == without.n_trials_planned + 1


@pytest.mark.parametrize("min_resources", ["exhaust", "smallest", "5"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_defaults_run_at_the_last_rungs_budget_so_they_win_only_on_merit(strategy: str, min_resources: str) -> None:
    # With max_resources 1000, halving's exhaust schedule ends at 37 x 3^3 = 999: defaults at 1000
    # would be alone at the largest budget and win whatever they scored. With ASHA from the
    # smallest budget, 40 configurations never fill its top rungs: no trial but the defaults
    # would reach 1000.
    # (max_resources 100 below exhaust: Hyperband from 1 round to 1000 would run ~700 trials.)
    cfg = _defaults_config(strategy, 40, 1000 if min_resources == "exhaust" else 100)
    cfg = cfg.model_copy(update={"search": cfg.search.model_copy(
        update={"min_resources": int(min_resources) if min_resources.isdigit() else min_resources})})
    search = make_search(cfg.search.settings(), seed=3, n_train=5000, n_splits=3, n_classes=2, defaults=DEFAULTS)
    ran = drive(search, lambda t: -1.0 if t.is_defaults else _objective(t), workers=2, seed=0)
    reached = max(o.trial.budget for o in ran if not o.trial.is_defaults)
    assert ran[0].trial.is_defaults and ran[0].trial.budget == reached
    assert not search.best.trial.is_defaults and search.best.trial.budget == reached


def test_ask_with_a_limit_hands_out_the_same_trials_and_close_withdraws_the_rest() -> None:
    search = fresh(FIFO(6, budget=10), window=None)
    first = search.ask(limit=2)
    assert [t.number for t in first] == [0, 1]
    assert [t.number for t in search.ask(limit=1)] == [2]  # the same trials, handed out later
    search.tell(observe(first[0], 0.5))
    search.close()  # trials 3-5 were never handed out: withdrawn, as if never asked
    assert [t.number for t in search.history.trials] == [0, 1, 2]
    assert search.ask() == [] and not search.done  # 1 and 2 are still running
    search.tell(observe(first[1], 0.6))
    search.tell(observe(search.history.trials[2], 0.4))
    assert search.done and search.best.trial.number == 1

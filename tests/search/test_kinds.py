"""A search over several model kinds: the conditional space (the kind, then only its own
hyperparameters), each kind's defaults first, budgets per kind, promotions by rank within kind, and
TPE's allocation among kinds."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sklearn.model_selection import ParameterGrid

from tests.conftest import BASE_RAW
from tests.search.conftest import drive, observe
from tunepipe.config import parse_config
from tunepipe.models import default_space, kind_budget
from tunepipe.results import Trial
from tunepipe.search import make_search
from tunepipe.search.schedulers._base import promotion_order
from tunepipe.space import KIND

KINDS = ["lightgbm", "random_forest", "extra_trees", "logistic_regression"]


def _settings(strategy: str, n_candidates: int = 30, *extra: str) -> Any:
    cfg = parse_config(BASE_RAW, [f"model.kind=[{', '.join(KINDS)}]", "search.space=null",
                                  f"search.strategy={strategy}", f"search.n_candidates={n_candidates}",
                                  "search.max_resources=81", *extra])
    return cfg.search.settings()


def _search(strategy: str, n_candidates: int = 30, defaults: list[dict[str, Any]] | None = None, *extra: str) -> Any:
    return make_search(_settings(strategy, n_candidates, *extra), seed=7, n_train=2000, n_splits=3, n_classes=2,
                       defaults=defaults)


# A hand-made objective: which kind is better, and within a kind a smooth optimum.
QUALITY = {"lightgbm": 0.90, "random_forest": 0.80, "extra_trees": 0.78, "logistic_regression": 0.60}


def _objective(trial: Trial) -> float:
    return QUALITY[trial.params[KIND]] - 0.001 * len(trial.params)


@pytest.mark.parametrize("strategy", ["random", "grid", "tpe", "halving", "hyperband", "asha", "bohb"])
def test_each_configuration_holds_its_kind_and_only_that_kinds_hyperparameters(strategy: str) -> None:
    ran = drive(_search(strategy), _objective, workers=2, seed=1)
    seen = Counter()
    for o in ran:
        params = o.trial.params
        kind = params[KIND]
        # Exactly the kind's default space (the one params.yaml's null stands for), nothing of another kind.
        assert set(params) - {KIND} == set(default_space(kind, grid=strategy == "grid")), (kind, params)
        seen[kind] += 1
    assert set(seen) == set(KINDS)  # every kind was tried
    if strategy == "grid":  # every point of every kind's grid, once
        assert sum(seen.values()) == sum(len(ParameterGrid(
            {k: v["choices"] for k, v in default_space(kind, grid=True).items()})) for kind in KINDS)


def test_tpe_proposes_from_the_conditional_space_and_learns_which_kind_wins() -> None:
    """After its 10 random draws TPE proposes; a kind that keeps losing gets fewer proposals.
    The objective above ranks the kinds lightgbm > random_forest > extra_trees > logistic_regression."""
    for seed in (0, 1, 2):
        search = make_search(_settings("tpe", 60, "search.racing=false"), seed=seed, n_train=2000, n_splits=3,
                             n_classes=2)
        ran = drive(search, _objective, workers=2, seed=seed)
        proposed = [o.trial for o in ran if o.trial.proposed_by == "tpe"]
        assert len(proposed) >= 40
        kinds = Counter(t.params[KIND] for t in proposed)
        # The best kind gets most of the model's proposals (random draws would give it a quarter),
        # each other kind less than its quarter. TPE splits good from bad, so among the losing kinds
        # it does not keep an order.
        assert kinds["lightgbm"] > len(proposed) / 2, kinds
        assert all(kinds[k] < len(proposed) / 4 for k in KINDS if k != "lightgbm"), kinds
        for t in proposed:
            assert set(t.params) - {KIND} == set(default_space(t.params[KIND]))


@pytest.mark.parametrize("strategy", ["random", "tpe", "halving", "asha"])
def test_each_kinds_defaults_are_the_first_trials_at_the_largest_budget(strategy: str) -> None:
    defaults = [{KIND: kind, "x": i} for i, kind in enumerate(KINDS)]
    search = _search(strategy, 20, defaults)
    ran = drive(search, _objective, workers=2, seed=3)
    first = [o.trial for o in ran[: len(KINDS)]]
    top = max(o.trial.budget for o in ran if not o.trial.is_defaults)
    assert [(t.number, t.candidate, t.params, t.budget, t.proposed_by) for t in first] == [
        (i, -1 - i, defaults[i], top, "defaults") for i in range(len(KINDS))
    ]
    assert all(t.is_defaults and t.label == f"trial {t.number} defaults" for t in first)
    assert not any(o.trial.is_defaults for o in ran[len(KINDS):])


# kind_budget, by hand: a forest's full budget is 100 trees, so a budget is that share of 100.
@pytest.mark.parametrize(("kind", "resource", "budget", "max_resources", "expected"), [
    ("random_forest", "n_estimators", 1000, 1000, 100),
    ("random_forest", "n_estimators", 333, 1000, 33),
    ("extra_trees", "n_estimators", 37, 1000, 4),
    ("extra_trees", "n_estimators", 4, 1000, 1),       # at least one tree
    ("random_forest", "n_estimators", 50, 80, 50),     # a full budget below the cap: the budget itself
    ("lightgbm", "n_estimators", 333, 1000, 333),      # boosting rounds: the budget itself
    ("logistic_regression", "n_estimators", 37, 1000, 37),  # no resource: ignored by its estimator
    ("random_forest", "n_samples", 500, 2000, 500),    # rows: the same for every kind
    ("random_forest", "n_estimators", None, 1000, None),
])
def test_a_budget_is_the_same_share_of_each_kinds_full_budget(kind, resource, budget, max_resources, expected):
    assert kind_budget(kind, resource, budget, max_resources) == expected


def _rung(rows: list[tuple[str, float]]) -> list[Any]:
    return [observe(Trial(i, i, {KIND: kind}, 9), score) for i, (kind, score) in enumerate(rows)]


def test_promotions_go_round_by_rank_within_kind() -> None:
    """A hand-made rung: logistic regression (fitted in full at any budget) scores above every
    partly trained forest and booster, yet the first slots go to each kind's best."""
    rung = _rung([
        ("logistic_regression", 0.95), ("logistic_regression", 0.94), ("logistic_regression", 0.93),
        ("lightgbm", 0.70), ("lightgbm", 0.80), ("random_forest", 0.75), ("random_forest", float("nan")),
    ])
    order = [o.trial.number for o in promotion_order(rung)]
    # Round 1, each kind's best by score: LR 0.95, lightgbm 0.80, RF 0.75. Round 2, each kind's
    # second: LR 0.94, lightgbm 0.70, RF failed (last). Round 3: LR 0.93.
    assert order == [0, 4, 5, 1, 3, 6, 2]
    # One kind alone: plain rank order.
    alone = _rung([("lightgbm", 0.7), ("lightgbm", 0.9), ("lightgbm", 0.8)])
    assert [o.trial.number for o in promotion_order(alone)] == [1, 2, 0]


def test_halving_promotes_every_kinds_best_before_a_kinds_second() -> None:
    """Halving over 4 kinds: the second rung holds each kind's best of the first (when the rung
    has room for 4), although logistic regression outscores everything at the first rung."""
    scores = {"logistic_regression": 0.99, "lightgbm": 0.5, "random_forest": 0.4, "extra_trees": 0.3}
    search = _search("halving", 40)
    ran = drive(search, lambda t: scores[t.params[KIND]] + 1e-4 * t.candidate, workers=2, seed=0)
    first = [o for o in ran if o.trial.rung == 0]
    second = [o for o in ran if o.trial.rung == 1]
    assert len(second) >= len(KINDS) and {o.trial.params[KIND] for o in first} == set(KINDS)
    assert {o.trial.params[KIND] for o in second} == set(KINDS)


def test_the_same_trials_with_any_number_in_flight_and_any_completion_order() -> None:
    def run(workers: int, seed: int | None) -> list[Any]:
        search = _search("tpe", 24, [{KIND: k} for k in KINDS], "search.window=3")
        return [(o.trial.params, o.trial.budget, o.status) for o in drive(search, _objective, workers, seed)]

    reference = run(1, None)
    assert run(2, 5) == reference and run(3, 11) == reference

"""Successive halving: the schedule equals scikit-learn's, survivors and winner follow its rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.dummy import DummyClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, KFold

from tests.search.conftest import drive, fresh, observe
from tunepipe.search.schedulers import SuccessiveHalving, smallest_min_resources


class FastClassifier(DummyClassifier):
    """Instant estimator with an ``n_estimators`` resource and a dummy hyperparameter ``a``."""

    def __init__(self, strategy="prior", random_state=None, constant=None, n_estimators=1, a=0):  # noqa: ANN001
        super().__init__(strategy=strategy, random_state=random_state, constant=constant)
        self.n_estimators = n_estimators
        self.a = a


def _sklearn_schedule(n_candidates, factor, resource, min_resources, max_resources, aggressive, n_samples, n_classes):  # noqa: ANN001
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, 2))
    y = np.arange(n_samples) % n_classes
    search = HalvingRandomSearchCV(
        FastClassifier(),
        {"a": stats.randint(0, 10**9)},
        n_candidates=n_candidates,
        factor=factor,
        resource=resource,
        min_resources=min_resources,
        max_resources=max_resources,
        aggressive_elimination=aggressive,
        cv=KFold(3),
        random_state=0,
        refit=False,
    ).fit(X, y)
    return search


def _our_run(n_candidates, factor, resource, min_resources, max_resources, aggressive, n_classes):  # noqa: ANN001
    resolved = min_resources if isinstance(min_resources, int) else smallest_min_resources(resource, 3, n_classes)
    scheduler = SuccessiveHalving(
        n_candidates,
        factor=factor,
        min_resources=resolved,
        max_resources=max_resources,
        exhaust=min_resources == "exhaust",
        aggressive_elimination=aggressive,
    )
    observations = drive(fresh(scheduler), lambda t: float(t.params["a"] % 7))
    return scheduler, _per_rung(observations)


def _per_rung(observations):  # noqa: ANN001, ANN202
    rungs = sorted({o.trial.rung for o in observations})
    counts = [sum(o.trial.rung == r for o in observations) for r in rungs]
    budgets = [next(o.trial.budget for o in observations if o.trial.rung == r) for r in rungs]
    return counts, budgets


@pytest.mark.parametrize(
    ("n_candidates", "factor", "resource", "min_resources", "max_resources", "aggressive", "n_classes"),
    [
        (81, 3, "n_estimators", "exhaust", 810, False, 2),
        (81, 3, "n_estimators", 10, 810, False, 2),
        (81, 3, "n_estimators", "smallest", 810, False, 2),
        (100, 3, "n_estimators", 1, 50, False, 2),  # fewer possible than required rounds
        (100, 3, "n_estimators", 1, 50, True, 2),  # ... aggressive elimination makes up for it
        (60, 3, "n_estimators", 20, 180, True, 2),
        (7, 3, "n_estimators", "exhaust", 100, False, 2),
        (1, 3, "n_estimators", "exhaust", 100, False, 2),
        (10, 2.5, "n_estimators", 2, 300, False, 2),  # float factor
        (20, 2, "n_samples", "smallest", 1000, False, 2),
        (20, 2, "n_samples", "exhaust", 1000, False, 3),
        (50, 4, "n_samples", "smallest", 1000, True, 3),
        (30, 3, "n_samples", 100, 1000, False, 2),
    ],
)
def test_schedule_matches_scikit_learn(n_candidates, factor, resource, min_resources, max_resources, aggressive, n_classes) -> None:  # noqa: ANN001
    sk = _sklearn_schedule(n_candidates, factor, resource, min_resources, max_resources, aggressive, 1000, n_classes)
    ours, (counts, budgets) = _our_run(n_candidates, factor, resource, min_resources, max_resources, aggressive, n_classes)
    assert ours.schedule.min_resources == sk.min_resources_
    assert ours.schedule.n_required_iterations == sk.n_required_iterations_
    assert ours.schedule.n_possible_iterations == sk.n_possible_iterations_
    assert ours.schedule.n_iterations == sk.n_iterations_
    assert budgets == sk.n_resources_
    assert counts == sk.n_candidates_
    assert ours.plan()[0].n_configs == sk.n_candidates_


@pytest.mark.parametrize(
    ("n_candidates", "factor", "expected_candidates", "expected_resources"),
    [
        (81, 3, [81, 27, 9, 3, 1], [10, 30, 90, 270, 810]),
        (60, 3, [60, 20, 7, 3], [30, 90, 270, 810]),
        (10, 2, [10, 5, 3, 2], [101, 202, 404, 808]),
        (5, 3, [5, 2], [270, 810]),
    ],
)
def test_exhaust_schedule_table(n_candidates: int, factor: int, expected_candidates: list[int], expected_resources: list[int]) -> None:
    _, (counts, budgets) = _our_run(n_candidates, factor, "n_estimators", "exhaust", 810, False, 2)
    assert counts == expected_candidates
    assert budgets == expected_resources


def _run_rungs(n: int, factor: float, budgets: tuple[int, int], scores: list[float]) -> list:  # type: ignore[type-arg]
    """Rung 0 of ``n`` candidates scored ``scores``; returns rung 1's trials."""
    search = fresh(SuccessiveHalving(n, factor=factor, min_resources=budgets[0], max_resources=budgets[1]))
    batch = search.ask()
    assert [t.candidate for t in batch] == list(range(n))
    for t, s in zip(batch, scores):
        search.tell(observe(t, s))
    return search.ask()


def test_keeps_ceil_n_over_factor_best_with_nan_last() -> None:
    survivors = _run_rungs(7, 3, (10, 90), [0.5, math.nan, 0.9, 0.1, math.nan, 0.8, 0.7])
    assert [t.candidate for t in survivors] == [2, 5, 6]  # ceil(7 / 3) = 3 best, NaN never promoted
    assert all(t.rung == 1 and t.budget == 30 for t in survivors)
    assert [t.number for t in survivors] == [7, 8, 9]  # numbered on after rung 0, in candidate order


def test_nan_promoted_only_when_too_few_scores() -> None:
    survivors = _run_rungs(4, 2, (10, 40), [math.nan, 0.3, math.nan, math.nan])
    assert [t.candidate for t in survivors] == [0, 1]  # 1 scored, then the lowest-numbered NaN


def test_ties_go_to_the_lower_candidate() -> None:
    assert [t.candidate for t in _run_rungs(4, 2, (10, 20), [0.5] * 4)] == [0, 1]


def test_a_rung_starts_only_when_the_previous_one_is_fully_observed() -> None:
    search = fresh(SuccessiveHalving(3, factor=3, min_resources=10, max_resources=30))
    batch = search.ask()
    search.tell(observe(batch[0], 0.9))
    search.tell(observe(batch[1], 0.5))
    assert search.ask() == []  # the third trial of rung 0 is still running
    search.tell(observe(batch[2], 0.4))
    (last,) = search.ask()
    assert (last.candidate, last.rung, last.budget) == (0, 1, 30)


def test_winner_comes_from_the_last_rung() -> None:
    search = fresh(SuccessiveHalving(3, factor=3, min_resources=10, max_resources=30))
    for t, s in zip(search.ask(), [0.99, 0.5, 0.4]):
        search.tell(observe(t, s))
    (last,) = search.ask()
    search.tell(observe(last, 0.7))
    assert search.done
    assert search.best.trial.rung == 1 and search.best.mean_score == 0.7

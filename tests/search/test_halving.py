"""Successive halving: the schedule equals scikit-learn's, survivors and winner follow its rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.dummy import DummyClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, KFold

from tunepipe.search import Candidate, SuccessiveHalving, TrialResult, halving_schedule, smallest_min_resources


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
    strategy = SuccessiveHalving(
        [{"a": i} for i in range(n_candidates)],
        factor=factor,
        min_resources=resolved,
        max_resources=max_resources,
        exhaust=min_resources == "exhaust",
        aggressive_elimination=aggressive,
    )
    while (batch := strategy.ask()) is not None:
        strategy.tell([TrialResult(c, (float(c.params["a"] % 7),)) for c in batch])
    return strategy


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
    ours = _our_run(n_candidates, factor, resource, min_resources, max_resources, aggressive, n_classes)
    assert ours.schedule.min_resources == sk.min_resources_
    assert ours.schedule.n_required_iterations == sk.n_required_iterations_
    assert ours.schedule.n_possible_iterations == sk.n_possible_iterations_
    assert ours.schedule.n_iterations == sk.n_iterations_
    assert ours.n_resources == sk.n_resources_
    assert ours.n_candidates == sk.n_candidates_


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
    strategy = _our_run(n_candidates, factor, "n_estimators", "exhaust", 810, False, 2)
    assert strategy.n_candidates == expected_candidates
    assert strategy.n_resources == expected_resources


def _result(cid: int, score: float, rung: int = 0) -> TrialResult:
    return TrialResult(Candidate(cid, {"a": cid}, rung, 10), (score,), status="failed" if math.isnan(score) else "ok")


def test_keeps_ceil_n_over_factor_best_with_nan_last() -> None:
    strategy = SuccessiveHalving([{"a": i} for i in range(7)], factor=3, min_resources=10, max_resources=90)
    batch = strategy.ask()
    assert [c.id for c in batch] == list(range(7))
    scores = [0.5, math.nan, 0.9, 0.1, math.nan, 0.8, 0.7]
    strategy.tell([_result(c.id, s) for c, s in zip(batch, scores)])
    survivors = strategy.ask()
    assert [c.id for c in survivors] == [2, 5, 6]  # ceil(7 / 3) = 3 best, NaN never promoted
    assert all(c.rung == 1 and c.n_resources == 30 for c in survivors)


def test_nan_promoted_only_when_too_few_scores() -> None:
    strategy = SuccessiveHalving([{"a": i} for i in range(4)], factor=2, min_resources=10, max_resources=40)
    batch = strategy.ask()
    strategy.tell([_result(0, math.nan), _result(1, 0.3), _result(2, math.nan), _result(3, math.nan)])
    assert [c.id for c in strategy.ask()] == [0, 1]  # 1 scored, then the lowest-id NaN


def test_winner_comes_from_the_last_rung() -> None:
    strategy = SuccessiveHalving([{"a": i} for i in range(3)], factor=3, min_resources=10, max_resources=30)
    strategy.tell([_result(0, 0.99), _result(1, 0.5), _result(2, 0.4)]) if strategy.ask() else None
    last = strategy.ask()
    assert [c.id for c in last] == [0]
    strategy.tell([TrialResult(last[0], (0.7,))])
    assert strategy.ask() is None
    assert strategy.best.candidate.rung == 1
    assert strategy.best.mean_score == 0.7


def test_ties_go_to_the_lower_candidate_id() -> None:
    strategy = SuccessiveHalving([{"a": i} for i in range(4)], factor=2, min_resources=10, max_resources=20)
    strategy.ask()
    strategy.tell([_result(i, 0.5) for i in range(4)])
    assert [c.id for c in strategy.ask()] == [0, 1]


def test_ask_twice_without_tell_is_an_error() -> None:
    strategy = SuccessiveHalving([{"a": 1}, {"a": 2}], factor=2, min_resources=1, max_resources=2)
    strategy.ask()
    with pytest.raises(RuntimeError, match="ask\\(\\) called twice without tell\\(\\)"):
        strategy.ask()


def test_tell_must_answer_what_was_asked() -> None:
    strategy = SuccessiveHalving([{"a": 1}, {"a": 2}], factor=2, min_resources=1, max_resources=2)
    strategy.ask()
    with pytest.raises(ValueError, match=r"tell\(\) got results for candidates \[0\], but \[0, 1\] were asked"):
        strategy.tell([_result(0, 0.1)])


def test_schedule_rejects_min_above_max() -> None:
    with pytest.raises(ValueError, match=r"min_resources \(100\) must be <= max_resources \(10\)"):
        halving_schedule(9, 3, 100, 10)

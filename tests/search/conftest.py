"""Helpers for search tests: a sampler over a fixed list, and a driver loop with any completion order."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from tunepipe.results import Observation, Trial
from tunepipe.search import History, Search
from tunepipe.search.samplers import Sampler
from tunepipe.search.schedulers import Scheduler


class ListSampler(Sampler):
    """Configuration k is ``params[k]`` (``{"a": k}`` by default)."""

    def __init__(self, params: list[dict[str, Any]] | None = None) -> None:
        self.params = params
        self.size = len(params) if params is not None else None

    def sample(self, candidate: int, number: int, history: History) -> dict[str, Any]:
        return dict(self.params[candidate]) if self.params is not None else {"a": candidate}


def observe(trial: Trial, score: float) -> Observation:
    """An observation with one fold scoring ``score`` (NaN: a failed trial)."""
    return Observation(trial, (score,), status="failed" if math.isnan(score) else "ok")


def drive(
    search: Search, objective: Callable[[Trial], float], workers: int = 1, seed: int | None = None
) -> list[Observation]:
    """Run ``search`` to the end with ``workers`` trials in flight at a time.

    ``seed``: trials finish in a random order (seeded); None: in the order they were asked.
    """
    rng = random.Random(seed)
    queued: list[Trial] = []
    running: list[Trial] = []
    while not search.done:
        queued += search.ask()
        while queued and len(running) < workers:
            running.append(queued.pop(0))
        assert running, "the search waits, but nothing runs"
        finished = running.pop(rng.randrange(len(running)) if seed is not None else 0)
        search.tell(observe(finished, objective(finished)))
    return search.observations


def fresh(scheduler: Scheduler, sampler: Sampler | None = None, window: int | None = None) -> Search:
    return Search(sampler or ListSampler(), scheduler, window=window, name="test")


# A fake estimator for the real trial code (tunepipe.scoring.score_trial): configuration c scores
# SCORES(c, k) on fold k, exactly. Rows carry their target ("truth") and their fold ("fold"); the
# estimator predicts truth - score, so neg_mean_absolute_error gives back the score (which must be <= 0).
class TableRegressor(RegressorMixin, BaseEstimator):
    """Scores ``table[c][k]`` on fold ``k``; a callable ``table`` is asked ``table({"c", "x", "y"}, k)``."""

    def __init__(self, c: Any = 0, x: float = 0.0, y: float = 0.0, table: Any = None) -> None:
        self.c = c
        self.x = x
        self.y = y
        self.table = table

    def fit(self, X: pd.DataFrame, y: Any) -> TableRegressor:
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        fold = int(X["fold"].iloc[0])
        if callable(self.table):
            score = self.table({"c": self.c, "x": self.x, "y": self.y}, fold)
        else:
            score = self.table[self.c][fold]
        assert score <= 0, "a table score is minus a mean absolute error"
        return X["truth"].to_numpy() - score


def table_data(n_folds: int = 5, rows: int = 4) -> tuple[pd.DataFrame, pd.Series, list[tuple[np.ndarray, np.ndarray]]]:
    """Rows of ``n_folds`` folds (``rows`` each) for :class:`TableRegressor`, and the fold plan."""
    fold = np.repeat(np.arange(n_folds), rows)
    truth = np.arange(len(fold), dtype=float)
    X = pd.DataFrame({"truth": truth, "fold": fold.astype(float)})
    folds = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(n_folds)]
    return X, pd.Series(truth), folds


@pytest.fixture
def table_kind(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """Registers model kind ``table``; returns a function of a score table giving its TrialSetup."""
    from tunepipe import models
    from tunepipe.scoring import TrialSetup

    from tests.conftest import trial_setup

    spec = models.ModelSpec(None, TableRegressor, "ordinal", None, {}, {}, {}, seeded=False)
    monkeypatch.setitem(models.REGISTRY, "table", spec)

    def setup(table: Any) -> TrialSetup:
        return trial_setup(kind="table", task="regression", fixed_params={"table": table},
                          scoring="neg_mean_absolute_error", resource="n_estimators", seed=0, threads=1,
                          numeric=("truth", "fold"), categorical=())
    return setup

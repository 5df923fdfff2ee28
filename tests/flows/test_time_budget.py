"""search.time_budget: once it is spent no new trial starts; the running ones finish, then the refit.
A fake slow estimator makes every trial take a known time."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe import models
from tunepipe.config import parse_config

FIT_SECONDS = 0.2  # per fold: a trial of 3 folds takes 0.6 s on a worker


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """Sleeps ``FIT_SECONDS`` in fit; predicts from the first numeric column, a little better with ``c``."""

    def __init__(self, c: float = 0.5) -> None:
        self.c = c

    def fit(self, X: pd.DataFrame, y: Any) -> SlowClassifier:
        time.sleep(FIT_SECONDS)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-self.c * np.asarray(X.iloc[:, 0], dtype=float)))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


@pytest.fixture
def slow_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = models.ModelSpec(SlowClassifier, None, "ordinal", None, {}, {"c": {"low": 0.1, "high": 3.0}}, {},
                            seeded=False)
    monkeypatch.setitem(models.REGISTRY, "slow", spec)


def test_no_trial_starts_once_the_time_budget_is_spent(tmp_path: Path, slow_kind: None) -> None:
    make_frame(300, "binary", seed=2).to_csv(tmp_path / "data.csv", index=False)
    budget = 4.0
    cfg = parse_config(BASE_RAW, [
        "model.kind=slow", "search.space=null", "search.strategy=random", "search.n_candidates=200",
        "search.racing=false", f"search.time_budget={budget:g}s", "execution.workers=2",
        "search.resource=n_samples", "search.max_resources=null",
    ])
    started = time.monotonic()
    out = run(cfg, root=str(tmp_path))
    wall = time.monotonic() - started
    cv = json.loads((tmp_path / "metrics/cv.json").read_text())
    trials = pd.read_csv(tmp_path / "reports/trials.csv")
    # 2 workers x 0.6 s trials: about 13 trials fit in 4 s; 201 were asked for.
    assert cv["time_budget_spent"] is True and 4 <= cv["n_trials"] == len(trials) < 40
    assert (trials["status"] == "ok").all()  # the running trials finished, none was cut off
    assert out["test"]["score"] > 0.5  # and the winner was refit and scored
    # The search stopped at the budget, plus the trials running then (window 4: 2 running, 2 queued).
    assert wall < budget + 4 * 3 * FIT_SECONDS + 60  # the rest: Prefect's flow runs, split, refit


def test_without_a_time_budget_n_candidates_decides(tmp_path: Path, slow_kind: None) -> None:
    make_frame(300, "binary", seed=2).to_csv(tmp_path / "data.csv", index=False)
    cfg = parse_config(BASE_RAW, ["model.kind=slow", "search.space=null", "search.strategy=random",
                                  "search.n_candidates=3", "search.racing=false", "search.time_budget=1h",
                                  "search.resource=n_samples", "search.max_resources=null"])
    run(cfg, root=str(tmp_path))
    cv = json.loads((tmp_path / "metrics/cv.json").read_text())
    assert cv["time_budget_spent"] is False and cv["n_trials"] == 4  # the defaults and 3 candidates

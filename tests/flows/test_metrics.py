"""Several scorers through the real pipeline flow under halving: every scorer's columns, the refit
metric (not the first listed) deciding promotions and the winner, every scorer for the winner and
both baselines, and the same outputs with 1 or 2 workers and from the trial cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe.config import parse_config

METRICS = ["roc_auc", "neg_log_loss", "accuracy"]
BASE = [f"search.scoring=[{', '.join(METRICS)}]", "search.refit=neg_log_loss", "search.strategy=halving",
        "search.n_candidates=9", "search.max_resources=27", "search.early_stopping=5"]


def _outputs(root: Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    return (pd.read_csv(root / "reports/trials.csv"), json.loads((root / "metrics/cv.json").read_text()),
            json.loads((root / "metrics/test.json").read_text()))


def test_the_refit_metric_decides_under_halving_and_every_scorer_is_recorded(tmp_path: Path) -> None:
    make_frame(400, "binary", seed=1).to_csv(tmp_path / "data.csv", index=False)
    results = {}
    for name, overrides in {
        "1 worker, cache": ["execution.workers=1"],
        "2 workers": ["execution.workers=2", "execution.cache=false"],
        "1 worker, all cached": ["execution.workers=1"],
    }.items():
        out = run(parse_config(BASE_RAW, [*BASE, *overrides]), root=str(tmp_path))
        results[name] = (_outputs(tmp_path), out["trials_cached"])
    (trials, cv, test), _ = results["1 worker, cache"]
    for name, ((other_trials, other_cv, other_test), _) in results.items():
        pd.testing.assert_frame_equal(other_trials, trials, obj=name)
        assert (other_cv, other_test) == (cv, test), name
    assert results["1 worker, all cached"][1] == len(trials)  # the cache holds every scorer too

    for metric in METRICS:
        assert [f"split{k}_test_{metric}" for k in range(3)] + [f"mean_test_{metric}", f"rank_test_{metric}"] <= list(trials)
        assert trials[f"mean_test_{metric}"].notna().all()
    # The _score columns are the refit metric's, not the first listed.
    pd.testing.assert_series_equal(trials["mean_test_score"], trials["mean_test_neg_log_loss"], check_names=False)
    assert not trials["rank_test_roc_auc"].equals(trials["rank_test_neg_log_loss"])  # they disagree somewhere

    # Halving promotes by the refit metric: each rung's configurations are the previous rung's best by it.
    rungs = trials[trials["bracket"] == 0]
    for rung in range(1, int(rungs["rung"].max()) + 1):
        before, now = rungs[rungs["rung"] == rung - 1], rungs[rungs["rung"] == rung]
        best = before.sort_values(["mean_test_neg_log_loss", "trial"], ascending=[False, True]).head(len(now))
        assert set(now["candidate"]) == set(best["candidate"]), rung
    top = trials[trials["n_resources"] == trials["n_resources"].max()]
    winner = top.sort_values(["mean_test_neg_log_loss", "trial"], ascending=[False, True]).iloc[0]
    assert cv["best_trial"] == winner["trial"] and cv["refit"] == "neg_log_loss"
    assert cv["best_score"] == pytest.approx(winner["mean_test_neg_log_loss"], abs=1e-9)
    assert cv["best_metrics"] == pytest.approx({m: winner[f"mean_test_{m}"] for m in METRICS}, abs=1e-9)
    assert list(cv["best_metrics"]) == METRICS and set(cv["defaults_metrics"]) == set(METRICS)

    # The holdout: the refit metric is `score`; every scorer for the winner and both baselines.
    assert test["score"] == test["neg_log_loss"] and {"roc_auc", "accuracy"} <= set(test)
    assert test["baseline_score"] == test["baseline_metrics"]["neg_log_loss"]
    assert test["defaults_trial_score"] == test["defaults_trial_metrics"]["neg_log_loss"]
    assert set(test["baseline_metrics"]) == set(test["defaults_trial_metrics"]) == set(METRICS)

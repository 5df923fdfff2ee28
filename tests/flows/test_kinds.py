"""Several model kinds in one search, through the real pipeline flow: the same trials and metrics
with 1 or 2 workers and on processes, a ``kind`` column, each kind's best in cv.json, the summary and
the leaderboard, and a refit (and predictions) of the winner's own kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe import report
from tunepipe.config import parse_config
from tunepipe.models import REGISTRY
from tunepipe.predict import predict_frame

KINDS = ["lightgbm", "random_forest", "extra_trees", "logistic_regression"]
BASE = [f"model.kind=[{', '.join(KINDS)}]", "search.space=null", "search.max_resources=27",
        "search.early_stopping=5"]


def _outputs(root: Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any], dict[str, Any]]:
    return (pd.read_csv(root / "reports/trials.csv"), json.loads((root / "metrics/cv.json").read_text()),
            json.loads((root / "metrics/test.json").read_text()), json.loads((root / "models/winner.json").read_text()))


@pytest.mark.parametrize("strategy", ["tpe", "halving"])
def test_several_kinds_same_results_with_any_runner_and_a_refit_of_the_winners_kind(tmp_path: Path, strategy: str) -> None:
    make_frame(400, "binary", seed=1).to_csv(tmp_path / "data.csv", index=False)
    extra = ["search.n_candidates=14", "search.window=3"] if strategy == "tpe" else ["search.n_candidates=9"]
    base = [*BASE, f"search.strategy={strategy}", *extra]
    results = {}
    runs = {
        "1 worker": ["execution.workers=1", "execution.cache=false"],
        "2 workers": ["execution.workers=2", "execution.cache=false"],
        "processes": ["execution.runner=processes", "execution.workers=2", "execution.cache=false"],
    }
    # tpe's trials run alike on any runner (tests/flows/test_runners.py); processes matter where a
    # promotion continues a LightGBM trial's boosters (halving), and 2 workers where arrival order
    # could matter (tpe's window).
    del runs["processes" if strategy == "tpe" else "2 workers"]
    for name, overrides in runs.items():
        run(parse_config(BASE_RAW, [*base, *overrides]), root=str(tmp_path))
        results[name] = _outputs(tmp_path)
    trials, cv, test, winner = results["1 worker"]
    for name, (other_trials, other_cv, other_test, other_winner) in results.items():
        pd.testing.assert_frame_equal(other_trials, trials, obj=name)
        assert (other_cv, other_test, other_winner) == (cv, test, winner), name

    # Each kind's defaults first, then the search; every trial names its kind.
    assert trials["kind"].tolist()[:4] == KINDS and (trials["candidate"][:4] == [-1, -2, -3, -4]).all()
    assert (trials["proposed_by"][:4] == "defaults").all() and set(trials["kind"]) == set(KINDS)
    assert "param_kind" not in trials
    for _, row in trials.iterrows():  # a kind's rows hold only its own hyperparameters
        own = {f"param_{p}" for p in REGISTRY[row["kind"]].space}
        others = {c for c in trials if c.startswith("param_")} - own
        assert row[list(others)].isna().all(), row
    # Each kind's best at the largest budget it reached, and the winner is the best of them.
    for kind, score in cv["best_by_kind"].items():
        rows = trials[trials["kind"] == kind]
        top = rows[rows["n_resources"] == rows["n_resources"].max()]
        assert score == pytest.approx(top["mean_test_score"].max(), abs=1e-9)
    assert cv["best_score"] == pytest.approx(max(cv["best_by_kind"].values()), abs=1e-9)
    kind = winner["kind"]
    assert winner["params"]["kind"] == kind == trials.loc[trials["trial"] == cv["best_trial"], "kind"].item()
    # The defaults' trial in CV is the best kind's defaults.
    assert cv["defaults_score"] == pytest.approx(trials[trials["candidate"] < 0]["mean_test_score"].max(), abs=1e-9)

    # The refit is the winner's kind's pipeline; it predicts new rows, and its holdout score is test.json's.
    model = joblib.load(tmp_path / "models/model.joblib")
    assert type(model[-1]) is REGISTRY[kind].classifier
    baseline = joblib.load(tmp_path / "models/baseline.joblib")
    defaults_kind = winner["defaults_trial"]["params"]["kind"]
    assert type(baseline[-1]) is REGISTRY[defaults_kind].classifier
    new = make_frame(60, "binary", seed=9)
    out = predict_frame(model, new.drop(columns=["y"]), proba=True, source="new rows")
    assert len(out) == 60
    from tunepipe import io
    split = io.read_split(io.read_split_ref(tmp_path))
    positive = model.classes_[1]
    holdout = roc_auc_score(split.y_holdout == positive, model.predict_proba(split.X_holdout)[:, 1])
    assert holdout == pytest.approx(test["score"], abs=1e-9)

    # Hyperparameter importance is computed within the winner's kind's space, from its trials.
    importance = pd.read_csv(tmp_path / "reports/importance.csv")
    assert set(importance["param"].dropna()) <= set(REGISTRY[kind].space)
    if importance["note"].isna().all():
        assert (importance["n_trials"] <= (trials["kind"] == kind).sum()).all()

    # The summary and the leaderboard show each kind's best.
    text = report.summary_text(cv, test, winner["params"], "n_estimators", [])
    assert "by kind" in text and all(k in text for k in KINDS)
    board = report.leaderboard(trials, n=2)
    assert {row["kind"] for row in board} == set(KINDS) and len(board) >= 4

"""End to end: the real pipeline flow (four stage subflows) on small data, checked against the output contract."""

from __future__ import annotations

import json
import re
import math
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterParentFlowRunId,
)
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort

from prefect.settings import PREFECT_API_URL

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe.config import parse_config
from tunepipe.errors import SearchError

CASES = {
    "binary-lightgbm-halving": ("binary", []),
    "multiclass-hgb-halving-n_samples": (
        "multiclass",
        ["model.kind=hist_gradient_boosting", "search.space=null", "search.resource=n_samples",
         "search.min_resources=smallest", "search.max_resources=null", "search.scoring=neg_log_loss",
         "search.n_candidates=6", "model.params={max_iter: 20}"],
    ),
    "regression-forest-random": (
        "regression",
        ["model.kind=random_forest", "search.space=null", "search.strategy=random", "search.n_candidates=4",
         "search.max_resources=20", "search.scoring=neg_root_mean_squared_error", "search.racing=false"],
    ),
}


def _project(tmp_path: Path, task: str, overrides: list[str]) -> tuple[Path, Any]:
    make_frame(400, task, seed=1).to_csv(tmp_path / "data.csv", index=False)
    return tmp_path, parse_config(BASE_RAW, overrides)


def _read(root: Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    trials = pd.read_csv(root / "reports/trials.csv")
    cv = json.loads((root / "metrics/cv.json").read_text())
    test = json.loads((root / "metrics/test.json").read_text())
    return trials, cv, test


@pytest.mark.parametrize("case", list(CASES))
def test_flow_writes_the_output_contract(tmp_path: Path, case: str) -> None:
    task, overrides = CASES[case]
    root, cfg = _project(tmp_path, task, overrides)
    run(cfg, root=str(root))
    trials, cv, test = _read(root)
    names = sorted(cfg.search.space)

    # reports/trials.csv: one row per candidate per rung, every contract column.
    expected = ["trial", "candidate", "bracket", "rung", "n_resources", "proposed_by", *(f"param_{n}" for n in names),
                *(f"split{k}_test_score" for k in range(cfg.cv.n_splits)), "best_n_resources",
                "mean_test_score", "std_test_score", "rank_test_score", "status", "error"]
    assert list(trials.columns) == expected
    assert trials["trial"].tolist() == list(range(len(trials)))
    # Trial 0 is the model's defaults at the largest budget; the strategy's trials follow.
    defaults = trials.iloc[0]
    assert (defaults["candidate"], defaults["bracket"], defaults["n_resources"]) == (-1, -1, trials["n_resources"].max())
    assert math.isclose(cv["defaults_score"], defaults["mean_test_score"]) and cv["best_score"] >= cv["defaults_score"]
    searched = trials.iloc[1:]
    assert len(trials) == cv["n_trials"] == sum(cv["n_candidates"]) + 1
    assert searched.groupby("rung").size().tolist() == cv["n_candidates"]
    assert searched.groupby("rung")["n_resources"].first().tolist() == cv["n_resources"]
    assert (trials["status"] == "ok").all() and cv["n_failed"] == 0
    splits = trials[[f"split{k}_test_score" for k in range(cfg.cv.n_splits)]]
    np.testing.assert_allclose(splits.mean(axis=1), trials["mean_test_score"], rtol=1e-9)  # 10 digits written
    for _, rung in searched.groupby("rung"):
        assert sorted(rung["rank_test_score"]) == list(range(1, len(rung) + 1))
        assert rung.sort_values("rank_test_score")["mean_test_score"].is_monotonic_decreasing

    # metrics/cv.json: the winner is the best at the largest budget.
    last = trials[trials["n_resources"] == trials["n_resources"].max()]
    top = last.sort_values(["mean_test_score", "trial"], ascending=[False, True]).iloc[0]
    assert cv["scoring"] == cfg.search.scoring and cv["strategy"] == cfg.search.strategy
    assert cv["best_trial"] == top["trial"]
    assert cv["best_candidate"] == top["candidate"]
    assert math.isclose(cv["best_score"], top["mean_test_score"])
    winner = json.loads((root / "models/winner.json").read_text())
    assert winner["params"].keys() == set(names)
    for n in names:
        assert winner["params"][n] == top[f"param_{n}"] or (pd.isna(top[f"param_{n}"]) and winner["params"][n] is None)

    # metrics/test.json: the scorer's name with scikit-learn's sign (also as "score"), plus standard metrics.
    assert test["score"] == test[cfg.search.scoring]
    assert isinstance(test["baseline_score"], float)
    standard = {"rmse", "mae", "r2"} if task == "regression" else {"roc_auc", "log_loss", "accuracy"}
    assert standard <= set(test)
    if cfg.search.scoring == "neg_root_mean_squared_error":
        assert math.isclose(test["neg_root_mean_squared_error"], -test["rmse"])

    # models/model.joblib: a pipeline that predicts from raw columns (extra columns ignored).
    model = joblib.load(root / "models/model.joblib")
    raw = make_frame(50, task, seed=9).drop(columns=["y"])
    assert len(model.predict(raw)) == 50
    # models/winner.json: what train refit; the baseline is the kind's defaults.
    winner = json.loads((root / "models/winner.json").read_text())
    assert winner["trial"] == cv["best_trial"]
    if cfg.search.resource == "n_estimators":  # n_samples: the refit uses every training row
        assert winner["n_resources"] == cv["best_n_resources"]
    assert len(joblib.load(root / "models/baseline.joblib").predict(raw)) == 50

    # Plot data: the best score so far never falls; the task's plot on the holdout.
    progress = pd.read_csv(root / "reports/progress.csv")
    assert len(progress) == len(trials) and progress["best_so_far"].is_monotonic_increasing
    plots = {p.name: len(pd.read_csv(p)) for p in (root / "reports/eval").iterdir()}
    own = {"binary": "roc.csv", "multiclass": "confusion.csv", "regression": "predictions.csv"}[task]
    assert sorted(plots) == ["confusion.csv", "predictions.csv", "roc.csv"]
    assert plots[own] > 0 and all(n == 0 for name, n in plots.items() if name != own)


def test_same_params_same_results_with_any_execution_settings(tmp_path: Path) -> None:
    # Execution settings change speed only: workers (and with them folds fitted in parallel in
    # the last rungs), continued boosting across rungs, the trial cache.
    settings = {
        "one worker": ["execution.workers=1"],
        "two workers": ["execution.workers=2"],
        "from scratch, no cache": ["execution.workers=2", "execution.continue_boosting=false", "execution.cache=false"],
    }
    results = []
    for name, overrides in settings.items():
        root = tmp_path / name.replace(" ", "_").replace(",", "")
        root.mkdir()
        root, cfg = _project(root, "binary", [*overrides, "search.space.subsample={low: 0.5, high: 1.0}",
                                              "search.space.subsample_freq={choices: [1]}"])
        run(cfg, root=str(root))
        trials, cv, test = _read(root)
        results.append((trials, cv, test))
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0][0], other[0])
        assert results[0][1] == other[1]
        assert results[0][2] == other[2]


def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path: Path) -> None:
    root, cfg = _project(tmp_path, "binary", [
        "model.kind=random_forest", "search.strategy=random", "search.n_candidates=4", "search.max_resources=10",
        "search.space={max_features: {choices: [0.5, nonsense]}, min_samples_leaf: {choices: [1, 5]}}"])
    run(cfg, root=str(root))
    trials, cv, _ = _read(root)
    failed = trials[trials["status"] == "failed"]
    assert len(failed) == cv["n_failed"] == 2
    assert failed["error"].str.contains("max_features").all()
    assert failed["mean_test_score"].isna().all()
    assert (failed["rank_test_score"] > trials.loc[trials["status"] == "ok", "rank_test_score"].max()).all()
    assert json.loads((root / "models/winner.json").read_text())["params"]["max_features"] == 0.5


def test_all_trials_failing_fails_the_run_with_the_error_and_no_outputs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, cfg = _project(tmp_path, "binary", [
        "model.kind=random_forest", "search.strategy=random", "search.n_candidates=2", "search.max_resources=10",
        "search.space={max_features: {choices: [nonsense]}}", "search.include_defaults=false"])
    message = (r"all 1 trials at the largest budget \(10\) failed, so there is no winner; first error "
               r"\(trial 0 b0 r0\): InvalidParameterError")
    with pytest.raises(SearchError, match=message):
        run(cfg, root=str(root))
    assert not (root / "metrics").exists() and not (root / "models").exists()
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    state = run(cfg, root=str(root), return_state=True)
    assert state.is_failed()
    assert re.match(message, state.message)


def test_task_runs_are_named_like_the_search_and_artifacts_published(tmp_path: Path) -> None:
    root, cfg = _project(tmp_path, "binary", ["search.n_candidates=9", "search.max_resources=9"])
    state = run(cfg, root=str(root), return_state=True)
    assert state.is_completed()
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        stages = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])),
            limit=10, sort=FlowRunSort.START_TIME_ASC,  # prefect 3.8's client sends unset ones as null (422)
        )
        flow_names = {client.read_flow(r.flow_id).name: r.id for r in stages}
        run_names = sorted(r.name for r in stages)
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in stages])), limit=200,
            sort=TaskRunSort.NAME_ASC,
        )
        names = sorted(r.name for r in runs)
    artifacts = [_artifact(a) for a in state.result()["artifacts"]]
    trials, cv, _ = _read(root)
    # No more trials at once than execution.workers (2): Prefect's default pool would run them all.
    spans = [(r.start_time, r.end_time) for r in runs if r.name.startswith("trial")]
    assert max(sum(s <= t < e for s, e in spans) for t, _ in spans) <= cfg.execution.workers
    expected = sorted(f"trial {t} defaults" if c == -1 else f"trial {t} b{b} r{r}"
                      for t, c, b, r in zip(trials["trial"], trials["candidate"], trials["bracket"], trials["rung"]))
    assert [n for n in names if n.startswith("trial")] == expected
    best = trials.set_index("trial").loc[cv["best_trial"]]
    winner = (f"trial {cv['best_trial']} defaults" if best["candidate"] == -1
              else f"trial {cv['best_trial']} b{best['bracket']} r{best['rung']}")
    assert sorted(flow_names) == ["tunepipe-evaluate", "tunepipe-split", "tunepipe-train", "tunepipe-tune"]
    # Each stage's run is named as `dvc repro` names it, not with Prefect's random words.
    assert run_names == [f"{stage}: halving lightgbm on data.csv" for stage in ("evaluate", "split", "train", "tune")]
    assert {n for n in names if not n.startswith("trial")} == {
        "prepare", f"refit {winner}", "refit defaults", "refit defaults' trial", "holdout winner", "holdout defaults",
        "holdout defaults' trial", "task plot"}
    assert [(a["key"], a["type"], a["flow_run_id"]) for a in artifacts] == [
        ("tunepipe-leaderboard", "table", str(flow_names["tunepipe-tune"])),
        ("tunepipe-summary", "markdown", str(flow_names["tunepipe-evaluate"])),
        ("tunepipe-run", "markdown", str(flow_run_id))]
    assert f"best CV roc_auc: **{cv['best_score']:.5f}**" in artifacts[1]["data"]
    # The parent run carries the summary and the top of the leaderboard, and says what ran.
    assert f"CV roc_auc       {cv['best_score']:.5f}" in artifacts[2]["data"]
    assert "| rank | score | budget |" in artifacts[2]["data"]
    with get_client(sync_client=True) as client:
        parent = client.read_flow_run(flow_run_id)
    assert parent.name == "halving lightgbm on data.csv"
    assert {"strategy:halving", "model:lightgbm", "data:data.csv"} <= set(parent.tags)


def _artifact(artifact_id: str) -> dict[str, Any]:
    """One artifact through the REST API (prefect 3.8's artifact filters skip flow-level artifacts)."""
    response = httpx.get(f"{PREFECT_API_URL.value()}/artifacts/{artifact_id}", timeout=30)
    response.raise_for_status()
    return response.json()


def test_pbt_writes_members_per_step_and_refits_the_winners_schedule(tmp_path: Path) -> None:
    """Strategy pbt end to end: a row per member per step with its parent, the winner's schedule
    in winner.json, and a refit whose trees follow it (each tree's shrinkage is the learning
    rate in force when it grew)."""
    root, cfg = _project(tmp_path, "binary", [
        "search.strategy=pbt", "search.population=4", "search.pbt_interval=9", "search.max_resources=27",
        "search.include_defaults=false",
    ])
    run(cfg, root=str(root))
    trials, cv, _ = _read(root)
    assert len(trials) == 12 and trials["rung"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert trials["n_resources"].tolist() == [9] * 4 + [18] * 4 + [27] * 4
    assert trials["candidate"].tolist() == [0, 1, 2, 3] * 3
    copied = trials[trials["parent"].notna()]
    # One member of four is replaced per step (the worst quarter), by a copy of the best's.
    assert copied["rung"].tolist() == [1, 2]
    for _, row in copied.iterrows():
        before = trials[(trials["rung"] == row["rung"] - 1)]
        assert row["candidate"] == before.sort_values(["mean_test_score", "trial"], ascending=[False, True]).iloc[-1]["candidate"]
        assert row["parent"] == before.sort_values(["mean_test_score", "trial"], ascending=[False, True]).iloc[0]["candidate"]
        assert row["proposed_by"] == "pbt"
    winner = json.loads((root / "models/winner.json").read_text())
    assert winner["trial"] == cv["best_trial"] and winner["n_resources"] == 27
    schedule = winner["schedule"]
    assert sum(s["rounds"] for s in schedule) == 27 and schedule[-1]["params"] == winner["params"]
    model = joblib.load(root / "models/model.joblib")
    trees = model[-1].booster_.dump_model()["tree_info"]
    expected = [s["params"]["learning_rate"] for s in schedule for _ in range(s["rounds"])]
    assert len(trees) == 27
    # LightGBM writes shrinkage with 6 significant digits; a tree without a split keeps 1, and so
    # does the first, which carries the average label (Tree::AddBias).
    grown = [(t["shrinkage"], lr) for t, lr in zip(trees[1:], expected[1:]) if t["num_leaves"] > 1]
    assert len(grown) > 20 and all(math.isclose(s, lr, rel_tol=1e-5) for s, lr in grown)
    assert len({lr for _, lr in grown}) == len({s["params"]["learning_rate"] for s in schedule})
    assert len(model.predict(make_frame(50, "binary", seed=9).drop(columns=["y"]))) == 50

"""`dvc repro` re-runs exactly the stages whose code, data or params changed (real dvc, real flows)."""

from __future__ import annotations

import json
import re
import time

import pandas as pd
import pytest

from tests.conftest import make_frame
from tests.dvc.conftest import Repo
from tunepipe import io

STAGES = ["split", "tune", "train", "evaluate"]


def ran(output: str) -> list[str]:
    """The stages a `dvc repro` ran, in order."""
    return re.findall(r"Running stage '(\w+)'", output)


def skipped(output: str) -> list[str]:
    return re.findall(r"Stage '(\w+)' didn't change, skipping", output)


@pytest.fixture(autouse=True)
def back_to_last_commit(repo: Repo) -> None:
    repo.reset()


def test_first_repro_wrote_every_output_and_cached_the_large_ones(repo: Repo) -> None:
    for rel in (io.SPLIT_DIR, io.TRIALS_CSV, io.PROGRESS_CSV, io.CV_JSON, io.WINNER_JSON,
                io.MODEL_FILE, io.BASELINE_FILE, io.TEST_JSON, io.EVAL_DIR / "roc.csv"):
        assert (repo.path / rel).exists(), rel
    tracked = set(repo.git("ls-files").split())
    # Small metrics are in git; the split, the models and the reports are DVC's (cached, git-ignored).
    assert {"metrics/cv.json", "metrics/test.json", "dvc.lock"} <= tracked
    assert not {"models/model.joblib", "models/winner.json", "data/split/train.parquet", "reports/trials.csv",
                "reports/eval/roc.csv"} & tracked
    assert "persist" not in (repo.path / "dvc.yaml").read_text()
    lock = repo.path / "dvc.lock"
    assert all(f"{stage}:" in lock.read_text() for stage in STAGES)


def test_second_repro_changes_nothing(repo: Repo) -> None:
    t0 = time.perf_counter()
    out = repo.dvc("repro").stdout
    print(f"no-op dvc repro: {time.perf_counter() - t0:.1f} s")
    assert ran(out) == [] and sorted(skipped(out)) == sorted(STAGES)
    assert "Data and pipelines are up to date" in out
    assert repo.git("status", "--porcelain") == ""


def test_evaluation_setting_reruns_only_evaluate(repo: Repo) -> None:
    repo.set_params(evaluate={"metrics": ["accuracy", "neg_log_loss"]})
    assert set(json.loads(repo.dvc("status", "--json").stdout)) == {"evaluate"}
    t0 = time.perf_counter()
    out = repo.dvc("repro").stdout
    print(f"dvc repro after an evaluation setting: {time.perf_counter() - t0:.1f} s")
    assert ran(out) == ["evaluate"]
    test = repo.json("metrics/test.json")
    assert {"accuracy", "neg_log_loss"} <= set(test) and "log_loss" not in test
    # Back to the committed setting: DVC's run-cache restores the earlier result without running it.
    repo.set_params(evaluate={"metrics": "auto"})
    out = repo.dvc("repro").stdout
    assert ran(out) == [] and "Stage 'evaluate' is cached - skipping run" in out
    assert repo.git("status", "--porcelain") == ""


def test_search_setting_reruns_the_search_not_the_split(repo: Repo) -> None:
    before = repo.json("metrics/cv.json")
    repo.set_params(search={"n_candidates": 4})
    assert set(json.loads(repo.dvc("status", "--json").stdout)) == {"tune"}
    out = repo.dvc("repro").stdout
    assert "split" in skipped(out) and ran(out)[0] == "tune"
    after = repo.json("metrics/cv.json")
    assert after["n_candidates"][0] == 4 != before["n_candidates"][0]
    repo.set_params(search={"n_candidates": before["n_candidates"][0]})
    out = repo.dvc("repro").stdout
    assert "Stage 'tune' is cached - skipping run" in out and "tune" not in ran(out)
    assert repo.json("metrics/cv.json") == before


def test_new_data_reruns_everything(repo: Repo) -> None:
    make_frame(320, "binary", seed=4).to_csv(repo.path / "data/small.csv", index=False)
    assert set(json.loads(repo.dvc("status", "--json").stdout)) == {"split"}
    out = repo.dvc("repro").stdout
    assert ran(out) == STAGES
    assert len(pd.read_parquet(repo.path / "data/split/train.parquet")) == 240


def test_bad_param_fails_the_stage_with_one_message(repo: Repo) -> None:
    repo.set_params(search={"factor": 1})
    proc = repo.dvc("repro", check=False)
    assert proc.returncode != 0
    assert "search.factor is 1, but must be >= 2" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_params_and_metrics_show_in_dvc(repo: Repo) -> None:
    metrics = json.loads(repo.dvc("metrics", "show", "--json").stdout)
    data = metrics[""]["data"]
    assert data["metrics/test.json"]["data"]["score"] == repo.json("metrics/test.json")["score"]
    params = json.loads(repo.dvc("params", "diff", "--all", "--json").stdout)
    assert {"base.seed", "search.factor", "model.kind", "evaluate.metrics"} <= set(params["params.yaml"])


def test_plots_render_from_the_declared_files(repo: Repo) -> None:
    out = repo.dvc("plots", "show", "--json").stdout
    rendered = json.loads(out[: out.rindex("}") + 1])  # dvc may print a warning line after the JSON
    drawn = {name for name, plots in rendered["data"].items() if any(p.get("content") for p in plots)}
    assert {"Score against budget", "Best score so far", "Hyperparameter importance", "Score against each hyperparameter",
            "ROC curve (binary, holdout)"} <= drawn
    # The other tasks' plot files are there without rows: nothing fails to load.
    assert rendered.get("errors", []) == [], rendered["errors"]
    assert {"Confusion matrix (multiclass, holdout)", "Predicted vs actual (regression, holdout)"} <= set(rendered["data"])

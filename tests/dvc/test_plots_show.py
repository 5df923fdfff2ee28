"""`dvc plots show` after a run of each task prints no failure: every plot file dvc.yaml declares
is there (the other tasks' holdout plots without rows)."""

from __future__ import annotations

import pytest

from tests.conftest import make_frame
from tests.dvc.conftest import Repo

SCORING = {"binary": "roc_auc", "multiclass": "neg_log_loss", "regression": "r2"}


@pytest.mark.parametrize("task", list(SCORING))
def test_dvc_plots_show_reports_no_failure_after_a_run_of_any_task(repo: Repo, task: str) -> None:
    try:
        if task != "binary":  # the fixture's run is binary
            make_frame(300, task, seed=3).to_csv(repo.path / "data/small.csv", index=False)
            repo.set_params(search={"scoring": SCORING[task]})
            repo.dvc("repro")
        shown = repo.dvc("plots", "show")
        text = shown.stdout + shown.stderr
        assert "failed" not in text.lower() and "dvc_plots/index.html" in text, text
    finally:
        repo.reset()

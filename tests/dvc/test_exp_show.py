"""`dvc exp show` at a 120-column terminal: the holdout scores lead, and the README's recipe hides hash columns."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.dvc.conftest import Repo


def _show(repo: Repo, *args: str) -> list[str]:
    repo.env["COLUMNS"] = "120"
    try:
        lines = repo.dvc("exp", "show", "--no-pager", *args).stdout.splitlines()
    finally:
        del repo.env["COLUMNS"]
    assert lines and max(len(line) for line in lines) <= 120, lines
    return lines


def test_the_holdout_score_and_the_defaults_score_are_the_first_metrics(repo: Repo) -> None:
    header = _show(repo)[1].split()
    # Metrics come in the order of the stages that write them: evaluate's metrics/test.json first.
    assert header[0] == "Experiment" and header[1].startswith("Cr") and header[2] == "score", header
    assert list(repo.json("metrics/test.json"))[:2] == ["score", "baseline_score"]


def test_tunepipe_exp_shows_the_columns_that_matter_at_120_columns(repo: Repo) -> None:
    repo.env["COLUMNS"] = "120"
    try:
        lines = repo.run(str(Path(sys.executable).with_name("tunepipe")), "exp", "--no-pager").stdout.splitlines()
    finally:
        del repo.env["COLUMNS"]
    assert lines and max(len(line) for line in lines) <= 120, lines
    header, workspace = lines[1].split(), lines[3].split()
    assert header == ["Experiment", "score", "baseline_score", "defaults_trial_score", "gain", "best_score",
                      "n_trials", "search.strategy"], header  # none cut to "…"
    assert f"{repo.json('metrics/test.json')['score']:.5g}" in workspace  # dvc's 5 significant digits
    assert not any(re.fullmatch(r"[0-9a-f]{8,}…?", cell) for cell in workspace), workspace  # no md5 of a dependency

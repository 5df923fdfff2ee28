"""A queued sweep: `dvc exp run --queue -S ...`, `dvc queue start -j 1`, `dvc exp show` (real dvc)."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from tests.dvc.conftest import Repo


def experiments(shown: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``dvc exp show --json`` -> {experiment name: {"params": ..., "metrics": ...}} (flat keys)."""
    found: dict[str, dict[str, Any]] = {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                data = rev.get("data") or {}
                params = data.get("params", {}).get("params.yaml", {}).get("data", {})
                metrics = {f: m.get("data", {}) for f, m in (data.get("metrics") or {}).items()}
                found[rev.get("name") or rev["rev"]] = {"params": params, "metrics": metrics}
    return found


def wait_for_queue(repo: Repo, timeout: float = 600) -> str:
    """Poll `dvc queue status` until nothing is queued or running; return the last status table."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = repo.dvc("queue", "status").stdout
        if not any(word in status for word in ("Queued", "Running")):
            return status
        time.sleep(2)
    raise AssertionError(f"the queue did not finish in {timeout} s:\n{status}")


def test_queued_sweep_shows_one_row_per_experiment_with_params_and_metrics(repo: Repo) -> None:
    # DVC's sweep syntax: comma-separated values queue one experiment each (two: a sweep, and
    # each experiment runs a whole pipeline).
    out = repo.dvc("exp", "run", "--queue", "-S", "search.n_candidates=3,4").stdout
    assert out.count("Queued experiment") == 2
    repo.dvc("queue", "start", "-j", "1")
    status = wait_for_queue(repo)
    assert status.count("Success") == 2, status
    shown = experiments(json.loads(repo.dvc("exp", "show", "--json").stdout))
    assert len(shown) == 2, shown.keys()
    first_rungs = set()
    for exp in shown.values():
        n = exp["params"]["search"]["n_candidates"]
        cv, test = exp["metrics"]["metrics/cv.json"], exp["metrics"]["metrics/test.json"]
        # DVC keeps only scalar metrics (the per-rung lists of cv.json are dropped); every candidate
        # of the first rung is one trial, so an experiment with n candidates ran at least n trials.
        assert cv["n_trials"] >= n and cv["n_failed"] == 0 and 0.5 <= test["score"] <= 1
        first_rungs.add(n)
    assert first_rungs == {3, 4}
    # The README's comparison, as CSV so no column is cut to the terminal's width. (Without
    # --only-changed: on this small data the winners can tie, which hides the score column.)
    table = repo.dvc("exp", "show", "--csv", "--sort-by", "metrics/test.json:score").stdout
    rows = list(csv.DictReader(io.StringIO(table)))
    assert "search.n_candidates" in rows[0] and "score" in rows[0], list(rows[0])
    scores = [float(r["score"]) for r in rows if r["Experiment"]]
    assert len(scores) == 2 and scores == sorted(scores), table
    repo.dvc("exp", "remove", "--all-commits", "-q")

"""`tunepipe run` as a user runs it: a real process, against the test session's Prefect server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from prefect.settings import PREFECT_API_URL

from tests.conftest import BASE_RAW, make_frame


def test_tunepipe_run_process_writes_outputs_and_ends_with_the_summary(tmp_path: Path) -> None:
    make_frame(300, "binary", seed=2).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(BASE_RAW))
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    proc = subprocess.run(
        [sys.executable, "-m", "tunepipe.cli", "run", "-S", "search.n_candidates=3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for rel in ["data/split", "reports/trials.csv", "reports/progress.csv", "metrics/cv.json", "models/winner.json",
                "reports/importance.csv", "reports/parallel.csv", "models/model.joblib", "models/baseline.joblib",
                "metrics/test.json", "reports/eval/roc.csv"]:
        assert (tmp_path / rel).exists(), rel
    cv = json.loads((tmp_path / "metrics/cv.json").read_text())
    test = json.loads((tmp_path / "metrics/test.json").read_text())
    assert cv["n_candidates"] == [3, 1]
    # The last lines on stdout are the summary, the same as `tunepipe summary` prints later.
    summary = subprocess.run([sys.executable, "-m", "tunepipe.cli", "summary"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0, summary.stderr
    assert proc.stdout.rstrip().endswith(summary.stdout.rstrip())
    lines = summary.stdout.splitlines()
    assert lines[0] == f"strategy         halving, {cv['n_trials']} trials (0 failed)"
    assert f"holdout roc_auc  {test['score']:.5f} ({test['gain']:+.5f} against the better baseline)" in summary.stdout
    assert (f"baselines        the model's defaults {test['baseline_score']:.5f}, the defaults' trial "
            f"{test['defaults_trial_score']:.5f}") in summary.stdout
    assert "5/5 trials done" in proc.stderr  # progress lines go to the log (stderr)
    assert "Traceback" not in proc.stderr

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


def test_tunepipe_run_process_writes_outputs_and_lists_them(tmp_path: Path) -> None:
    make_frame(300, "binary", seed=2).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(BASE_RAW))
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    proc = subprocess.run(
        [sys.executable, "-m", "tunepipe.cli", "run", "-S", "search.n_candidates=3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    listed = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  ")]
    assert [Path(p).relative_to(tmp_path).as_posix() for p in listed] == [
        "data/split", "reports/trials.csv", "reports/progress.csv", "metrics/cv.json", "models/winner.json",
        "reports/importance.csv", "reports/parallel.csv",
        "models/model.joblib", "models/baseline.joblib", "metrics/test.json", "reports/eval/roc.csv"]
    assert json.loads((tmp_path / "metrics/cv.json").read_text())["n_candidates"] == [3, 1]
    assert "5/5 trials done" in proc.stderr  # progress lines go to the log (stderr)
    assert "Traceback" not in proc.stderr

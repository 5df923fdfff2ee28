"""Without PREFECT_API_URL: one Prefect home (the project's) from any folder, one server per `dvc repro`,
and a re-run whose trials come from the trial cache prints no traceback and loses no event."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_frame
from tests.dvc.conftest import SMALL, Repo, copy_project
from tunepipe import prefect_home

STARTED = "started this project's Prefect server"
FINAL = {"COMPLETED", "CACHED"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _run(repo: Repo, *args: str, cwd: Path) -> str:
    proc = subprocess.run(args, cwd=cwd, env=repo.env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


def _flow_runs(url: str) -> list[dict]:
    return httpx.post(f"{url}/flow_runs/filter", json={"limit": 50}, timeout=30).json()


def _task_run_states(url: str, flow_run_id: str) -> list[str]:
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200}
    return [t["state_type"] for t in httpx.post(f"{url}/task_runs/filter", json=body, timeout=30).json()]


@pytest.fixture
def project(tmp_path: Path) -> Repo:
    path = tmp_path / "project"
    path.mkdir()
    copy_project(path)
    make_frame(300, "binary", seed=3).to_csv(path / "data/small.csv", index=False)
    repo = Repo(path, api_url="")
    # The user's own environment: no Prefect settings, a home folder of its own.
    for key in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH", prefect_home.MODE_VARIABLE):
        repo.env.pop(key, None)
    (tmp_path / "user").mkdir()
    repo.env["HOME"] = str(tmp_path / "user")
    # Long enough to span the gaps between commands, short enough for the test to see it stop.
    repo.env[prefect_home.IDLE_VARIABLE] = "20"
    repo.set_params(**SMALL)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "project on small data"]):
        repo.git(*args)
    return repo


def test_one_home_and_one_server_for_a_repro_and_later_commands(project: Repo, tmp_path: Path) -> None:
    home = project.path / ".prefect"
    state = home / prefect_home.STATE_FILE
    supervisor = None
    try:
        # dvc repro from a subfolder: DVC runs the four stage commands in the folder of dvc.yaml.
        text = _run(project, str(Path(sys.executable).with_name("dvc")), "repro", "../dvc.yaml", cwd=project.path / "data")
        assert text.count(STARTED) == 1, text[-3000:]
        assert "Starting temporary server" not in text and "Traceback" not in text
        supervisor = json.loads(state.read_text())["pid"]
        url = json.loads(state.read_text())["url"]

        # A stage command from another folder, pointed at the project: same home, same server, and
        # all its trials from the trial cache.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        tunepipe = str(Path(sys.executable).with_name("tunepipe"))
        text = _run(project, tunepipe, "tune", "--root", str(project.path), "--params", str(project.path / "params.yaml"),
                    cwd=elsewhere)
        assert "taken from the trial cache" in text and "0 trials evaluated" in text
        assert "Traceback" not in text and STARTED not in text and "Starting temporary server" not in text
        assert json.loads(state.read_text())["url"] == url

        assert (home / "prefect.db").is_file()
        assert not (tmp_path / "user/.prefect/prefect.db").exists() and not (elsewhere / ".prefect").exists()
        runs = _flow_runs(url)
        assert len(runs) == 5 and {r["state_type"] for r in runs} == {"COMPLETED"}
        # Every task run's final state reached the server (the server outlived each command's flush).
        deadline = time.monotonic() + 60
        while not all(set(_task_run_states(url, r["id"])) <= FINAL for r in runs):
            assert time.monotonic() < deadline, [_task_run_states(url, r["id"]) for r in runs]
            time.sleep(1)

        # Idle: the server stops by itself, cleanly.
        deadline = time.monotonic() + 120
        while _alive(supervisor) or state.exists():
            assert time.monotonic() < deadline, "the project's server did not stop after its idle time"
            time.sleep(1)
        log = (home / prefect_home.LOG_FILE).read_text()
        assert "Traceback" not in log and "Error flushing" not in log
    finally:
        if supervisor and _alive(supervisor):
            os.kill(supervisor, signal.SIGTERM)

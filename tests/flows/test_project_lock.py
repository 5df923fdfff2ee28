"""One run per project: two real `tunepipe run` processes at once, and a run after a killed one."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from prefect.settings import PREFECT_API_URL

from tests.conftest import BASE_RAW, make_frame
from tunepipe import io
from tunepipe.config import parse_config
from tunepipe.data import prepare
from tunepipe.lock import HOLDER_FILE


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    make_frame(400, "binary", seed=3).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(BASE_RAW))
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    return tmp_path, env


def _tunepipe(*args: str) -> list[str]:
    return [sys.executable, "-m", "tunepipe.cli", *args]


def _wait_for(predicate: Any, proc: subprocess.Popen[str], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the first run ended (exit {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.05)


def _holds_lock(root: Path, pid: int) -> bool:
    try:
        return json.loads((root / HOLDER_FILE).read_text())["pid"] == pid
    except (OSError, ValueError):
        return False


def test_a_second_run_in_the_same_project_stops_at_once_and_the_first_is_unharmed(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    first = subprocess.Popen(_tunepipe("run", "-S", "search.n_candidates=3"), cwd=root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _holds_lock(root, first.pid), first, "lock taken")
        second = subprocess.run(_tunepipe("run", "-S", "search.n_candidates=3", "-S", "base.seed=8"),
                                cwd=root, env=env, capture_output=True, text=True, timeout=120)
        out, err = first.communicate(timeout=600)
    finally:
        first.kill()
    assert second.returncode == 2, second.stderr
    assert second.stdout == ""
    assert re.fullmatch(
        rf"tunepipe: error: another tunepipe command is running in this project \({re.escape(str(root.resolve()))}\): "
        rf"pid {first.pid}, `tunepipe run -S search.n_candidates=3`, since \S+ \(\d+ s ago\); two runs in one project "
        rf"would mix their outputs; wait for it to finish, or check that process \(`ps -p {first.pid}`\) and stop it "
        r"if it is stuck, then run this again\n",
        second.stderr,
    ), second.stderr
    assert first.returncode == 0, err
    # The first run's outputs are its own: the split of its seed, the holdout score of its winner.
    cfg = parse_config(BASE_RAW, ["search.n_candidates=3"])
    expected = io.write_split(prepare(io.read_table("data.csv", root), cfg), tmp_path / "expected-split").fingerprint
    assert io.read_split_ref(root).fingerprint == expected
    assert json.loads((root / "metrics/cv.json").read_text())["n_candidates"] == [3, 1]
    assert "score" in json.loads((root / "metrics/test.json").read_text())
    assert not (root / HOLDER_FILE).exists()  # released at its end


def test_a_killed_run_does_not_block_the_next(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    # Its own process group: the kill takes whatever it started along with it, as a kill -9 of a run would.
    killed = subprocess.Popen(_tunepipe("run", "-S", "search.n_candidates=81"), cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # Killed mid-search: the split is written, the search is running.
        _wait_for(lambda: (root / "data/split/meta.json").exists() and _holds_lock(root, killed.pid), killed, "split written")
        os.killpg(killed.pid, signal.SIGKILL)
    finally:
        killed.kill()
        killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert _holds_lock(root, killed.pid)  # its holder file is left behind: no cleanup ran

    proc = subprocess.run(_tunepipe("run", "-S", "search.n_candidates=3"), cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "another tunepipe command" not in proc.stderr
    assert json.loads((root / "metrics/cv.json").read_text())["n_candidates"] == [3, 1]

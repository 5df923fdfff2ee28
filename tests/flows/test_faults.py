"""Faults in real processes: Ctrl-C (SIGINT to the process group, as a terminal sends it) stops a
run at once, keeps every finished trial, writes nothing more, and the next run resumes; a lost
Prefect server (the project's, restarted; a user's own, a bounded stop); a killed Dask worker."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import yaml
from prefect.settings import PREFECT_API_URL

from tests.conftest import BASE_RAW, make_frame
from tests.flows.test_project_lock import _wait_for
from tests.prefect_server import free_port, prefect_server_process

# A search long enough to be interrupted mid-way: tpe, 120 configurations, no early stopping.
LONG = ["search.strategy=tpe", "search.n_candidates=120", "search.max_resources=400", "search.early_stopping=null"]


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    make_frame(2000, "binary", seed=3).to_csv(tmp_path / "data.csv", index=False)
    raw = {**BASE_RAW, "search": {k: v for k, v in BASE_RAW["search"].items()
                                  if k not in ("factor", "min_resources", "aggressive_elimination")}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    return tmp_path, {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}


def _run(root: Path, env: dict[str, str], *overrides: str) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "tunepipe.cli", "run", *(a for o in overrides for a in ("-S", o))]
    # Its own process group, as a shell gives a command: Ctrl-C reaches the group.
    return subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _outputs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for folder in ("metrics", "models", "reports", "data/split")
            for p in sorted((root / folder).rglob("*")) if p.is_file()}


def _cached(root: Path) -> set[str]:
    return {p.name for p in (root / ".tunepipe/cache").glob("trial-*.json")}


def test_ctrl_c_stops_at_once_keeps_finished_trials_writes_nothing_and_the_next_run_resumes(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    first = _run(root, env, "search.n_candidates=3")
    assert first.wait(timeout=600) == 0, first.communicate()[1]
    before, cached_before = _outputs(root), _cached(root)

    long = _run(root, env, *LONG)
    try:
        _wait_for(lambda: len(_cached(root) - cached_before) >= 3, long, "3 new trials in the trial cache", timeout=300)
        signalled = time.monotonic()
        os.killpg(long.pid, signal.SIGINT)
        os.killpg(long.pid, signal.SIGINT)  # a second Ctrl-C changes nothing
        _, err = long.communicate(timeout=60)
        stopped = time.monotonic() - signalled
    finally:
        long.kill()
    assert long.returncode == 130, err
    assert stopped < 10, f"took {stopped:.1f} s to stop"
    kept = _cached(root) - cached_before
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"tunepipe: interrupted: {len(kept)} trials finished in this run are in the trial cache "
                           "(.tunepipe/cache), and `tunepipe run` resumes from them"), err
    assert "Traceback" not in err
    assert _outputs(root) == before  # no stage wrote after the signal
    assert not list(root.rglob("*.tmp*"))  # and nothing half-written was left

    # The next run with the same params takes every kept trial from the trial cache.
    again = subprocess.run([sys.executable, "-m", "tunepipe.cli", "tune", *(a for o in LONG[:1] + ["search.n_candidates=6"]
                            + LONG[2:] for a in ("-S", o))], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    taken = re.search(r"(\d+) taken from the trial cache", again.stderr + again.stdout)
    assert taken is not None and int(taken.group(1)) >= 3, again.stderr


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_a_lost_project_server_is_started_again_and_the_run_finishes(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    # The project's own server (no PREFECT_API_URL): tunepipe starts and supervises it.
    env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"} | {"TUNEPIPE_SERVER_IDLE_SECONDS": "5"}
    home = root / ".prefect"
    run = _run(root, env, *LONG[:3], "search.n_candidates=30")
    try:
        _wait_for(lambda: len(_cached(root)) >= 2, run, "2 trials in the trial cache", timeout=300)
        supervisor = json.loads((home / "tunepipe-server.json").read_text())["pid"]
        (server,) = _children(supervisor)
        os.kill(server, signal.SIGKILL)  # the server dies mid-search
        out, err = run.communicate(timeout=600)
    finally:
        run.kill()
    assert run.returncode == 0, err[-3000:]
    assert "winner" in out + err and json.loads((root / "metrics/test.json").read_text())["score"] > 0.5
    log = (home / "tunepipe-server.log").read_text()
    assert "the Prefect server exited (-9) while a command used it; starting it again" in log, log[-2000:]


def test_a_lost_server_of_the_users_own_ends_the_run_in_bounded_time_with_one_line(tmp_path: Path) -> None:
    """A user's own PREFECT_API_URL is not tunepipe's to restart: once it has not answered for
    TUNEPIPE_SERVER_LOST_SECONDS the run stops as on Ctrl-C, exit 1, finished trials kept."""
    root, env = _project(tmp_path)
    (tmp_path / "own").mkdir()
    with prefect_server_process(tmp_path / "own") as (url, server):
        env = env | {"PREFECT_API_URL": url, "TUNEPIPE_SERVER_LOST_SECONDS": "15"}
        run = _run(root, env, *LONG)
        try:
            _wait_for(lambda: len(_cached(root)) >= 2, run, "2 trials in the trial cache", timeout=300)
            before = _outputs(root)
            os.killpg(server.pid, signal.SIGKILL)  # the server and its workers, as a crash would
            killed = time.monotonic()
            _, err = run.communicate(timeout=300)
            stopped = time.monotonic() - killed
        finally:
            run.kill()
    print(f"stopped {stopped:.1f} s after the server was killed; last line: {err.strip().splitlines()[-1]}")
    assert run.returncode == 1, err[-3000:]
    assert stopped < 15 + 30, f"took {stopped:.0f} s to stop"
    line = err.strip().splitlines()[-1]
    assert re.match(rf"tunepipe: the Prefect server at {re.escape(url)} has not answered for \d+ s, so the run "
                    r"stops: \d+ trials finished in this run are in the trial cache", line), err[-3000:]
    assert "Traceback" not in err
    assert _outputs(root) == before  # no stage wrote after the server was lost
    assert not list(root.rglob("*.tmp*"))
    assert len(_cached(root)) >= 2


def _dask(*args: str) -> subprocess.Popen[bytes]:
    """A `dask` CLI process (scheduler or worker) in its own process group, as on a cluster machine."""
    dask = Path(sys.executable).with_name("dask")
    return subprocess.Popen([str(dask), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def test_a_killed_dask_worker_loses_nothing_and_changes_nothing(tmp_path: Path) -> None:
    """A real `dask scheduler` and two `dask worker` processes; one worker is killed (SIGKILL)
    mid-search: the run finishes on the other with exactly the threads runner's results."""
    from flows.pipeline import run as pipeline
    from tunepipe.config import parse_config

    search = ["search.strategy=random", "search.n_candidates=24", "search.max_resources=150",
              "search.early_stopping=null", "search.racing=false"]
    results = {}
    for name in ("threads", "dask"):
        root = tmp_path / name
        root.mkdir()
        make_frame(1500, "binary", seed=4).to_csv(root / "data.csv", index=False)
        overrides = search.copy()
        procs: list[subprocess.Popen[bytes]] = []
        killer = None
        killed_after: list[int] = []  # trials in the cache when the worker was killed
        if name == "dask":
            port = free_port()
            procs.append(_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"))
            address = f"tcp://127.0.0.1:{port}"
            procs += [_dask("worker", address, "--nthreads", "1", "--no-dashboard") for _ in range(2)]
            overrides += ["execution.runner=dask", f"execution.dask_address={address}"]

            def kill_a_worker_mid_search(root: Path = root, worker: subprocess.Popen[bytes] = procs[1]) -> None:
                deadline = time.monotonic() + 300
                while len(_cached(root)) < 4 and time.monotonic() < deadline:
                    time.sleep(0.2)
                os.killpg(worker.pid, signal.SIGKILL)
                killed_after.append(len(_cached(root)))

            killer = threading.Thread(target=kill_a_worker_mid_search, daemon=True)
        try:
            if killer is not None:
                _wait_for_scheduler(address, workers=2)
                killer.start()
            pipeline(parse_config(BASE_RAW, overrides), root=str(root))
        finally:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        results[name] = (pd.read_csv(root / "reports/trials.csv"), json.loads((root / "metrics/cv.json").read_text()),
                         json.loads((root / "metrics/test.json").read_text()))
        if name == "dask":
            # The worker was killed mid-search, and the search went on past it.
            assert len(killed_after) == 1 and 4 <= killed_after[0] < len(results[name][0]), killed_after
    pd.testing.assert_frame_equal(results["threads"][0], results["dask"][0])
    assert results["threads"][1:] == results["dask"][1:]


def _wait_for_scheduler(address: str, workers: int) -> None:
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=60)

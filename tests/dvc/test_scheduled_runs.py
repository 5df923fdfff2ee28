"""`tunepipe serve` against a real Prefect server: a deployment run is a DVC experiment.

The test serves the deployment in a real process, triggers runs through the Prefect API
(`run_deployment`), and checks the run, its task runs, the outputs and the new DVC experiment.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterTags,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.dvc.conftest import Repo
from tests.dvc.test_dvc_experiments import experiments

DEPLOYMENT = "tunepipe-scheduled/nightly"


@pytest.fixture
def served(repo: Repo, api_url: str) -> Iterator[Repo]:
    """`tunepipe serve` running in the project (stopped and its process group killed afterwards)."""
    log = open(repo.path / "serve.log", "wb")  # noqa: SIM115 - closed below
    # The runner polls for due runs every 10 s by default; 1 s keeps the test short.
    env = {**repo.env, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    proc = subprocess.Popen(
        [str(sys.executable.replace("python", "tunepipe")), "serve", "--name", "nightly", "-S", "search.n_candidates=4"],
        cwd=repo.path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        with temporary_settings({PREFECT_API_URL: api_url}):
            deadline = time.monotonic() + 120
            with get_client(sync_client=True) as client:
                while True:
                    try:
                        client.read_deployment_by_name(DEPLOYMENT)
                        break
                    except ObjectNotFound:
                        if proc.poll() is not None or time.monotonic() > deadline:
                            raise AssertionError((repo.path / "serve.log").read_text()[-3000:]) from None
                        time.sleep(0.5)
            yield repo
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _wait_final(client: Any, flow_run_ids: list[Any], timeout: float = 600) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [client.read_flow_run(i) for i in flow_run_ids]
        if all(r.state and r.state.is_final() for r in runs):
            return runs
        time.sleep(1)
    raise AssertionError(f"runs not final after {timeout} s: {[r.state_name for r in runs]}")


def test_a_scheduled_run_is_a_dvc_experiment_and_an_overlapping_one_is_skipped(served: Repo, api_url: str) -> None:
    repo = served
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        # Two runs due at once: the deployment runs one at a time, and skips (cancels) the other.
        triggered = [run_deployment(DEPLOYMENT, timeout=0) for _ in range(2)]
        runs = _wait_final(client, [r.id for r in triggered])
        log = (repo.path / "serve.log").read_text()[-4000:]
        assert sorted(r.state_name for r in runs) == ["Cancelled", "Completed"], log
        done = next(r for r in runs if r.state_name == "Completed")
        print(f"scheduled run end to end: {(done.end_time - done.start_time).total_seconds():.1f} s")

        # Its one task ran DVC; the experiment is named after the deployment, time and run.
        (exp_task,) = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[done.id])), limit=10, sort=TaskRunSort.NAME_ASC)
        assert exp_task.name.startswith("dvc exp run nightly-") and exp_task.state_name == "Completed"
        name = exp_task.name.removeprefix("dvc exp run ")
        assert name.endswith(done.name)

        # Every stage DVC re-ran is a flow run on the same server, tagged with the experiment. Only
        # search.* changed: DVC skipped the split (and the refit too if the winner came out the same).
        stages = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"experiment:{name}"])),
            limit=10, sort=FlowRunSort.START_TIME_ASC,  # prefect 3.8's client sends unset ones as null (422)
        )
        names = [client.read_flow(s.flow_id).name for s in stages]
        assert names[0] == "tunepipe-tune" and names[-1] == "tunepipe-evaluate" and "tunepipe-split" not in names
        assert all(s.state_name == "Completed" for s in stages)
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[stages[0].id])), limit=200, sort=TaskRunSort.NAME_ASC
        )
        trial_runs = [t for t in tasks if t.name.startswith("trial")]
        # Trials found in the trial cache (the repo's earlier runs) are told without a task run.
        logs = " ".join(log.message for log in client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[stages[0].id])), limit=200, offset=0))
        evaluated, cached = map(int, re.search(r"(\d+) trials evaluated, (\d+) taken from the trial cache", logs).groups())

    # The outputs are in the workspace, and the experiment is in `dvc exp show`.
    cv = repo.json("metrics/cv.json")
    assert cv["n_trials"] == evaluated + cached >= 5 and evaluated == len(trial_runs)
    assert repo.params()["search"]["n_candidates"] == 4
    shown = experiments(json.loads(repo.dvc("exp", "show", "--json").stdout))
    assert shown[name]["params"]["search"]["n_candidates"] == 4
    assert shown[name]["metrics"]["metrics/cv.json"]["best_score"] == cv["best_score"]
    assert shown[name]["metrics"]["metrics/test.json"]["score"] == repo.json("metrics/test.json")["score"]

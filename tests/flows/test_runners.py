"""Execution backends and robustness: threads, processes and a real Dask cluster give the same
search; trial tasks time out and retry as configured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from distributed import Client, LocalCluster
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe import execution, io
from tunepipe.config import parse_config
from tunepipe.errors import SearchError


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """A real two-worker Dask cluster (worker processes), as a user's remote cluster would be."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def _search(root: Path, overrides: list[str]) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    make_frame(400, "binary", seed=1).to_csv(root / "data.csv", index=False)
    # No trial cache: every trial really runs where the runner sends it.
    run(parse_config(BASE_RAW, ["execution.cache=false", *overrides]), root=str(root))
    trials = pd.read_csv(root / "reports/trials.csv")
    cv = json.loads((root / "metrics/cv.json").read_text())
    return trials, cv, json.loads((root / "metrics/test.json").read_text())


def test_threads_processes_and_dask_give_the_same_search(tmp_path: Path, cluster: LocalCluster) -> None:
    runners = {
        "threads": [],
        "processes": ["execution.runner=processes"],
        "dask": ["execution.runner=dask", f"execution.dask_address={cluster.scheduler_address}"],
    }
    results = {}
    for name, overrides in runners.items():
        (tmp_path / name).mkdir()
        results[name] = _search(tmp_path / name, overrides)
    for name in ("processes", "dask"):
        pd.testing.assert_frame_equal(results["threads"][0], results[name][0])
        assert results["threads"][1:] == results[name][1:], name
    # The split went to the workers once, as bytes: trials there did not read the flow's disk.
    fingerprint = json.loads((tmp_path / "dask/data/split/meta.json").read_text())["fingerprint"]
    with Client(cluster) as client:
        logs = client.get_worker_logs()
        # And when the run ended every worker freed it, and all it grew on it: a long-lived
        # cluster returns to its baseline after each run (no split, fold, booster or plugin kept).
        held = client.run(lambda: (execution.SPLITS.held(), len(execution._FOLDS._items), len(execution._BINNED._items),
                                   len(execution.LIVE)))
        plugins = client.run_on_scheduler(lambda dask_scheduler: [n for n in dask_scheduler.worker_plugins
                                                                  if n.startswith("tunepipe")])
    for worker_logs in logs.values():
        messages = [message for _, message in worker_logs]
        assert sum(f"tunepipe: received split {fingerprint}" in m for m in messages) == 1, messages
        assert sum(f"tunepipe: freed split {fingerprint}" in m for m in messages) == 1, messages
    assert list(held.values()) == [(0, 0, 0, 0), (0, 0, 0, 0)]
    assert plugins == []


def _trial_runs(state: Any) -> list[Any]:
    """The trial task runs of the pipeline run that ended in ``state``."""
    with get_client(sync_client=True) as client:
        stages = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[state.state_details.flow_run_id])),
            limit=10, sort=FlowRunSort.START_TIME_ASC,  # prefect 3.8's client sends unset ones as null (422)
        )
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in stages])), limit=200,
            sort=TaskRunSort.NAME_ASC,
        )
    return [r for r in runs if r.name.startswith("trial")]


def _project(root: Path, overrides: list[str]) -> Any:
    make_frame(400, "binary", seed=1).to_csv(root / "data.csv", index=False)
    return parse_config(BASE_RAW, ["search.strategy=random", "search.n_candidates=2", "execution.cache=false",
                                   "execution.trial_retry_delay=0", *overrides])


def test_a_trial_that_times_out_is_a_failed_trial_and_not_retried(tmp_path: Path) -> None:
    # 5000 rounds on 3 folds take seconds; the limit is a tenth of one.
    cfg = _project(tmp_path, ["search.max_resources=5000", "search.early_stopping=null", "search.racing=false",
                              "execution.trial_timeout=0.1", "execution.trial_retries=2"])
    state = run(cfg, root=str(tmp_path), return_state=True)
    assert state.is_failed()
    with pytest.raises(SearchError, match=r"all 3 trials at the largest budget \(5000\) failed.*TaskRunTimeoutError"):
        state.result()
    runs = _trial_runs(state)
    assert len(runs) == 3 and all(r.run_count == 1 for r in runs)


def test_a_transient_error_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _project(tmp_path, ["search.max_resources=20", "execution.workers=1", "execution.trial_retries=1"])
    load_split = execution.SPLITS.load  # the store's own method, before it is replaced
    calls = []

    def flaky(ref: io.SplitRef) -> Any:
        # The flow loads the split first; the first trial task's load (call 2) fails once.
        calls.append(ref)
        if len(calls) == 2:
            raise OSError("[Errno 5] Input/output error (injected)")
        return load_split(ref)

    monkeypatch.setattr(execution.SPLITS, "load", flaky)
    state = run(cfg, root=str(tmp_path), return_state=True)
    assert state.is_completed()
    trials = pd.read_csv(tmp_path / "reports/trials.csv")
    assert (trials["status"] == "ok").all()
    assert sorted(r.run_count for r in _trial_runs(state)) == [1, 1, 2]  # the defaults' trial, 2 sampled

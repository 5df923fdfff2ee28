"""Where trial tasks run: threads (default), a process pool, or a Dask cluster.

``execution.runner`` picks one; the thread budget sizes it. With Dask the split is shipped to
every worker once (a worker plugin carries its files), so trial tasks never read the flow's disk.
"""

from __future__ import annotations

from typing import Any

from prefect.context import FlowRunContext
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from tunepipe import io
from tunepipe.config import ExecutionConfig
from tunepipe.threads import plan_threads


def task_runner(execution: ExecutionConfig) -> TaskRunner[Any]:
    """The task runner ``execution`` asks for, with ``workers`` trials at a time.

    Prefect's default thread pool is unbounded: every trial of a rung would start at once and
    fight for the cores. A local Dask cluster gets one single-threaded worker process per trial
    slot; a remote one (``dask_address``) is sized by whoever started it.
    """
    workers, _ = plan_threads(execution.workers, execution.threads_per_trial)
    if execution.runner == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    if execution.runner == "dask":
        from prefect_dask import DaskTaskRunner  # noqa: PLC0415 - distributed loads only when asked for

        if execution.dask_address:
            return DaskTaskRunner(address=execution.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
        )
    return ThreadPoolTaskRunner(max_workers=workers)


def ship_split(ref: io.SplitRef) -> None:
    """Send the split's files to every worker of the flow's Dask cluster, once per worker.

    A worker plugin, so workers that join later (an adaptive cluster) receive it too. Call it
    only with ``runner: dask``: threads and processes read the split from the flow's disk.
    """
    from flows._dask import ReceiveSplit  # noqa: PLC0415 - distributed loads only when asked for

    runner = FlowRunContext.get().task_runner
    runner.client.register_plugin(ReceiveSplit(ref, io.split_files(ref)), name=_plugin_name(ref))


def unship_split(ref: io.SplitRef) -> None:
    """Unregister the split's plugin: every worker frees the split, its folds and live boosters
    (a long-lived cluster does not grow with every run)."""
    runner = FlowRunContext.get().task_runner
    runner.client.unregister_worker_plugin(_plugin_name(ref))


def _plugin_name(ref: io.SplitRef) -> str:
    return f"tunepipe-split-{ref.fingerprint}"

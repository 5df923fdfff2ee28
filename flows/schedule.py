"""Scheduled runs: a deployment whose every run is ``dvc exp run`` in the project.

``tunepipe serve`` registers :func:`scheduled` as a deployment with a cron or interval schedule and
serves it. A run goes through DVC, so it is a DVC experiment (``dvc exp show`` lists it), unchanged
stages come from DVC's cache, and each stage is its own flow run on the same Prefect server,
tagged ``experiment:<name>``.

Overlap: the deployment has a concurrency limit of one run. A run that comes due while another is
running is cancelled (``--overlap skip``, the default) or waits for it (``--overlap queue``).
Outside the scheduler (a user's ``dvc repro`` in the same folder), DVC's repo lock makes the
later command fail with DVC's message; the run then fails and changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import EntrypointType
from prefect.runtime import deployment, flow_run

from tunepipe import experiments, io
from tunepipe.errors import ConfigError, TunepipeError


class ExperimentError(TunepipeError):
    """``dvc exp run`` failed; the message carries DVC's own last lines."""


@task(name="dvc exp run", task_run_name="dvc exp run {name}", cache_policy=NO_CACHE)
def exp_run(project: str, name: str, overrides: list[str]) -> str:
    """Run the pipeline as the DVC experiment ``name``; return DVC's output."""
    venv_bin = str(Path(sys.executable).parent)  # dvc and the stages' `tunepipe`, from this install
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        experiments.TAGS_VARIABLE: f"experiment:{name}",
    }
    proc = subprocess.run(
        [str(Path(venv_bin) / "dvc"), *experiments.exp_run_args(name, overrides)],
        cwd=project, env=env, capture_output=True, text=True,
    )
    output = proc.stdout + proc.stderr
    print(output)
    if proc.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-8:])
        raise ExperimentError(f"dvc exp run of experiment {name} in {project} exited with {proc.returncode}:\n{tail}")
    return output


@flow(name="tunepipe-scheduled", log_prints=True)
def scheduled(project: str, overrides: list[str] | None = None) -> dict[str, Any]:
    """One scheduled run: ``dvc exp run -S ...`` in ``project``; returns the experiment and its metrics."""
    when = flow_run.scheduled_start_time or datetime.now(timezone.utc)
    name = experiments.experiment_name(deployment.name or "tunepipe", when, flow_run.name or "run")
    exp_run(project, name, list(overrides or []))
    cv = io.read_json(project, io.CV_JSON, "tune")
    test = io.read_json(project, io.TEST_JSON, "evaluate")
    create_markdown_artifact(
        key="tunepipe-experiment",
        markdown=(
            f"# DVC experiment `{name}`\n\nbest CV {cv['scoring']}: **{cv['best_score']:.5f}** "
            f"({cv['n_trials']} trials)\n\nholdout {cv['scoring']}: **{test['score']:.5f}** (defaults: {test['baseline_score']:.5f})\n\n"
            f"Compare: `dvc exp show --sort-by metrics/test.json:score`"
        ),
    )
    return {"experiment": name, "cv": cv, "test": test}


def check_schedule(cron: str | None, interval: float | None) -> None:
    """Reject a bad ``--cron`` / ``--interval`` before anything is registered."""
    experiments.check_schedule(cron, interval)
    if cron is not None:
        try:
            CronSchedule(cron=cron)
        except ValueError:
            raise ConfigError(
                f"--cron is '{cron}', but must be a cron expression of five fields (minute hour day month "
                "weekday), e.g. '0 3 * * *' for 03:00 every day"
            ) from None


def serve(
    project: str, overrides: list[str], name: str, cron: str | None, interval: float | None, overlap: str
) -> None:
    """Register the deployment ``tunepipe-scheduled/<name>`` with its schedule and serve it (blocks)."""
    check_schedule(cron, interval)
    scheduled.serve(
        name=name,
        cron=cron,
        interval=interval,
        parameters={"project": project, "overrides": overrides},
        global_limit=ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy(experiments.OVERLAP[overlap])
        ),
        tags=["tunepipe"],
        # The flow is loaded by module in each run's process: `flows` is installed with tunepipe.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )

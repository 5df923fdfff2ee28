"""Scheduled runs as DVC experiments: the experiment's name and the ``dvc exp run`` command line."""

from __future__ import annotations

import re
from datetime import datetime

from tunepipe.errors import ConfigError

# What `--overlap` means for a run that comes due while another is still running.
OVERLAP = {"skip": "CANCEL_NEW", "queue": "ENQUEUE"}
# Tags every stage flow run of a scheduled run carries (cli reads them from this variable).
TAGS_VARIABLE = "TUNEPIPE_RUN_TAGS"


def experiment_name(deployment: str, when: datetime, run_name: str) -> str:
    """``nightly-20261123-0300-crimson-fox``: the deployment, the run's scheduled time (UTC) and
    the flow run's name, so ``dvc exp show`` sorts and names scheduled runs readably and uniquely.
    """
    raw = f"{deployment}-{when:%Y%m%d-%H%M}-{run_name}"
    # A DVC experiment name is a git ref name: no spaces, '~', '^', ':', '..' and the like.
    return re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-")


def exp_run_args(name: str, overrides: list[str]) -> list[str]:
    """Arguments of ``dvc exp run`` for one scheduled run (the deployment's ``-S`` overrides)."""
    args = ["exp", "run", "--name", name]
    for override in overrides:
        args += ["-S", override]
    return args


def check_schedule(cron: str | None, interval: float | None) -> None:
    """``--cron`` and ``--interval`` exclude each other; an interval is positive."""
    if cron is not None and interval is not None:
        raise ConfigError(
            f"--cron is '{cron}' and --interval is {interval:g}, but a deployment takes one schedule; drop one of them"
        )
    if interval is not None and interval <= 0:
        raise ConfigError(f"--interval is {interval:g}, but must be > 0 seconds, e.g. --interval 86400 for daily")

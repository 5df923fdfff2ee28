"""The split stage: validate the data, split off the holdout, assign the CV folds, write them."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tunepipe import data, io
from tunepipe.config import Config


# DVC decides whether a stage runs at all; within a run every task is computed once: no cache.
@task(name="prepare", task_run_name="prepare", cache_policy=NO_CACHE)
def prepare_split(cfg: Config, root: str) -> io.SplitRef:
    """Validate the data, split off the holdout, assign folds, write them."""
    df = io.read_table(cfg.data.path, root)
    prepared = data.prepare(df, cfg)
    warnings = data.quality_warnings(df, cfg, prepared.task)
    return io.write_split(prepared, Path(root) / io.SPLIT_DIR, warnings)


@flow(name="tunepipe-split")
def split(cfg: Config, root: str = ".") -> dict[str, list[str]]:
    """Write ``data/split/`` (train, holdout, fold plan, meta) from ``cfg.data`` and ``cfg.cv``."""
    return {"outputs": [prepare_split(cfg, root).path]}

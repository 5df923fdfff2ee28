"""Shared fixtures: small real-shaped data sets (categoricals + missing values) and configs."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

# Before anything imports Prefect: no analytics (no network here), and a test-local Prefect home.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# With 4 xdist workers on 2 cores, LightGBM's OpenMP threads would spin-wait for cores the other
# workers hold (libgomp spins before it sleeps): let them sleep. Scheduling only; scores are equal.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from tunepipe.config import Config, parse_config  # noqa: E402

# End-to-end tests: real flows under a Prefect server, the real dvc CLI, real processes and
# clusters. Marked `slow` (a contributor skips them with `pytest -m "not slow"`; `make test` and CI
# run everything) and started first: with `--dist worksteal` the other xdist workers take them
# over as they run out, so no worker is left alone with a long test at the end.
SLOW_FOLDERS = ("flows", "dvc")


@pytest.fixture(scope="session", autouse=True)
def no_flow_heartbeats() -> Iterator[None]:
    """Flows run in a test process send no heartbeats.

    Prefect's heartbeat thread sleeps in 1 s steps and every flow run waits for it to end: up to
    1 s per flow run, 5 flow runs per pipeline (measured: a fully cached pipeline run 5.1 s with
    heartbeats, 1.3 s without). Heartbeats only tell a server that a run is still alive; no test
    asserts on them. Subprocesses (`tunepipe`, `dvc`) keep Prefect's default: its setting cannot
    be switched off through the environment.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        if item.path.relative_to(root).parts[0] in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
    # Stable: within each group, the order pytest collected them in.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def make_frame(n: int = 400, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """A small table with numeric, categorical (string) and missing values and a learnable target."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-1, 1, size=n)
    color = rng.choice(["red", "green", "blue", "violet"], size=n)
    size = rng.choice(["S", "M", "L"], size=n)
    signal = 1.5 * x1 - x2 + (color == "red") * 1.0 + (size == "L") * 0.5 + rng.normal(scale=0.5, size=n)
    df = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "size": size, "row_id": np.arange(n)})
    df.loc[rng.random(n) < 0.1, "x2"] = np.nan
    df.loc[rng.random(n) < 0.1, "color"] = None
    if task == "binary":
        df["y"] = np.where(signal > 0.3, "yes", "no")
    elif task == "multiclass":
        df["y"] = pd.cut(signal, [-np.inf, -0.5, 0.7, np.inf], labels=["low", "mid", "high"]).astype(str)
    else:
        df["y"] = signal * 10 + 100
    return df


BASE_RAW: dict[str, Any] = {
    "base": {"seed": 7},
    "data": {"path": "data.csv", "target": "y", "task": "auto", "test_size": 0.25, "drop": ["row_id"]},
    "cv": {"n_splits": 3, "shuffle": True},
    "search": {
        "strategy": "halving",
        "n_candidates": 9,
        "factor": 3,
        "resource": "n_estimators",
        "min_resources": "exhaust",
        "max_resources": 45,
        "aggressive_elimination": False,
        "scoring": "roc_auc",
        "space": {
            "learning_rate": {"low": 0.02, "high": 0.3, "log": True},
            "num_leaves": {"low": 4, "high": 31, "type": "int"},
            "min_child_samples": {"choices": [5, 10, 20]},
        },
    },
    "model": {"kind": "lightgbm", "params": {}},
    "execution": {"workers": 2, "threads_per_trial": 1},
}


@pytest.fixture
def raw() -> dict[str, Any]:
    """A fresh, valid params mapping to modify per test."""
    return copy.deepcopy(BASE_RAW)


@pytest.fixture
def cfg(raw: dict[str, Any]) -> Config:
    return parse_config(raw)


@pytest.fixture
def project(tmp_path: Path, raw: dict[str, Any]) -> Path:
    """A project folder with a binary data set and params.yaml."""
    import yaml

    make_frame(400, "binary").to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    return tmp_path


def trial_at(number: int, params: dict[str, Any], rung: int, budget: int) -> Any:
    """A trial of configuration ``number`` (its own candidate) at ``budget``."""
    from tunepipe.results import Trial

    return Trial(number, number, params, budget, rung=rung)


def trial_setup(**fields: Any) -> Any:
    """A ``TrialSetup`` from the fields of its spec and its run options, named flat."""
    import dataclasses

    from tunepipe.scoring import RunOptions, TrialSetup, TrialSpec

    run = {f.name for f in dataclasses.fields(RunOptions)}
    return TrialSetup(
        TrialSpec(**{k: v for k, v in fields.items() if k not in run}),
        RunOptions(**{k: v for k, v in fields.items() if k in run}),
    )


def setup_for(prepared: Any, **changes: Any) -> Any:
    """A LightGBM ``TrialSetup`` (roc_auc, n_estimators, seed 0, 1 thread) on ``prepared``'s columns."""
    base = dict(kind="lightgbm", task=prepared.task, fixed_params={}, scoring="roc_auc", resource="n_estimators",
                seed=0, threads=1, numeric=tuple(prepared.numeric), categorical=tuple(prepared.categorical))
    return trial_setup(**(base | changes))

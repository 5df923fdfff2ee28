"""Every strategy through the real tune flow: the same trials, winner and metrics with 1 or 2
workers and on a process pool, and a second run that finds every trial in the trial cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe.config import parse_config
from tunepipe.search import STRATEGIES as SEARCH_STRATEGIES

# Small budgets: a few dozen trials of at most 27 rounds on 300 training rows.
SMALL = ["search.n_candidates=9", "search.max_resources=27", "search.early_stopping=5"]
STRATEGIES = {
    "random": [],
    "grid": ["search.space={num_leaves: {choices: [4, 15]}, learning_rate: {choices: [0.05, 0.2]}}"],
    "halving": [],
    "hyperband": ["search.min_resources=3"],
    "asha": [],
    "tpe": ["search.n_candidates=14", "search.window=3", "search.racing=true"],
    "bohb": ["search.min_resources=3", "search.window=3"],
    "cmaes": ["search.n_candidates=12", "search.window=3", "search.racing=true"],
    "ga": ["search.n_candidates=12", "search.population=4", "search.window=3", "search.racing=true"],
    "pbt": ["search.population=4", "search.pbt_interval=9"],
}
RUNS = {
    "1 worker, cache": ["execution.workers=1"],
    "2 workers": ["execution.workers=2", "execution.cache=false"],
    "processes": ["execution.runner=processes", "execution.workers=2", "execution.cache=false"],
    "1 worker, all cached": ["execution.workers=1"],
}


def _outputs(root: Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    return (pd.read_csv(root / "reports/trials.csv"), json.loads((root / "metrics/cv.json").read_text()),
            json.loads((root / "metrics/test.json").read_text()))


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_same_results_with_any_workers_and_from_the_cache(tmp_path: Path, strategy: str) -> None:
    make_frame(400, "binary", seed=1).to_csv(tmp_path / "data.csv", index=False)
    base = [f"search.strategy={strategy}", *SMALL, *STRATEGIES[strategy]]
    results = {}
    # Processes matter where a trial continues another's boosters (a promotion at a larger budget:
    # each process holds its own); a fifo strategy's trials run alike on any runner, which
    # tests/flows/test_runners.py checks for the default strategy on threads, processes and Dask.
    runs = {k: v for k, v in RUNS.items() if k != "processes" or SEARCH_STRATEGIES[strategy].scheduler != "fifo"}
    for name, overrides in runs.items():
        out = run(parse_config(BASE_RAW, [*base, *overrides]), root=str(tmp_path))
        results[name] = (_outputs(tmp_path), (out["trials_run"], out["trials_cached"]))
    (trials, cv, test), (n_trials, _) = results["1 worker, cache"]
    assert cv["strategy"] == strategy and len(trials) == cv["n_trials"] == n_trials > 4
    for name, ((other_trials, other_cv, other_test), _) in results.items():
        pd.testing.assert_frame_equal(other_trials, trials, obj=name)
        assert other_cv == cv and other_test == test, name
    # The last run found every trial of the first in the trial cache: nothing ran again.
    assert results["1 worker, all cached"][1] == (0, n_trials)

"""The trial cache as a user meets it: `tunepipe tune` killed midway resumes; a larger search reuses trials.

Real processes against the test session's Prefect server; the kill is a SIGKILL of the process group.
"""

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

import pandas as pd
import pytest
import yaml
from prefect.settings import PREFECT_API_URL

from tests.conftest import BASE_RAW, make_frame

# 27 -> 9 -> 3 -> 1 candidates and the defaults: 41 trials, long enough to be killed in the first rung.
SEARCH = ["search.n_candidates=27", "search.max_resources=270", "execution.workers=1"]
SUMMARY = re.compile(r"(\d+) trials evaluated, (\d+) taken from the trial cache")


def _project(root: Path) -> Path:
    root.mkdir()
    make_frame(3000, "binary", seed=3).to_csv(root / "data.csv", index=False)
    (root / "params.yaml").write_text(yaml.safe_dump(BASE_RAW))
    return root


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tunepipe.cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}


def _tunepipe(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(_cmd(*args), cwd=root, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _counts(proc: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    """(trials evaluated, trials taken from the cache) from the tune flow's last log line."""
    found = SUMMARY.findall(proc.stderr)
    assert found, proc.stderr[-3000:]
    run, cached = found[-1]
    return int(run), int(cached)


def _stored(cache: Path) -> int:
    """Complete result records in the cache (a record cut off by the kill does not count)."""
    n = 0
    for f in cache.glob("trial-*"):
        try:
            json.loads(f.read_bytes())
            n += 1
        except ValueError:
            pass
    return n


def _outputs(root: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    trials = pd.read_csv(root / "reports/trials.csv")
    return trials, json.loads((root / "metrics/cv.json").read_text())


# pbt: 4 members x 4 steps of 15 rounds and the defaults: 17 trials. Killed in its third step (9
# stored: the defaults' and two steps), the resumed run has no member's trees in memory: each
# replays its schedule (copies included).
PBT = ["search.strategy=pbt", "search.population=4", "search.pbt_interval=15", "search.max_resources=60",
       "execution.workers=1"]


@pytest.mark.parametrize(("search", "n_trials", "kill_after"), [(SEARCH, 41, 5), (PBT, 17, 9)], ids=["halving", "pbt"])
def test_a_killed_search_resumes_without_re_evaluating_finished_trials(
    tmp_path: Path, search: list[str], n_trials: int, kill_after: int
) -> None:
    root = _project(tmp_path / "killed")
    cache = root / ".tunepipe/cache"
    _tunepipe(root, "split")
    proc = subprocess.Popen(
        _cmd("tune", *[a for s in search for a in ("-S", s)]), cwd=root, env=_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while _stored(cache) < kill_after and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the search finished before it could be killed"
    assert not (root / "metrics/cv.json").exists()
    finished = _stored(cache)

    resumed = _tunepipe(root, "tune", *[a for s in search for a in ("-S", s)])
    n_run, n_cached = _counts(resumed)
    trials, cv = _outputs(root)
    assert n_cached == finished and n_run == cv["n_trials"] - finished == n_trials - finished  # the defaults' included

    # The same search, uninterrupted and without the cache, gives the same trials and winner.
    fresh = _project(tmp_path / "fresh")
    _tunepipe(fresh, "split")
    uninterrupted = _tunepipe(fresh, "tune", *[a for s in search for a in ("-S", s)], "-S", "execution.cache=false")
    assert _counts(uninterrupted) == (n_trials, 0) and not (fresh / ".tunepipe/cache").exists()  # .tunepipe/ holds the project lock
    fresh_trials, fresh_cv = _outputs(fresh)
    pd.testing.assert_frame_equal(trials, fresh_trials)
    assert cv == fresh_cv


def test_a_larger_search_reuses_every_trial_already_evaluated(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    random = ["search.strategy=random", "search.max_resources=20"]
    _tunepipe(root, "split")
    first = _tunepipe(root, "tune", *[a for s in [*random, "search.n_candidates=4"] for a in ("-S", s)])
    assert _counts(first) == (5, 0)  # the defaults' trial and 4 sampled
    larger = _tunepipe(root, "tune", *[a for s in [*random, "search.n_candidates=7"] for a in ("-S", s)])
    assert _counts(larger) == (3, 5)
    # A setting that changes scores (here the scorer) misses the cache.
    other = _tunepipe(root, "tune", *[a for s in [*random, "search.n_candidates=4", "search.scoring=accuracy"]
                                      for a in ("-S", s)])
    assert _counts(other) == (5, 0)


def test_switching_strategy_reuses_trials_at_the_same_params_and_budget(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _tunepipe(root, "split")
    # Without racing: a raced trial's result depends on the incumbent it races, which is in its key.
    common = ["search.max_resources=20", "search.n_candidates=12", "search.racing=false"]
    first = _tunepipe(root, "tune", *[a for s in [*common, "search.strategy=random"] for a in ("-S", s)])
    assert _counts(first) == (13, 0)
    # TPE's first 10 configurations are the random search's first 10 (its startup draws), and the
    # defaults' trial is the same: 11 come from the cache. (Window 1: the 11th configuration is
    # asked once 10 are observed, so TPE's model proposes it.)
    tpe = _tunepipe(root, "tune", *[a for s in [*common, "search.strategy=tpe", "search.window=1"] for a in ("-S", s)])
    assert _counts(tpe) == (2, 11)


def test_a_cache_file_that_does_not_parse_is_a_miss(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    args = [a for s in ["search.strategy=random", "search.max_resources=20", "search.n_candidates=3"] for a in ("-S", s)]
    _tunepipe(root, "split")
    assert _counts(_tunepipe(root, "tune", *args)) == (4, 0)
    files = sorted((root / ".tunepipe/cache").glob("trial-*.json"))
    files[0].write_text("not json")
    files[1].write_text(json.dumps({"version": 1, "key": "someone else's", "fold_scores": [1, 1, 1]}))
    assert _counts(_tunepipe(root, "tune", *args)) == (2, 2)

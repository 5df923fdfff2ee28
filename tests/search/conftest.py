"""Helpers for search tests: a sampler over a fixed list, and a driver loop with any completion order."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from tunepipe.results import Observation, Trial
from tunepipe.search import History, Search
from tunepipe.search.samplers import Sampler
from tunepipe.search.schedulers import Scheduler


class ListSampler(Sampler):
    """Configuration k is ``params[k]`` (``{"a": k}`` by default)."""

    def __init__(self, params: list[dict[str, Any]] | None = None) -> None:
        self.params = params
        self.size = len(params) if params is not None else None

    def sample(self, candidate: int, number: int, history: History) -> dict[str, Any]:
        return dict(self.params[candidate]) if self.params is not None else {"a": candidate}


def observe(trial: Trial, score: float) -> Observation:
    """An observation with one fold scoring ``score`` (NaN: a failed trial)."""
    return Observation(trial, (score,), status="failed" if math.isnan(score) else "ok")


def drive(
    search: Search, objective: Callable[[Trial], float], workers: int = 1, seed: int | None = None
) -> list[Observation]:
    """Run ``search`` to the end with ``workers`` trials in flight at a time.

    ``seed``: trials finish in a random order (seeded); None: in the order they were asked.
    """
    rng = random.Random(seed)
    queued: list[Trial] = []
    running: list[Trial] = []
    while not search.done:
        queued += search.ask()
        while queued and len(running) < workers:
            running.append(queued.pop(0))
        assert running, "the search waits, but nothing runs"
        finished = running.pop(rng.randrange(len(running)) if seed is not None else 0)
        search.tell(observe(finished, objective(finished)))
    return search.observations


def fresh(scheduler: Scheduler, sampler: Sampler | None = None, window: int | None = None) -> Search:
    return Search(sampler or ListSampler(), scheduler, window=window, name="test")

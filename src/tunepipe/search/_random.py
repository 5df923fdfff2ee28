"""Random search: every candidate evaluated once, at the maximum resource."""

from __future__ import annotations

from typing import Any

from tunepipe.search._base import Candidate, Rung, Strategy


class RandomSearch(Strategy):
    """One rung with every sampled candidate at ``max_resources``.

    Args:
        candidates: Parameter sets to evaluate, already sampled.
        max_resources: Resource level for every trial.
    """

    def __init__(self, candidates: list[dict[str, Any]], max_resources: int) -> None:
        super().__init__()
        if not candidates:
            raise ValueError("RandomSearch needs at least one candidate")
        self._params = candidates
        self._max_resources = max_resources

    @property
    def n_planned_rungs(self) -> int:
        return 1

    def _next_rung(self) -> Rung | None:
        if self.rungs:
            return None
        return Rung(
            index=0,
            n_resources=self._max_resources,
            candidates=[Candidate(i, p, 0, self._max_resources) for i, p in enumerate(self._params)],
        )

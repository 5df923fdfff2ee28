"""The sampler contract: which configuration to try next (what to try, never how much budget)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from tunepipe.search._types import History


class Sampler(ABC):
    """Proposes configurations; a scheduler decides their budgets.

    ``sample`` must depend only on its arguments and the sampler's settings (space, seed), so that
    a search is a function of its seed, its params and the observations in trial-number order.
    """

    #: How many distinct configurations the sampler can give (None: no limit).
    size: int | None = None
    #: What proposes its configurations, for ``trials.csv``'s ``proposed_by``.
    name: str = "random"

    def proposed_by(self, number: int, history: History) -> str:
        """What proposed the configuration just drawn by :meth:`sample` for trial ``number`` (a
        model-based sampler answers ``random`` until its model has enough observations)."""
        return self.name

    @abstractmethod
    def sample(self, candidate: int, number: int, history: History) -> dict[str, Any]:
        """The parameters of configuration ``candidate``, asked for as trial ``number``.

        Args:
            candidate: The configuration's number (0, 1, ... in sampling order).
            number: The trial number it is asked for (seeds a model-based sampler's draw).
            history: Trials asked so far (the pending ones included) and the observations applied.
        """

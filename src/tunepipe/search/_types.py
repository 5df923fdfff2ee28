"""The search's view of a run: the trials asked so far and the observations applied so far.

Observations are applied in trial-number order (the driver holds back any that arrive early), so
the history after ``k`` observations is the same whatever order trials finished in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tunepipe.results import Observation, Trial


@dataclass
class History:
    """Trials in the order they were asked; their observations, applied in the same order.

    ``observations[i]`` belongs to ``trials[i]``; the trials after the last applied observation
    are pending (asked, not yet applied).
    """

    trials: list[Trial] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)

    @property
    def pending(self) -> list[Trial]:
        """Trials asked whose observation has not been applied yet."""
        return self.trials[len(self.observations):]

    @property
    def n_candidates(self) -> int:
        """Configurations sampled so far (candidates are numbered from 0 in sampling order)."""
        return 1 + max((t.candidate for t in self.trials), default=-1)  # the defaults are -1

    def trials_at(self, bracket: int, rung: int) -> list[Trial]:
        """Every trial asked in ``bracket`` / ``rung``, in trial-number order."""
        return [t for t in self.trials if t.bracket == bracket and t.rung == rung]

    def observed_at(self, bracket: int, rung: int) -> list[Observation]:
        """Every applied observation of ``bracket`` / ``rung``, in trial-number order."""
        return [o for o in self.observations if o.trial.bracket == bracket and o.trial.rung == rung]

    def ok(self) -> Iterator[Observation]:
        """Applied observations with a score."""
        return (o for o in self.observations if o.status == "ok")

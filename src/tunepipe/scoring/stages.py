"""Folds in stages for a raced trial, and the observation of one stopped between them."""

from __future__ import annotations

import math

from tunepipe.results import Observation, Trial


def stages(trial: Trial, n_folds: int) -> list[range]:
    """The folds in the order they run, in stages: after each stage but the last the trial's race
    (if any) decides whether it goes on (:meth:`tunepipe.search.racing.Race.looks`)."""
    looks = [k for k in (trial.race.looks() if trial.race is not None else ()) if k < n_folds]
    bounds = [0, *looks, n_folds]
    return [range(a, b) for a, b in zip(bounds, bounds[1:])]


def pruned(
    trial: Trial, scores: tuple[float, ...], n_folds: int, best: int | None, seconds: list[float],
    metrics: dict[str, tuple[float, ...]] | None = None,
) -> Observation:
    """A trial stopped after its first folds: their scores (and the other scorers'), NaN for the
    folds it never ran."""
    pad = (math.nan,) * (n_folds - len(scores))
    return Observation(
        trial, scores + pad, best_budget=best, status="pruned", fit_times=tuple(seconds[: len(scores)]),
        metrics={name: values + pad for name, values in (metrics or {}).items()},
    )

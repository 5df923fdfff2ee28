"""Search strategies (ask / tell). They schedule; the flow executes."""

from __future__ import annotations

from typing import Any

from tunepipe.config import SearchConfig
from tunepipe.errors import SearchError

from tunepipe.search._base import Candidate, Rung, Strategy, TrialResult, rank_order
from tunepipe.search._halving import HalvingSchedule, SuccessiveHalving, halving_schedule, smallest_min_resources
from tunepipe.search._random import RandomSearch

__all__ = [
    "Candidate",
    "HalvingSchedule",
    "RandomSearch",
    "Rung",
    "Strategy",
    "SuccessiveHalving",
    "TrialResult",
    "halving_schedule",
    "make_strategy",
    "resolve_max_resources",
    "rank_order",
    "smallest_min_resources",
]


def make_strategy(
    search: SearchConfig,
    candidates: list[dict[str, Any]],
    *,
    n_train: int,
    n_splits: int,
    n_classes: int | None,
) -> Strategy:
    """Build the strategy ``search.strategy`` names, with resources resolved against the data.

    Args:
        search: The validated ``search`` section.
        candidates: Sampled parameter sets.
        n_train: Training rows (the ``n_samples`` resource's default maximum).
        n_splits: CV folds (``smallest`` for ``n_samples`` needs it).
        n_classes: Classes of a classification target, ``None`` for regression.
    """
    max_resources = resolve_max_resources(search, n_train)
    if search.strategy == "random":
        return RandomSearch(candidates, max_resources)
    if isinstance(search.min_resources, int):
        min_resources = search.min_resources
    else:
        min_resources = smallest_min_resources(search.resource, n_splits, n_classes)
    if min_resources > max_resources:
        raise SearchError(
            f"search.min_resources resolves to {min_resources}, but must be <= max_resources "
            f"({max_resources}); lower min_resources or use more data"
        )
    return SuccessiveHalving(
        candidates,
        factor=search.factor,
        min_resources=min_resources,
        max_resources=max_resources,
        exhaust=search.min_resources == "exhaust",
        aggressive_elimination=search.aggressive_elimination,
    )


def resolve_max_resources(search: SearchConfig, n_train: int) -> int:
    """``search.max_resources``, or for ``n_samples`` all training rows when it is unset."""
    if search.max_resources is not None:
        if search.resource == "n_samples" and search.max_resources > n_train:
            raise SearchError(
                f"search.max_resources is {search.max_resources}, but the training set has only "
                f"{n_train} rows; lower it or leave it unset (null) to use all rows"
            )
        return search.max_resources
    return n_train

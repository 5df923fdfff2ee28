"""The search's inputs: the ``search`` section as plain values, and its budgets resolved against the data."""

from __future__ import annotations

from dataclasses import dataclass

from tunepipe.errors import ConfigError
from tunepipe.search.schedulers import exhaust_min_resources, smallest_min_resources
from tunepipe.space import Distribution

Space = dict[str, Distribution] | list[dict[str, Distribution]]


@dataclass(frozen=True)
class SearchSettings:
    """The ``search`` section as plain values (``tunepipe.config.SearchConfig.settings()``)."""

    strategy: str
    n_candidates: int
    factor: float
    resource: str
    min_resources: int | str
    max_resources: int | None
    aggressive_elimination: bool
    window: int
    score_best_iteration: bool
    early_stopping: int | None
    include_defaults: bool
    racing: bool
    scoring: str | list[str]
    time_budget: float | None
    space: Space
    population: int = 10
    pbt_interval: int = 100
    # The keys set (in params.yaml or by -S) to a value other than their default: a note names those
    # the strategy does not read. A key at its default loses nothing by being ignored.
    changed: frozenset[str] = frozenset()



@dataclass(frozen=True)
class Resources:
    """The budget range a search runs in, resolved against the data."""

    min_resources: int
    max_resources: int


def resolve_resources(
    search: SearchSettings, *, n_train: int, n_splits: int, n_classes: int | None, halving: bool
) -> Resources:
    """``search.min_resources`` / ``max_resources`` as numbers for this data.

    ``max_resources: null`` (``n_samples`` only) is every training row; ``smallest`` is
    scikit-learn's (2 rows per fold and class for ``n_samples``, else 1); ``exhaust`` starts as high
    as the schedule allows so that the top rung reaches ``max_resources`` (halving: scikit-learn's
    rule; hyperband / asha / bohb: the most aggressive bracket is the halving of ``n_candidates``).
    ``halving``: the scheduler is successive halving, which applies ``exhaust`` itself.

    Raises:
        ConfigError: when the resolved budgets do not fit the data.
    """
    max_resources = search.max_resources if search.max_resources is not None else n_train
    if search.resource == "n_samples" and max_resources > n_train:
        raise ConfigError(
            f"search.max_resources is {max_resources}, but the training set has only {n_train} rows; "
            "lower it or set it to null to use all rows"
        )
    smallest = smallest_min_resources(search.resource, n_splits, n_classes)
    min_resources = search.min_resources if isinstance(search.min_resources, int) else smallest
    if search.min_resources == "exhaust" and not halving:
        min_resources = exhaust_min_resources(search.n_candidates, search.factor, smallest, max_resources)
    if min_resources > max_resources:
        source = "" if isinstance(search.min_resources, int) else f" ('{search.min_resources}')"
        raise ConfigError(
            f"search.min_resources{source} is {min_resources}, but must be <= search.max_resources "
            f"({max_resources}); lower min_resources or raise max_resources"
            + (" (or use more data)" if search.resource == "n_samples" else "")
        )
    return Resources(min_resources, max_resources)

"""Search strategies: a sampler (what to try) paired with a scheduler (how much budget), ask / tell.

They schedule; the flow executes. Nothing here fits a model, imports Prefect or touches files.

=========  ==========  ==========  ===================================================
strategy   sampler     scheduler   paper
=========  ==========  ==========  ===================================================
random     random      fifo        Bergstra & Bengio, JMLR 2012
grid       grid        fifo        (exhaustive; scikit-learn's ``GridSearchCV`` order)
halving    random      halving     Jamieson & Talwalkar, AISTATS 2016 (scikit-learn's)
hyperband  random      hyperband   Li et al., JMLR 2018
asha       random      asha        Li et al., MLSys 2020
tpe        tpe         fifo        Bergstra et al., NeurIPS 2011 (Optuna's TPESampler)
bohb       tpe (1/3    hyperband   Falkner, Klein & Hutter, ICML 2018
           random)
=========  ==========  ==========  ===================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tunepipe.config import SearchConfig, ignored_keys
from tunepipe.errors import ConfigError
from tunepipe.search._driver import Search
from tunepipe.search._types import History
from tunepipe.search.racing import Racing
from tunepipe.search.samplers import GridSampler, RandomSampler, Sampler, TPESampler
from tunepipe.search.schedulers import (
    ASHA,
    FIFO,
    Hyperband,
    Scheduler,
    SuccessiveHalving,
    exhaust_min_resources,
    halving_schedule,
    hyperband_brackets,
    smallest_min_resources,
)

__all__ = [
    "History",
    "Resources",
    "Search",
    "halving_schedule",
    "hyperband_brackets",
    "make_search",
    "plan_table",
    "resolve_resources",
    "smallest_min_resources",
]

# Strategies that evaluate every configuration at one budget, where fold-wise racing applies (the
# bracketed ones compare configurations at smaller budgets instead).
RACING_STRATEGIES = ("random", "grid", "tpe")
# BOHB's share of configurations drawn at random (Falkner et al. 2018, rho = 1/3).
BOHB_RANDOM_FRACTION = 1 / 3
# A grid with more points than this gets a warning with its size: it runs every point at full budget.
LARGE_GRID = 1000
# With early stopping on boosting rounds, a trial at the largest budget that still improves there
# goes on (continued boosting, early stopping decides) up to this many times that budget: a fixed
# max_resources must not cap a winner that needs more rounds (large data, a small learning rate).
EXTEND_FACTOR = 5


@dataclass(frozen=True)
class Resources:
    """The budget range a search runs in, resolved against the data."""

    min_resources: int
    max_resources: int


def resolve_resources(search: SearchConfig, *, n_train: int, n_splits: int, n_classes: int | None) -> Resources:
    """``search.min_resources`` / ``max_resources`` as numbers for this data.

    ``max_resources: null`` (``n_samples`` only) is every training row; ``smallest`` is
    scikit-learn's (2 rows per fold and class for ``n_samples``, else 1); ``exhaust`` starts as high
    as the schedule allows so that the top rung reaches ``max_resources`` (halving: scikit-learn's
    rule; hyperband / asha / bohb: the most aggressive bracket is the halving of ``n_candidates``).

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
    if search.min_resources == "exhaust" and search.strategy != "halving":
        min_resources = exhaust_min_resources(search.n_candidates, search.factor, smallest, max_resources)
    if min_resources > max_resources:
        source = "" if isinstance(search.min_resources, int) else f" ('{search.min_resources}')"
        raise ConfigError(
            f"search.min_resources{source} is {min_resources}, but must be <= search.max_resources "
            f"({max_resources}); lower min_resources or raise max_resources"
            + (" (or use more data)" if search.resource == "n_samples" else "")
        )
    return Resources(min_resources, max_resources)


def make_search(
    search: SearchConfig,
    *,
    seed: int,
    n_train: int,
    n_splits: int,
    n_classes: int | None,
    defaults: dict[str, Any] | None = None,
) -> Search:
    """The search ``search.strategy`` names, its budgets resolved against the data.

    ``defaults``: the model's default values of the searched parameters; with
    ``search.include_defaults`` they are trial 0, at the largest budget. Notes for the run's log
    (keys the strategy ignores, a small or large grid) are in ``Search.notes``.
    """
    resources = resolve_resources(search, n_train=n_train, n_splits=n_splits, n_classes=n_classes)
    notes = [f"search.{key} is set but strategy {search.strategy} does not read it" for key in ignored_keys(search)]
    assert search.space is not None  # parse_config fills in the model's default space
    strategy = search.strategy
    scheduler: Scheduler
    n_candidates = search.n_candidates
    if strategy == "grid":
        sampler: Sampler = GridSampler(search.space)
        n_candidates = sampler.size or 0
        if n_candidates > LARGE_GRID:
            notes.append(f"search.space is a grid of {n_candidates} points, each run at full budget; "
                         "consider strategy halving or tpe")
        scheduler = FIFO(n_candidates, resources.max_resources)
        return _search(sampler, scheduler, None, search, notes, defaults, resources)

    assert isinstance(search.space, dict)  # a list of sub-grids is for grid only (config checks it)
    hyperband = None
    if strategy in ("hyperband", "bohb"):
        hyperband = Hyperband(
            min_resources=resources.min_resources, max_resources=resources.max_resources, factor=search.factor
        )
        n_planned = hyperband.n_planned
    else:
        n_planned = n_candidates
    random = RandomSampler(search.space, seed, n_planned)
    if random.size is not None and random.size < n_planned:
        notes.append(f"search.space has only {random.size} distinct points (all choices), "
                     f"so {random.size} candidates instead of {n_planned}")
        n_candidates = n_planned = random.size
    window: int | None = None
    if strategy == "random":
        sampler, scheduler = random, FIFO(n_candidates, resources.max_resources)
    elif strategy == "halving":
        sampler, scheduler = random, SuccessiveHalving(
            n_candidates, factor=search.factor, min_resources=resources.min_resources,
            max_resources=resources.max_resources, exhaust=search.min_resources == "exhaust",
            aggressive_elimination=search.aggressive_elimination,
        )
    elif strategy == "hyperband":
        assert hyperband is not None
        sampler, scheduler = random, _capped(hyperband, n_planned)
    elif strategy == "asha":
        window = search.window
        sampler, scheduler = random, ASHA(
            n_candidates, min_resources=resources.min_resources,
            max_resources=resources.max_resources, factor=search.factor,
        )
    elif strategy == "tpe":
        window = search.window
        sampler, scheduler = TPESampler(search.space, seed, random), FIFO(n_candidates, resources.max_resources)
    elif strategy == "bohb":
        assert hyperband is not None
        window = search.window
        # The model needs d + 1 observations at one budget (Falkner et al.'s N_min).
        sampler = TPESampler(
            search.space, seed, random, n_startup=len(search.space) + 1, random_fraction=BOHB_RANDOM_FRACTION
        )
        scheduler = _capped(hyperband, n_planned)
    else:  # pragma: no cover - the config's Literal lists every strategy
        raise ValueError(f"unknown strategy {strategy}")
    return _search(sampler, scheduler, window, search, notes, defaults, resources)


def _capped(hyperband: Hyperband, n_planned: int) -> Scheduler:
    """Hyperband as is; a space with fewer distinct points than its brackets want is not handled."""
    if n_planned < hyperband.n_planned:
        raise ConfigError(
            f"search.space has only {n_planned} distinct points (all choices), but Hyperband's brackets start "
            f"{hyperband.n_planned} configurations; add a range to the space or use strategy grid"
        )
    return hyperband


def _search(
    sampler: Sampler, scheduler: Scheduler, window: int | None, search: SearchConfig, notes: list[str],
    defaults: dict[str, Any] | None, resources: Resources,
) -> Search:
    if search.racing and search.strategy in RACING_STRATEGIES:
        # Whether a trial is stopped depends on the incumbent when it is asked: that is a decision
        # from results as they arrive, so the window bounds it as for a model-based sampler.
        scheduler, window = Racing(scheduler), search.window
    # The defaults run at the largest budget the schedule reaches with some configuration (999 for
    # halving's 37 x 3^3 under max_resources 1000; below ASHA's top rungs when too few
    # configurations start to promote any there), not at max_resources: the winner is the best at
    # the largest budget, so a defaults' trial alone above the last rung reached would win by
    # construction.
    top = max(
        (b for _, counts, budgets in scheduler.plan() for n, b in zip(counts, budgets) if n > 0),
        default=resources.max_resources,
    )
    extend = search.resource == "n_estimators" and search.early_stopping is not None
    return Search(
        sampler, scheduler, window=window, name=search.strategy, notes=notes,
        defaults=defaults if search.include_defaults else None, defaults_budget=top,
        ceiling=top * EXTEND_FACTOR if extend else None,
    )


def plan_table(search: Search) -> list[str]:
    """The planned brackets as lines for the log: ``bracket 4: 81 x 10, 27 x 30, ...``."""
    return [
        f"bracket {bracket}: " + ", ".join(f"{n} x {b}" for n, b in zip(counts, budgets))
        for bracket, counts, budgets in search.scheduler.plan()
    ]


"""Search strategies: a sampler (what to try) paired with a scheduler (how much budget), ask / tell.

They schedule; the flow executes. Nothing here fits a model, imports Prefect or touches files, and
nothing here reads the pydantic config: :func:`make_search` takes the ``search`` section as plain
values (:class:`SearchSettings`). What each strategy is lives in one table, :mod:`.strategies`.
"""

from __future__ import annotations

from typing import Any

from tunepipe.search._driver import Search
from tunepipe.search._types import History
from tunepipe.search.racing import Racing
from tunepipe.search.schedulers import halving_schedule, hyperband_brackets, smallest_min_resources
from tunepipe.search.settings import Resources, SearchSettings, resolve_resources
from tunepipe.search.strategies import STRATEGIES, Strategy

__all__ = [
    "STRATEGIES",
    "History",
    "Resources",
    "Search",
    "SearchSettings",
    "Strategy",
    "halving_schedule",
    "hyperband_brackets",
    "make_search",
    "plan_table",
    "resolve_resources",
    "smallest_min_resources",
]

# With early stopping on boosting rounds, a trial at the largest budget that still improves there
# goes on (continued boosting, early stopping decides) up to this many times that budget: a fixed
# max_resources must not cap a winner that needs more rounds (large data, a small learning rate).
EXTEND_FACTOR = 5


def make_search(
    settings: SearchSettings,
    *,
    seed: int,
    n_train: int,
    n_splits: int,
    n_classes: int | None,
    defaults: dict[str, Any] | list[dict[str, Any]] | None = None,
    frozen: frozenset[str] = frozenset(),
) -> Search:
    """The search ``settings.strategy`` names (:data:`STRATEGIES`), its budgets resolved against the data.

    ``defaults``: the model's default values of the searched parameters (a list: each kind's, with
    several model kinds); with ``include_defaults`` they are trial 0 (trials 0..k-1), at the largest budget. ``frozen``: searched
    hyperparameters fixed when LightGBM bins a Dataset, which pbt never perturbs. Notes for the run's log
    (keys the strategy ignores, a small or large grid) are in ``Search.notes``.
    """
    strategy = STRATEGIES[settings.strategy]
    resources = resolve_resources(
        settings, n_train=n_train, n_splits=n_splits, n_classes=n_classes, halving=strategy.scheduler == "halving"
    )
    notes = [f"search.{key} is set but strategy {strategy.name} does not read it" for key in strategy.ignored(settings)]
    built = strategy.build(settings, resources, seed, frozen)
    scheduler, window = built.scheduler, built.window
    if settings.racing and strategy.racing:
        # Whether a trial is stopped depends on the incumbent when it is asked: that is a decision
        # from results as they arrive, so the window bounds it as for a model-based sampler.
        scheduler, window = Racing(scheduler), settings.window
    # The defaults run at the largest budget the schedule reaches with some configuration (999 for
    # halving's 37 x 3^3 under max_resources 1000; below ASHA's top rungs when too few
    # configurations start to promote any there), not at max_resources: the winner is the best at
    # the largest budget, so a defaults' trial alone above the last rung reached would win by
    # construction.
    top = max(
        (budget for b in scheduler.plan() for n, budget in zip(b.n_configs, b.budgets) if n > 0),
        default=resources.max_resources,
    )
    extend = settings.resource == "n_estimators" and settings.early_stopping is not None
    return Search(
        built.sampler, scheduler, window=window, name=strategy.name, notes=notes + list(built.notes),
        defaults=defaults if settings.include_defaults else None, defaults_budget=top,
        ceiling=top * EXTEND_FACTOR if extend else None,
    )


def plan_table(search: Search) -> list[str]:
    """The planned brackets as lines for the log: ``bracket 4: 81 x 10, 27 x 30, ...``."""
    return [
        f"bracket {b.number}: " + ", ".join(f"{n} x {budget}" for n, budget in zip(b.n_configs, b.budgets))
        for b in search.scheduler.plan()
    ]

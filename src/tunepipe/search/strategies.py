"""What a strategy is, in one table: name -> sampler, scheduler, the ``search`` keys it reads, its
space rules, whether racing applies, and how it is built.

Config validation (``tunepipe.config``) and :func:`tunepipe.search.make_search` both read
:data:`STRATEGIES`; adding a strategy is a sampler or scheduler module plus one entry here.

=========  ==========  ==========  ======  ===================================================
strategy   sampler     scheduler   racing  paper
=========  ==========  ==========  ======  ===================================================
random     random      fifo        yes     Bergstra & Bengio, JMLR 2012
grid       grid        fifo        yes     (exhaustive; scikit-learn's ``GridSearchCV`` order)
halving    random      halving     no      Jamieson & Talwalkar, AISTATS 2016 (scikit-learn's)
hyperband  random      hyperband   no      Li et al., JMLR 2018
asha       random      asha        no      Li et al., MLSys 2020
tpe        tpe         fifo        yes     Bergstra et al., NeurIPS 2011 (Optuna's TPESampler)
cmaes      cmaes       fifo        yes     Hansen & Ostermeier 2001; Hamano et al. 2022 (Optuna's)
ga         ga          fifo        yes     Deb et al., IEEE TEC 2002 (Optuna's NSGAIISampler)
bohb       tpe (1/3    hyperband   no      Falkner, Klein & Hutter, ICML 2018
           random)
pbt        random      pbt         no      Jaderberg et al. 2017 (population-based training)
=========  ==========  ==========  ======  ===================================================

Racing applies where every configuration runs at one budget; the bracketed schedulers compare
configurations at smaller budgets instead, and pbt compares its members after every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tunepipe.errors import ConfigError
from tunepipe.search.settings import Resources, SearchSettings, Space
from tunepipe.search.samplers import (
    EvolutionSampler,
    GridSampler,
    RandomSampler,
    Sampler,
    TPESampler,
    cmaes_sampler,
    ga_sampler,
    is_bred,
    is_cma_draw,
)
from tunepipe.search.schedulers import ASHA, FIFO, Hyperband, PopulationBasedTraining, Scheduler, SuccessiveHalving

# Keys every strategy reads; a strategy's own keys are in its entry.
COMMON_KEYS = frozenset({
    "strategy", "sampler", "scheduler", "scoring", "space", "resource", "max_resources", "score_best_iteration", "early_stopping",
    "include_defaults", "time_budget", "refit",
})
# BOHB's share of configurations drawn at random (Falkner et al. 2018, rho = 1/3).
BOHB_RANDOM_FRACTION = 1 / 3
# A grid with more points than this gets a note with its size: it runs every point at full budget.
LARGE_GRID = 1000
# The samplers that are Optuna's, by the name of Optuna's class.
OPTUNA_SAMPLERS = {"tpe": "TPE", "cmaes": "CMA-ES", "ga": "NSGA-II"}
# The values Optuna's categorical distribution (TPE) can hold.
_SCALAR = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Built:
    """A strategy's parts for one search: ``window`` None when no decision depends on results as
    they arrive (racing sets one); ``notes`` are lines for the run's log."""

    sampler: Sampler
    scheduler: Scheduler
    window: int | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Strategy:
    """One row of the table.

    Attributes:
        sampler: What to try (``samplers/``); it decides the space rules (:meth:`space_problem`).
        scheduler: How much budget, and when to stop (``schedulers/``).
        keys: ``search`` keys read besides :data:`COMMON_KEYS`.
        racing: Whether ``search.racing`` applies (every configuration at one budget).
        learns: Whether the sampler or scheduler decides from results as they arrive (then
            ``search.window`` bounds how stale its view may be).
        build: The sampler and scheduler for settings, resources, a seed and the hyperparameters
            fixed when LightGBM bins a Dataset (which pbt never perturbs).
    """

    name: str
    sampler: Literal["random", "grid", "tpe", "cmaes", "ga"]
    scheduler: Literal["fifo", "halving", "hyperband", "asha", "pbt"]
    keys: frozenset[str]
    racing: bool
    learns: bool
    build: Callable[[SearchSettings, Resources, int, frozenset[str]], Built]

    def reads(self, settings: SearchSettings) -> frozenset[str]:
        """The ``search`` keys this strategy reads under ``settings``."""
        read = COMMON_KEYS | self.keys
        if not self.learns and not (self.racing and settings.racing):
            read -= {"window"}  # only racing makes a fifo search's decisions depend on arrival
        if self.scheduler == "hyperband" and settings.min_resources != "exhaust":
            read -= {"n_candidates"}  # Hyperband's brackets read it only through exhaust
        return read

    def ignored(self, settings: SearchSettings) -> list[str]:
        """Keys set away from their default that this strategy does not read, sorted."""
        return sorted(settings.changed - self.reads(settings))

    @property
    def several_kinds(self) -> bool:
        """Whether the strategy can choose among several model kinds (``model.kind`` a list).

        Its sampler must take one space per kind: random and grid sample a list of spaces as
        scikit-learn's searches do, tpe samples the kind and then the kind's own hyperparameters
        (a conditional space). CMA-ES and the genetic algorithm search one fixed set of
        hyperparameters, and pbt perturbs one LightGBM booster's.
        """
        return self.sampler in ("random", "grid", "tpe") and self.scheduler != "pbt"

    def space_problem(self, space: Space, where: str = "search.space") -> str | None:
        """Why ``space`` (written at ``where``) does not suit this strategy's sampler (the first
        reason), or None."""
        if isinstance(space, list) and self.sampler != "grid":
            return (
                f"{where} is a list of {len(space)} sub-grids, but only strategy grid takes a list; "
                "set search.strategy: grid, or write one mapping of hyperparameters"
            )
        top = where
        for i, grid in enumerate(space if isinstance(space, list) else [space]):
            where = f"{top}[{i}]" if isinstance(space, list) else top
            for name, dist in grid.items():
                if self.sampler == "grid" and dist.choices is None:
                    return (
                        f"{where}.{name} is a range {{low: {dist.low:g}, high: {dist.high:g}}}, but strategy grid "
                        f"needs a list of values; write {name}: {{choices: [...]}}, or pick a strategy that samples "
                        "ranges (random, halving, tpe, ...)"
                    )
                if self.sampler in OPTUNA_SAMPLERS and dist.choices is not None:
                    bad = [c for c in dist.choices if not isinstance(c, _SCALAR)]
                    if bad:
                        return (
                            f"{where}.{name}.choices holds {bad[0]!r}, but strategy {self.name} "
                            f"(Optuna's {OPTUNA_SAMPLERS[self.sampler]}) "
                            "takes only null, booleans, numbers and strings as choices; use one of those"
                        )
        return None


def _random(settings: SearchSettings, seed: int, n_configs: int) -> tuple[RandomSampler, int, tuple[str, ...]]:
    """The random sampler for ``n_configs`` configurations, and how many distinct ones it has."""
    # A list: one space per model kind (several kinds); sub-grids are for grid only (space_problem).
    random = RandomSampler(settings.space, seed, n_configs)
    if random.size is not None and random.size < n_configs:
        note = (f"search.space has only {random.size} distinct points (all choices), "
                f"so {random.size} candidates instead of {n_configs}")
        return random, random.size, (note,)
    return random, n_configs, ()


def _hyperband(settings: SearchSettings, resources: Resources, seed: int) -> tuple[Hyperband, RandomSampler, tuple[str, ...]]:
    """Hyperband's brackets and the random sampler that fills them."""
    hyperband = Hyperband(
        min_resources=resources.min_resources, max_resources=resources.max_resources, factor=settings.factor
    )
    random, n_configs, notes = _random(settings, seed, hyperband.n_configs)
    if n_configs < hyperband.n_configs:
        raise ConfigError(
            f"search.space has only {n_configs} distinct points (all choices), but Hyperband's brackets start "
            f"{hyperband.n_configs} configurations; add a range to the space or use strategy grid"
        )
    return hyperband, random, notes


def _build_random(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    random, n, notes = _random(settings, seed, settings.n_candidates)
    return Built(random, FIFO(n, resources.max_resources), None, notes)


def _build_grid(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    grid = GridSampler(settings.space)
    n = grid.size or 0
    notes = () if n <= LARGE_GRID else (
        f"search.space is a grid of {n} points, each run at full budget; consider strategy halving or tpe",
    )
    return Built(grid, FIFO(n, resources.max_resources), None, notes)


def _build_halving(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    random, n, notes = _random(settings, seed, settings.n_candidates)
    scheduler = SuccessiveHalving(
        n, factor=settings.factor, min_resources=resources.min_resources, max_resources=resources.max_resources,
        exhaust=settings.min_resources == "exhaust", aggressive_elimination=settings.aggressive_elimination,
    )
    return Built(random, scheduler, None, notes)


def _build_hyperband(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    hyperband, random, notes = _hyperband(settings, resources, seed)
    return Built(random, hyperband, None, notes)


def _build_asha(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    random, n, notes = _random(settings, seed, settings.n_candidates)
    scheduler = ASHA(
        n, min_resources=resources.min_resources, max_resources=resources.max_resources, factor=settings.factor
    )
    return Built(random, scheduler, settings.window, notes)


def _build_tpe(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    random, n, notes = _random(settings, seed, settings.n_candidates)
    return Built(TPESampler(settings.space, seed, random), FIFO(n, resources.max_resources), settings.window, notes)


def _build_bohb(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    hyperband, random, notes = _hyperband(settings, resources, seed)
    # The model needs d + 1 observations at one budget (Falkner et al.'s N_min); with one space per
    # model kind, d of the largest (the kind is one of its dimensions).
    d = max(len(s) for s in settings.space) if isinstance(settings.space, list) else len(settings.space)
    tpe = TPESampler(settings.space, seed, random, n_startup=d + 1, random_fraction=BOHB_RANDOM_FRACTION)
    return Built(tpe, hyperband, settings.window, notes)


def _build_cmaes(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    assert isinstance(settings.space, dict)
    sampler = EvolutionSampler(settings.space, "cmaes", cmaes_sampler(seed), is_cma_draw)
    return Built(sampler, FIFO(settings.n_candidates, resources.max_resources), settings.window)


def _build_ga(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    assert isinstance(settings.space, dict)
    sampler = EvolutionSampler(settings.space, "ga", ga_sampler(seed, settings.population), is_bred)
    return Built(sampler, FIFO(settings.n_candidates, resources.max_resources), settings.window)


def _build_pbt(settings: SearchSettings, resources: Resources, seed: int, frozen: frozenset[str]) -> Built:
    assert isinstance(settings.space, dict)
    if settings.pbt_interval >= resources.max_resources:
        raise ConfigError(
            f"search.pbt_interval is {settings.pbt_interval}, but must be < search.max_resources "
            f"({resources.max_resources}): members are compared and replaced between steps of that many rounds, "
            f"so one step would be no population-based training; lower it (e.g. {max(1, resources.max_resources // 10)})"
        )
    if set(settings.space) <= frozen:
        raise ConfigError(
            f"search.space names only {sorted(settings.space)}, which LightGBM fixes when it bins the data, but "
            "strategy pbt perturbs hyperparameters between boosting rounds; add one it can change (learning_rate, "
            "num_leaves, subsample, colsample_bytree, reg_lambda, ...)"
        )
    random, n, notes = _random(settings, seed, settings.population)
    scheduler = PopulationBasedTraining(
        n, settings.pbt_interval, resources.max_resources, settings.space, frozen, seed
    )
    return Built(random, scheduler, None, notes)


def _entry(
    name: str, sampler: Any, scheduler: Any, keys: set[str], *, racing: bool, learns: bool,
    build: Callable[[SearchSettings, Resources, int, frozenset[str]], Built],
) -> tuple[str, Strategy]:
    return name, Strategy(name, sampler, scheduler, frozenset(keys), racing, learns, build)


def preset_of(sampler: str, scheduler: str) -> str | None:
    """The strategy that pairs ``sampler`` with ``scheduler`` (None: no strategy does)."""
    return next((s.name for s in STRATEGIES.values() if (s.sampler, s.scheduler) == (sampler, scheduler)), None)


def pairs_text() -> str:
    """Every strategy as the pair it is: ``random = random + fifo, ...`` (for error messages)."""
    return ", ".join(f"{s.name} = {s.sampler} + {s.scheduler}" for s in STRATEGIES.values())


STRATEGIES: dict[str, Strategy] = dict([
    _entry("random", "random", "fifo", {"n_candidates", "racing", "window"}, racing=True, learns=False,
           build=_build_random),
    _entry("grid", "grid", "fifo", {"racing", "window"}, racing=True, learns=False, build=_build_grid),
    _entry("halving", "random", "halving", {"n_candidates", "factor", "min_resources", "aggressive_elimination"},
           racing=False, learns=False, build=_build_halving),
    # n_candidates only through min_resources: exhaust (the first bracket halves n_candidates).
    _entry("hyperband", "random", "hyperband", {"n_candidates", "factor", "min_resources"}, racing=False,
           learns=False, build=_build_hyperband),
    _entry("asha", "random", "asha", {"n_candidates", "factor", "min_resources", "window"}, racing=False,
           learns=True, build=_build_asha),
    _entry("tpe", "tpe", "fifo", {"n_candidates", "window", "racing"}, racing=True, learns=True, build=_build_tpe),
    _entry("cmaes", "cmaes", "fifo", {"n_candidates", "window", "racing"}, racing=True, learns=True,
           build=_build_cmaes),
    _entry("ga", "ga", "fifo", {"n_candidates", "window", "racing", "population"}, racing=True, learns=True,
           build=_build_ga),
    _entry("bohb", "tpe", "hyperband", {"n_candidates", "factor", "min_resources", "window"}, racing=False,
           learns=True, build=_build_bohb),

    # Every step waits for the whole population: no decision depends on arrival order (no window).
    _entry("pbt", "random", "pbt", {"population", "pbt_interval"}, racing=False, learns=True, build=_build_pbt),
])

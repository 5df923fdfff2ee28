"""The one table of strategies: config validation and make_search both read it."""

from __future__ import annotations

import typing

import pytest

from tests.conftest import BASE_RAW
from tunepipe.config import SearchConfig, parse_config
from tunepipe.errors import ConfigError
from tunepipe.search import STRATEGIES, make_search
from tunepipe.search.samplers import EvolutionSampler, GridSampler, RandomSampler, TPESampler
from tunepipe.search.racing import Racing
from tunepipe.search.schedulers import ASHA, FIFO, Hyperband, PopulationBasedTraining, SuccessiveHalving

COMMON = {"strategy", "sampler", "scheduler", "scoring", "space", "resource", "max_resources", "score_best_iteration", "early_stopping",
          "include_defaults", "time_budget", "refit"}
# Written by hand from the README's strategy table (what each reads besides the common keys), with
# search.racing on and min_resources: exhaust, as the shipped params.yaml has them.
READS = {
    "random": {"n_candidates", "racing", "window"},
    "grid": {"racing", "window"},
    "halving": {"n_candidates", "factor", "min_resources", "aggressive_elimination"},
    "hyperband": {"n_candidates", "factor", "min_resources"},
    "asha": {"n_candidates", "factor", "min_resources", "window"},
    "tpe": {"n_candidates", "window", "racing"},
    "cmaes": {"n_candidates", "window", "racing"},
    "ga": {"n_candidates", "window", "racing", "population"},
    "bohb": {"n_candidates", "factor", "min_resources", "window"},
    "pbt": {"population", "pbt_interval"},
}
PARTS = {
    "random": (RandomSampler, FIFO), "grid": (GridSampler, FIFO), "halving": (RandomSampler, SuccessiveHalving),
    "hyperband": (RandomSampler, Hyperband), "asha": (RandomSampler, ASHA), "tpe": (TPESampler, FIFO),
    "bohb": (TPESampler, Hyperband), "cmaes": (EvolutionSampler, FIFO), "ga": (EvolutionSampler, FIFO),
    "pbt": (RandomSampler, PopulationBasedTraining),
}
RACED = {"random", "grid", "tpe", "cmaes", "ga"}


def _settings(strategy: str, *overrides: str):
    """The test params with ``strategy`` (grid: on the model's default grid)."""
    grid = ["search.space=null"] if strategy == "grid" else []
    # pbt's steps must be shorter than the test params' 45 rounds.
    interval = ["search.pbt_interval=15"] if strategy == "pbt" else []
    return parse_config(BASE_RAW, [f"search.strategy={strategy}", *grid, *interval, *overrides]).search.settings()


def test_config_accepts_exactly_the_table():
    assert set(typing.get_args(SearchConfig.model_fields["strategy"].annotation)) == set(STRATEGIES) == set(READS)


@pytest.mark.parametrize("strategy", sorted(READS))
def test_keys_read(strategy):
    assert STRATEGIES[strategy].reads(_settings(strategy)) == COMMON | READS[strategy]


def test_keys_read_depend_on_racing_and_exhaust():
    """random without racing never decides from arrival order; Hyperband reads n_candidates only
    through exhaust."""
    assert "window" not in STRATEGIES["random"].reads(_settings("random", "search.racing=false"))
    assert "window" in STRATEGIES["tpe"].reads(_settings("tpe", "search.racing=false"))
    assert "n_candidates" not in STRATEGIES["hyperband"].reads(_settings("hyperband", "search.min_resources=smallest"))


@pytest.mark.parametrize("strategy", sorted(READS))
def test_make_search_pairs_the_tables_sampler_and_scheduler(strategy):
    search = make_search(_settings(strategy), seed=0, n_train=1000, n_splits=3, n_classes=2)
    sampler, scheduler = PARTS[strategy]
    assert type(search.sampler) is sampler
    if strategy in RACED:
        assert isinstance(search.scheduler, Racing) and type(search.scheduler.inner) is scheduler
    else:
        assert type(search.scheduler) is scheduler
    assert STRATEGIES[strategy].racing == (strategy in RACED)


def test_unknown_strategy_names_the_table():
    with pytest.raises(Exception, match="search.strategy is 'tpee'") as info:
        parse_config({"search": {"strategy": "tpee"}})
    assert all(name in str(info.value) for name in READS)


def _parse(search: dict):
    raw = {**BASE_RAW, "search": {k: v for k, v in BASE_RAW["search"].items() if k != "strategy"} | search}
    return parse_config(raw).search


@pytest.mark.parametrize(("sampler", "scheduler", "strategy"), [
    ("tpe", "hyperband", "bohb"), ("random", "asha", "asha"), ("cmaes", "fifo", "cmaes"), ("ga", "fifo", "ga"),
])
def test_a_sampler_and_a_scheduler_name_their_strategy(sampler, scheduler, strategy):
    assert _parse({"sampler": sampler, "scheduler": scheduler}).strategy == strategy
    assert _parse({"strategy": strategy, "sampler": sampler}).strategy == strategy  # agreeing halves


@pytest.mark.parametrize(("search", "message"), [
    ({"strategy": "tpe", "sampler": "cmaes"},
     "search.sampler is cmaes, but search.strategy tpe pairs sampler tpe with scheduler fifo; set search.strategy: "
     "cmaes, or leave out search.sampler and search.scheduler"),
    ({"strategy": "halving", "scheduler": "asha"},
     "search.scheduler is asha, but search.strategy halving pairs sampler random with scheduler halving; set "
     "search.strategy: asha, or leave out search.sampler and search.scheduler"),
    ({"sampler": "cmaes", "scheduler": "asha"},
     "search.sampler is cmaes and search.scheduler is asha, but no strategy pairs them; the pairs are random = "
     "random + fifo, grid = grid + fifo, halving = random + halving"),
    ({"sampler": "cmaes"}, "search.sampler is cmaes, but without search.strategy both halves are needed"),
])
def test_a_pair_that_is_not_the_strategy_names_both(search, message):
    with pytest.raises(ConfigError) as info:
        _parse(search)
    assert message in str(info.value)

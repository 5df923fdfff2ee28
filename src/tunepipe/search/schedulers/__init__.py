"""Schedulers: how much budget each trial gets and when a configuration stops (ask / tell)."""

from __future__ import annotations

from tunepipe.search.schedulers._asha import ASHA
from tunepipe.search.schedulers._base import Bracket, Scheduler, Slot, geometric_budgets
from tunepipe.search.schedulers._fifo import FIFO
from tunepipe.search.schedulers._halving import (
    HalvingBracket,
    HalvingSchedule,
    SuccessiveHalving,
    exhaust_min_resources,
    halving_schedule,
    smallest_min_resources,
)
from tunepipe.search.schedulers._hyperband import Hyperband, hyperband_brackets
from tunepipe.search.schedulers._pbt import PopulationBasedTraining

__all__ = [
    "ASHA",
    "FIFO",
    "Bracket",
    "HalvingBracket",
    "HalvingSchedule",
    "Hyperband",
    "PopulationBasedTraining",
    "Scheduler",
    "Slot",
    "SuccessiveHalving",
    "exhaust_min_resources",
    "geometric_budgets",
    "halving_schedule",
    "hyperband_brackets",
    "smallest_min_resources",
]

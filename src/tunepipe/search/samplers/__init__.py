"""Samplers: which configuration to try next (ask / tell)."""

from __future__ import annotations

from tunepipe.search.samplers._base import Sampler
from tunepipe.search.samplers._evolution import EvolutionSampler, cmaes_sampler, ga_sampler, is_bred, is_cma_draw
from tunepipe.search.samplers._grid import GridSampler
from tunepipe.search.samplers._random import RandomSampler
from tunepipe.search.samplers._tpe import TPESampler

__all__ = [
    "EvolutionSampler", "GridSampler", "RandomSampler", "Sampler", "TPESampler", "cmaes_sampler", "ga_sampler",
    "is_bred", "is_cma_draw",
]

"""Samplers: which configuration to try next (ask / tell)."""

from __future__ import annotations

from tunepipe.search.samplers._base import Sampler
from tunepipe.search.samplers._grid import GridSampler
from tunepipe.search.samplers._random import RandomSampler
from tunepipe.search.samplers._tpe import TPESampler

__all__ = ["GridSampler", "RandomSampler", "Sampler", "TPESampler"]

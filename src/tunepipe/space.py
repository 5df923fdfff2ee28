"""Search space: ``params.yaml`` distributions as the libraries that sample them take them.

scikit-learn's ``ParameterSampler`` (random search, so the same space and seed give the same
configurations as ``HalvingRandomSearchCV(random_state=seed)``) and Optuna's distributions (TPE).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from scipy import stats

from tunepipe.config import Distribution

# Sampled floats are rounded to this many significant digits. numpy's and scipy's exp / log may
# differ in the last bit between CPUs (SIMD code paths); rounding makes a sampled learning rate the
# same number on every machine (a flip needs a draw within ~1e-16 of a rounding boundary), while
# 8 digits change a model far less than any tuning decision can see.
SIGNIFICANT_DIGITS = 8


class _LogUniformInt:
    """Integers drawn log-uniformly from ``[low, high]`` (both included); scipy has no such rv."""

    def __init__(self, low: int, high: int) -> None:
        # Sample on [low, high + 1) and floor, so each end has its fair share of mass.
        self._rv = stats.loguniform(low, high + 1)
        self._high = high

    def rvs(self, random_state: Any = None) -> int:
        return min(int(self._rv.rvs(random_state=random_state)), self._high)


def to_sklearn(dist: Distribution) -> Any:
    """The scipy distribution (or list) ParameterSampler draws from for one hyperparameter."""
    if dist.choices is not None:
        return list(dist.choices)
    assert dist.low is not None and dist.high is not None  # guaranteed by Distribution's validator
    if dist.type == "int":
        low, high = int(dist.low), int(dist.high)
        return _LogUniformInt(low, high) if dist.log else stats.randint(low, high + 1)
    if dist.log:
        return stats.loguniform(dist.low, dist.high)
    return stats.uniform(dist.low, dist.high - dist.low)


def to_optuna(dist: Distribution) -> BaseDistribution:
    """The Optuna distribution of one hyperparameter (choices must be None, bool, int, float or str)."""
    if dist.choices is not None:
        return CategoricalDistribution(list(dist.choices))
    assert dist.low is not None and dist.high is not None
    if dist.type == "int":
        return IntDistribution(int(dist.low), int(dist.high), log=dist.log)
    return FloatDistribution(dist.low, dist.high, log=dist.log)


def plain(value: Any) -> Any:
    """A sampled value as a plain Python value: numpy scalars unwrapped, floats rounded to
    :data:`SIGNIFICANT_DIGITS` significant digits (the same number on every machine)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        return round(value, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(value))))
    return value

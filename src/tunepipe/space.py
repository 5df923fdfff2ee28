"""Search space: one ``params.yaml`` distribution (its schema), and as the libraries that sample it take it.

scikit-learn's ``ParameterSampler`` (random search, so the same space and seed give the same
configurations as ``HalvingRandomSearchCV(random_state=seed)``) and Optuna's distributions (TPE).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from pydantic import BaseModel, ConfigDict, model_validator
from scipy import stats

from tunepipe.errors import KEY

# Sampled floats are rounded to this many significant digits. numpy's and scipy's exp / log may
# differ in the last bit between CPUs (SIMD code paths); rounding makes a sampled learning rate the
# same number on every machine (a flip needs a draw within ~1e-16 of a rounding boundary), while
# 8 digits change a model far less than any tuning decision can see.
SIGNIFICANT_DIGITS = 8

# The hyperparameter that picks the model kind in a search over several (``model.kind`` a list):
# each configuration holds it, and the kind's own hyperparameters beside it.
KIND = "kind"


class Distribution(BaseModel):
    """One hyperparameter's search distribution.

    ``{low, high}`` uniform float, ``{low, high, log: true}`` log-uniform, ``{low, high, type: int}``
    uniform integer (both ends included), or ``{choices: [...]}``.
    """

    # As every params.yaml section (config._Section): typed YAML values, no extra keys, immutable.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    low: float | None = None
    high: float | None = None
    log: bool = False
    type: Literal["float", "int"] = "float"
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError(
                    f"{KEY} has both choices and low/high, but must have one or the other; "
                    "remove low/high or remove choices"
                )
            if not self.choices:
                raise ValueError(f"{KEY}.choices is [], but must list at least one value")
            return self
        if self.low is None or self.high is None:
            raise ValueError(
                f"{KEY} is missing {'low' if self.low is None else 'high'}, but a range needs both; "
                "write {low: ..., high: ...} or {choices: [...]}"
            )
        if not self.low < self.high:
            raise ValueError(
                f"{KEY}.low is {self.low}, but must be < {KEY}.high ({self.high}); swap or widen them"
            )
        if self.log and self.low <= 0:
            raise ValueError(
                f"{KEY}.low is {self.low}, but must be > 0 when log is true; use a positive low "
                "such as 1e-3, or set log: false"
            )
        if self.type == "int" and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(
                f"{KEY} has low={self.low}, high={self.high}, but type int needs whole numbers"
            )
        return self


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

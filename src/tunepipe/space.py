"""Search space: ``params.yaml`` distributions -> seeded candidate parameter sets.

Sampling is delegated to scikit-learn's :class:`~sklearn.model_selection.ParameterSampler`, so the
same space and seed give the same candidates as ``HalvingRandomSearchCV(random_state=seed)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from sklearn.model_selection import ParameterSampler

from tunepipe.config import Distribution


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


def sample_candidates(space: dict[str, Distribution], n: int, seed: int) -> list[dict[str, Any]]:
    """Draw ``n`` parameter sets from ``space`` with ``seed``.

    When every dimension is a list of choices and the grid has fewer than ``n`` points, the whole
    grid is returned (ParameterSampler samples without replacement then).
    """
    distributions = {name: to_sklearn(d) for name, d in sorted(space.items())}
    sampler = ParameterSampler(distributions, n_iter=n, random_state=seed)
    if all(isinstance(d, list) for d in distributions.values()):
        grid_size = int(np.prod([len(d) for d in distributions.values()]))
        sampler.n_iter = min(n, grid_size)  # avoid the UserWarning; the result is the same
    return [{k: _plain(v) for k, v in params.items()} for params in sampler]


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so params print, hash and serialise plainly."""
    return value.item() if isinstance(value, np.generic) else value

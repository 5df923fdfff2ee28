"""Random search: configurations drawn from the space with scikit-learn's ``ParameterSampler``.

Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization" (JMLR 2012). The same space and
seed give the same configurations, in the same order, as ``RandomizedSearchCV`` /
``HalvingRandomSearchCV(random_state=seed)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sklearn.model_selection import ParameterGrid, ParameterSampler

from tunepipe.space import Distribution
from tunepipe.search._types import History
from tunepipe.search.samplers._base import Sampler
from tunepipe.space import plain, to_sklearn


class RandomSampler(Sampler):
    """The ``candidate``-th draw of one seeded ``ParameterSampler`` stream.

    Args:
        space: Hyperparameter -> distribution; or a list of such spaces, one per model kind (each
            holding ``kind``): as scikit-learn's ``ParameterSampler``, each draw picks one of
            them uniformly, then draws its hyperparameters.
        seed: The search's seed.
        n_configs: How many configurations the search plans to draw. Only matters when every
            dimension is a list of choices: ``ParameterSampler`` then samples the grid without
            replacement, and which points it picks depends on how many it is asked for.
    """

    def __init__(self, space: dict[str, Distribution] | list[dict[str, Distribution]], seed: int, n_configs: int) -> None:
        spaces = space if isinstance(space, list) else [space]
        converted = [{name: to_sklearn(d) for name, d in sorted(s.items())} for s in spaces]
        distributions: Any = converted if isinstance(space, list) else converted[0]
        n_iter = n_configs
        if all(isinstance(d, list) for s in converted for d in s.values()):
            self.size = len(ParameterGrid(distributions))
            n_iter = min(n_configs, self.size)  # the same points ParameterSampler gives, without its warning
        else:
            n_iter = 2**62  # a stream: the k-th draw does not depend on how many follow
        self._stream: Iterator[dict[str, Any]] = iter(ParameterSampler(distributions, n_iter=n_iter, random_state=seed))
        self._drawn: list[dict[str, Any]] = []

    def sample(self, candidate: int, number: int, history: History) -> dict[str, Any]:
        while len(self._drawn) <= candidate:
            self._drawn.append({k: plain(v) for k, v in next(self._stream).items()})
        return dict(self._drawn[candidate])

"""Grid search: every point of a grid of choices, in scikit-learn's ``ParameterGrid`` order."""

from __future__ import annotations

from typing import Any

from sklearn.model_selection import ParameterGrid

from tunepipe.space import Distribution
from tunepipe.search._types import History
from tunepipe.search.samplers._base import Sampler


class GridSampler(Sampler):
    """Configuration ``candidate`` is ``ParameterGrid(space)[candidate]``.

    Args:
        space: One grid (hyperparameter -> ``{choices: [...]}``) or a list of sub-grids, as
            ``GridSearchCV``'s ``param_grid``; every distribution must be a list of choices.
    """

    name = "grid"

    def __init__(self, space: dict[str, Distribution] | list[dict[str, Distribution]]) -> None:
        grids = space if isinstance(space, list) else [space]
        self._grid = ParameterGrid([{name: list(d.choices or []) for name, d in g.items()} for g in grids])
        self.size = len(self._grid)

    def sample(self, candidate: int, number: int, history: History) -> dict[str, Any]:
        # The user's own values, as written (nothing sampled, nothing to round).
        return dict(self._grid[candidate])

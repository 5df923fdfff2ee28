"""Which hyperparameters mattered: Optuna's importance evaluator on the search's trials.

The trials of one budget are put into an in-memory Optuna study (scores at different budgets are
not comparable, so they are never mixed): the largest budget with enough trials to fit the
evaluator's model. Optuna's fANOVA evaluator (Hutter et al. 2014: the share of the score's
variance each hyperparameter explains, from a random forest fitted on the trials) does the rest.

Also the data of the parallel-coordinates plot: every trial of that budget, each hyperparameter
placed on its own axis from 0 (its range's low end) to 1 (high end; log scale where the space
is), coloured by score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from tunepipe.config import Distribution
from tunepipe.space import to_optuna

# Fewer trials than this (or than 2 per tuned hyperparameter) say too little to rank them.
MIN_TRIALS = 10
# Importances are written at this precision: a last-bit difference between CPUs cannot flip them.
DECIMALS = 4
# ``note`` is empty on data rows; a table with nothing to draw is one row whose note says why, so
# the plots page shows that sentence instead of an empty frame (.dvc/plots/*.json draw it).
IMPORTANCE_COLUMNS = ["param", "importance", "n_trials", "n_resources", "evaluator", "note"]
PARALLEL_COLUMNS = ["trial", "param", "value", "position", "score", "n_resources", "note"]


def tuned(space: Mapping[str, Distribution]) -> dict[str, BaseDistribution]:
    """The hyperparameters that vary (a single choice is a fixed value, not a tuned one)."""
    out = {name: to_optuna(d) for name, d in sorted(space.items())}
    return {name: d for name, d in out.items() if not d.single()}


def _scored(trials: pd.DataFrame, dists: Mapping[str, BaseDistribution]) -> pd.DataFrame:
    """The fully scored trials that lie inside the space.

    The model's defaults (trial 0 of a search) may lie outside it (``reg_lambda: 0`` below a log
    range), and have no place on its axes.
    """
    inside = trials.apply(lambda row: _point(row, dists) is not None, axis=1) if len(trials) else trials["status"].astype(bool)
    return trials[(trials["status"] == "ok") & trials["mean_test_score"].notna() & inside]


def _needed(dists: Mapping[str, BaseDistribution]) -> int:
    return max(MIN_TRIALS, 2 * len(dists))


def budget_trials(trials: pd.DataFrame, dists: Mapping[str, BaseDistribution]) -> pd.DataFrame:
    """The scored trials (inside the space) of the largest budget that has enough of them (empty
    if none has)."""
    ok = _scored(trials, dists)
    counts = ok.groupby("n_resources").size()
    enough = counts[counts >= _needed(dists)]
    if enough.empty:
        return ok.iloc[0:0]
    return ok[ok["n_resources"] == enough.index.max()]


def shortfall(trials: pd.DataFrame, dists: Mapping[str, BaseDistribution]) -> str:
    """Why :func:`budget_trials` is empty, as the plots page says it ("" when it is not)."""
    if not dists:
        return "nothing to rank: the search space tunes no hyperparameter (every one has a single value)"
    if not budget_trials(trials, dists).empty:
        return ""
    ok = _scored(trials, dists)
    most = int(ok.groupby("n_resources").size().max()) if len(ok) else 0
    return (f"not enough trials: at most {most} fully scored at one budget, {_needed(dists)} needed "
            f"to rank {len(dists)} hyperparameters (run more trials: search.n_candidates)")


def _note_row(columns: list[str], note: str) -> pd.DataFrame:
    """A table of one row that only carries ``note`` (every other cell empty)."""
    return pd.DataFrame([{c: (note if c == "note" else None) for c in columns}], columns=columns)


def _value(raw: Any, dist: BaseDistribution) -> Any:
    """A trials-table cell as a value of ``dist`` (a CSV round trip turns ints into floats, None
    into NaN), or None when the value lies outside ``dist``."""
    if isinstance(dist, CategoricalDistribution):
        for choice in dist.choices:
            both_missing = choice is None and (raw is None or (isinstance(raw, float) and math.isnan(raw)))
            if both_missing or choice == raw or str(choice) == str(raw):
                return _Choice(choice)
        return None
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    try:
        value = int(raw) if isinstance(dist, IntDistribution) else float(raw)
    except (TypeError, ValueError):
        return None
    return value if dist.low <= value <= dist.high else None


class _Choice:
    """A categorical value as found in the space (a wrapper, since the value itself may be None)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _point(row: pd.Series, dists: Mapping[str, BaseDistribution]) -> dict[str, Any] | None:
    """The trial's values of the tuned hyperparameters, or None if one lies outside the space."""
    point: dict[str, Any] = {}
    for name, dist in dists.items():
        value = _value(row.get(f"param_{name}"), dist)
        if value is None:
            return None
        point[name] = value.value if isinstance(value, _Choice) else value
    return point


def param_importances(trials: pd.DataFrame, space: Mapping[str, Distribution], seed: int) -> pd.DataFrame:
    """``reports/importance.csv``: one row per tuned hyperparameter, most important first.

    ``importance`` is fANOVA's share of the score's variance (they sum to 1), ``n_trials`` and
    ``n_resources`` the trials it was computed from. When no budget has enough trials, one row
    whose ``note`` says so (:func:`shortfall`).
    """
    dists = tuned(space)
    rows = budget_trials(trials, dists)
    if rows.empty or not dists:
        return _note_row(IMPORTANCE_COLUMNS, shortfall(trials, dists))
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per in-memory study in the run's log
    try:
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    finally:
        optuna.logging.set_verbosity(verbosity)
    for _, row in rows.iterrows():
        params = _point(row, dists)
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=float(row["mean_test_score"])))
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    scores = optuna.importance.get_param_importances(study, evaluator=evaluator)
    out = pd.DataFrame({
        "param": list(scores),
        "importance": [round(float(v), DECIMALS) for v in scores.values()],
        "n_trials": len(rows),
        "n_resources": int(rows["n_resources"].iloc[0]),
        "evaluator": "fanova",
        "note": "",
    })
    return out.sort_values(["importance", "param"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _position(value: Any, dist: BaseDistribution) -> float:
    """Where ``value`` lies on its hyperparameter's axis: 0 at the low end, 1 at the high end."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices.index(value) / max(1, len(dist.choices) - 1)
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    low, high, x = float(dist.low), float(dist.high), float(value)
    if dist.log:
        low, high, x = math.log(low), math.log(high), math.log(x)
    return (x - low) / (high - low)


def parallel_coordinates(trials: pd.DataFrame, space: Mapping[str, Distribution]) -> pd.DataFrame:
    """``reports/parallel.csv``: the trials of :func:`budget_trials`, one row per trial and
    hyperparameter (``value`` as tried, ``position`` on its 0-1 axis, ``score``); one ``note``
    row when there are none (:func:`shortfall`)."""
    dists = tuned(space)
    rows = budget_trials(trials, dists)
    if rows.empty or not dists:
        return _note_row(PARALLEL_COLUMNS, shortfall(trials, dists))
    ids = rows["trial"] if "trial" in rows.columns else pd.Series(np.arange(len(rows)), index=rows.index)
    records = [
        {
            "trial": int(ids[i]),
            "param": name,
            "value": f"{value:.6g}" if isinstance(value, float) else str(value),
            "position": round(_position(value, dists[name]), DECIMALS),
            "score": round(float(row["mean_test_score"]), 6),
            "n_resources": int(row["n_resources"]),
            "note": "",
        }
        for i, row in rows.iterrows()
        for name, value in (_point(row, dists) or {}).items()
    ]
    return pd.DataFrame(records, columns=PARALLEL_COLUMNS)

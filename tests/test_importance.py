"""Hyperparameter importance (Optuna's fANOVA) and parallel-coordinates data from a trials table."""

from __future__ import annotations

import io as stdio
import math

import numpy as np
import pandas as pd
import pytest

from tunepipe.config import Distribution
from tunepipe.importance import IMPORTANCE_COLUMNS, PARALLEL_COLUMNS, budget_trials, parallel_coordinates, param_importances, tuned

SPACE = {
    "learning_rate": Distribution(low=0.01, high=0.3, log=True),
    "num_leaves": Distribution(low=8, high=256, type="int", log=True),
    "subsample": Distribution(low=0.5, high=1.0),
    "boosting": Distribution(choices=["gbdt", "dart", None]),
    "subsample_freq": Distribution(choices=[1]),  # fixed: not a tuned hyperparameter
}


def _trials(n_per_budget: dict[int, int], seed: int = 0) -> pd.DataFrame:
    """Trials whose score depends on learning_rate (strongly) and nothing else but noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for budget, n in n_per_budget.items():
        for _ in range(n):
            lr = float(np.exp(rng.uniform(np.log(0.01), np.log(0.3))))
            rows.append({
                "n_resources": budget, "param_learning_rate": lr, "param_num_leaves": int(rng.integers(8, 257)),
                "param_subsample": float(rng.uniform(0.5, 1.0)), "param_boosting": rng.choice(["gbdt", "dart", None]),
                "param_subsample_freq": 1, "mean_test_score": 0.9 - (np.log(lr) - np.log(0.05)) ** 2 / 10 + rng.normal(0, 1e-4),
                "status": "ok",
            })
    rows.append({**rows[0], "mean_test_score": math.nan, "status": "failed"})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("counts", "budget"),
    [({10: 40, 30: 13, 90: 4}, 30), ({10: 40, 30: 9}, 10), ({90: 12}, 90), ({10: 9}, None)],
)
def test_the_largest_budget_with_enough_trials_is_used(counts: dict[int, int], budget: int | None) -> None:
    rows = budget_trials(_trials(counts), tuned(SPACE))  # 4 tuned: needs max(10, 2 * 4) = 10 trials
    assert (set(rows["n_resources"]) == {budget}) if budget else rows.empty


def test_the_hyperparameter_the_score_depends_on_ranks_first() -> None:
    out = param_importances(_trials({10: 40, 30: 20}), SPACE, seed=3)
    assert list(out.columns) == IMPORTANCE_COLUMNS
    assert out["param"].iloc[0] == "learning_rate" and out["importance"].iloc[0] > 0.8
    assert set(out["param"]) == {"learning_rate", "num_leaves", "subsample", "boosting"}  # not the fixed one
    assert out["importance"].sum() == pytest.approx(1, abs=1e-3)
    assert set(out["n_trials"]) == {20} and set(out["n_resources"]) == {30} and set(out["evaluator"]) == {"fanova"}


def test_same_trials_same_importances_after_a_csv_round_trip() -> None:
    trials = _trials({10: 30})
    again = pd.read_csv(stdio.StringIO(trials.to_csv(index=False)))
    pd.testing.assert_frame_equal(param_importances(trials, SPACE, seed=1), param_importances(again, SPACE, seed=1))


def test_too_few_trials_give_one_row_that_says_so() -> None:
    """What the plots page shows instead of an empty frame: 5 + 3 trials at two budgets, 10 needed."""
    trials = _trials({10: 5, 30: 3})
    for out, columns in ((param_importances(trials, SPACE, seed=0), IMPORTANCE_COLUMNS),
                         (parallel_coordinates(trials, SPACE), PARALLEL_COLUMNS)):
        assert list(out.columns) == columns and len(out) == 1
        assert out["note"].iloc[0] == ("not enough trials: at most 5 fully scored at one budget, 10 needed "
                                       "to rank 4 hyperparameters (run more trials: search.n_candidates)")
        assert out.drop(columns="note").isna().all(axis=None)


def test_enough_trials_leave_the_note_empty() -> None:
    trials = _trials({10: 30})
    assert (param_importances(trials, SPACE, seed=0)["note"] == "").all()
    assert (parallel_coordinates(trials, SPACE)["note"] == "").all()


def test_parallel_coordinates_place_values_on_their_axes() -> None:
    trials = pd.DataFrame([{
        "trial": 7, "n_resources": 30, "param_learning_rate": math.sqrt(0.01 * 0.3), "param_num_leaves": 8,
        "param_subsample": 1.0, "param_boosting": None, "param_subsample_freq": 1, "mean_test_score": 0.9, "status": "ok",
    }] * 10)
    out = parallel_coordinates(trials, SPACE)
    first = out[out["trial"] == 7].drop_duplicates("param").set_index("param")
    # Log ranges are placed on a log axis: the geometric mean of the range sits in the middle.
    assert first.loc["learning_rate", "position"] == pytest.approx(0.5)
    assert first.loc["num_leaves", "position"] == 0 and first.loc["subsample", "position"] == 1
    assert first.loc["boosting", "position"] == 1 and first.loc["boosting", "value"] == "None"
    assert "subsample_freq" not in first.index and len(out) == 40


def test_trials_outside_the_space_are_left_out() -> None:
    """The model's defaults (trial 0 of a search) may lie outside the space: no place on its axes."""
    trials = _trials({30: 10})
    defaults = {**trials.iloc[0].to_dict(), "param_learning_rate": 0.0, "param_subsample_freq": 0, "mean_test_score": 0.95}
    with_defaults = pd.concat([pd.DataFrame([defaults]), trials], ignore_index=True)
    assert len(budget_trials(with_defaults, tuned(SPACE))) == 10
    pd.testing.assert_frame_equal(param_importances(with_defaults, SPACE, seed=1), param_importances(trials, SPACE, seed=1))
    assert len(parallel_coordinates(with_defaults, SPACE)) == 40

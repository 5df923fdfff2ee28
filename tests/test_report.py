"""Output tables and metrics built from a finished search's observations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.search.conftest import fresh
from tunepipe.precision import round_floats, rounded
from tunepipe.report import (
    all_failed_message,
    cv_metrics,
    leaderboard,
    progress_table,
    summary_markdown,
    summary_text,
    trials_table,
)
from tunepipe.results import Observation, Trial
from tunepipe.search.schedulers import Hyperband, SuccessiveHalving
from tests.search.conftest import ListSampler


def _finished() -> list[Observation]:
    search = fresh(SuccessiveHalving(4, factor=2, min_resources=5, max_resources=10),
                   ListSampler([{"a": i, "b": "x"} for i in range(4)]))
    scores = {0: (0.5, 0.7), 1: (math.nan, math.nan), 2: (0.9, 0.8), 3: (0.1, 0.2)}
    for t in search.ask():
        search.tell(Observation(t, scores[t.candidate], fit_times=(1.0, 3.0), status="failed" if t.candidate == 1 else "ok",
                                error="ValueError: bad" if t.candidate == 1 else ""))
    for t in search.ask():
        search.tell(Observation(t, (0.6, 0.6) if t.candidate == 0 else (0.7, 0.9), best_budget=8))
    assert search.done
    return search.observations


def test_trials_table_rows_ranks_and_columns() -> None:
    table = trials_table(_finished(), ["a", "b"])
    assert list(table.columns) == ["trial", "candidate", "bracket", "rung", "n_resources", "proposed_by",
                                   "param_a", "param_b",
                                   "split0_test_score", "split1_test_score", "best_n_resources", "mean_test_score",
                                   "std_test_score", "rank_test_score", "status", "error"]
    assert table["trial"].tolist() == list(range(6))
    rung0 = table[table["rung"] == 0].set_index("candidate")
    assert rung0["rank_test_score"].to_dict() == {0: 2, 1: 4, 2: 1, 3: 3}
    assert rung0.loc[1, "status"] == "failed" and rung0.loc[1, "error"] == "ValueError: bad"
    assert math.isnan(rung0.loc[1, "mean_test_score"]) and math.isnan(rung0.loc[1, "std_test_score"])
    assert math.isclose(rung0.loc[2, "mean_test_score"], 0.85) and math.isclose(rung0.loc[2, "std_test_score"], 0.05)
    rung1 = table[table["rung"] == 1].set_index("candidate")
    assert rung1["best_n_resources"].tolist() == [8, 8]
    assert rung0["best_n_resources"].tolist() == [5, 5, 5, 5]
    assert not any("time" in c for c in table.columns)  # timings change every run: never in DVC outputs


def test_cv_metrics_describe_the_winner_and_the_search() -> None:
    cv = cv_metrics(_finished(), "roc_auc", "halving")
    assert cv == {
        "strategy": "halving", "scoring": "roc_auc", "best_score": 0.8,
        "best_candidate": 2, "best_trial": 5, "best_n_resources": 8, "n_candidates": [4, 2], "n_resources": [5, 10],
        "n_trials": 6, "n_failed": 1, "n_pruned": 0, "n_model_proposed": 0,
    }


def test_cv_metrics_count_per_bracket_for_hyperband() -> None:
    search = fresh(Hyperband(min_resources=1, max_resources=9, factor=3))
    while not search.done:
        for t in search.ask():
            search.tell(Observation(t, (t.candidate / 100,)))
    cv = cv_metrics(search.observations, "r2", "hyperband")
    assert cv["brackets"] == {
        "2": {"n_candidates": [9, 3, 1], "n_resources": [1, 3, 9]},
        "1": {"n_candidates": [5, 1], "n_resources": [3, 9]},
        "0": {"n_candidates": [3], "n_resources": [9]},
    }
    assert cv["best_candidate"] == 16  # the best at the full budget (bracket 0's last configuration)
    assert "n_candidates" not in cv


@pytest.mark.parametrize(("value", "expected"), [
    (0.12666549392400608, 0.1266654939), (-562.6234567891234, -562.6234568), (0.0, 0.0), (1e-20, 1e-20),
])
def test_floats_are_written_to_ten_significant_digits(value: float, expected: float) -> None:
    assert rounded(value) == expected
    assert round_floats({"a": [value, "x", 3], "b": (value,)}) == {"a": [expected, "x", 3], "b": (expected,)}
    assert math.isnan(rounded(math.nan)) and rounded(7) == 7


def test_progress_never_falls_and_failed_trials_keep_the_best() -> None:
    progress = progress_table(trials_table(_finished(), ["a", "b"]))
    assert progress["trial"].tolist() == list(range(6))
    np.testing.assert_allclose(progress["best_so_far"], [0.6, 0.6, 0.85, 0.85, 0.85, 0.85])
    assert progress["best_so_far"].is_monotonic_increasing


def test_summary_names_scores_and_params() -> None:
    cv = cv_metrics(_finished(), "roc_auc", "halving")
    text = summary_markdown(cv, {"roc_auc": 0.81, "baseline_score": 0.79}, "lightgbm", {"a": 2, "b": "x"})
    assert "best CV roc_auc: **0.80000** (trial 5, candidate 2)" in text
    assert "holdout roc_auc: **0.81000**" in text and "default parameters: 0.79000" in text
    assert "| a | 2 |" in text


def test_all_failed_message_quotes_the_first_error() -> None:
    failed = [Observation(Trial(i, i, {"a": i}, 10), (math.nan,), status="failed", error=f"ValueError: bad {i}")
              for i in range(3)]
    assert all_failed_message(failed) == (
        "all 3 trials at the largest budget (10) failed, so there is no winner; first error (trial 0 b0 r0): "
        "ValueError: bad 0. Check model.params and search.space against the model's documentation"
    )


def _cv_test(holdout: float, trial0: float = 0.78) -> tuple[dict, dict]:  # type: ignore[type-arg]
    cv = cv_metrics(_finished(), "roc_auc", "halving") | {"defaults_score": 0.75, "defaults_n_resources": 40}
    return cv, {"score": holdout, "roc_auc": holdout, "baseline_score": 0.8, "defaults_trial_score": trial0}


PARAMS = {"learning_rate": 0.126665493, "num_leaves": 152}


def test_summary_text_is_aligned_and_names_the_winner_and_the_defaults() -> None:
    cv, test = _cv_test(0.81)
    text = summary_text(cv, test, PARAMS, "n_estimators", ["metrics/", "models/model.joblib"])
    assert text.splitlines() == [
        "strategy         halving, 6 trials (1 failed)",
        "winner           trial 5 (candidate 2) at 8 boosting rounds",
        "                 learning_rate 0.127, num_leaves 152",
        "CV roc_auc       0.80000 (the defaults' trial 0.75000)",
        "holdout roc_auc  0.81000 (+0.01000 against the better baseline)",
        "baselines        the model's defaults 0.80000, the defaults' trial 0.78000 (the defaults at 40 boosting rounds)",
        "outputs          metrics/, models/model.joblib",
    ]


@pytest.mark.parametrize(("baseline", "trial0", "gain"), [(0.80, 0.78, "+0.01000"), (0.78, 0.805, "+0.00500")])
def test_what_tuning_bought_is_measured_against_the_better_baseline(baseline: float, trial0: float, gain: str) -> None:
    cv, test = _cv_test(0.81, trial0)
    text = summary_text(cv, test | {"baseline_score": baseline}, PARAMS, "n_estimators", [])
    assert f"0.81000 ({gain} against the better baseline)" in text


def test_summary_text_warns_when_the_defaults_do_as_well_on_the_holdout() -> None:
    cv, test = _cv_test(0.79)
    last = summary_text(cv, test, PARAMS, "n_estimators", []).splitlines()[-1]
    assert last.startswith("warning: the tuned model does not beat the better baseline on the holdout (-0.01000)")
    # The defaults' trial alone can be the better baseline.
    cv, test = _cv_test(0.805, trial0=0.81)
    assert "(-0.00500)" in summary_text(cv, test, PARAMS, "n_estimators", []).splitlines()[-1]


def test_leaderboard_leads_with_rank_score_and_budget_then_rounded_params() -> None:
    table = trials_table(_finished(), ["a", "b"])
    rows = leaderboard(table)
    assert list(rows[0]) == ["rank", "score", "budget", "best at", "trial", "a", "b", "status"]
    assert [(r["rank"], r["trial"], r["budget"]) for r in rows[:2]] == [(1, "5 b0 r1", 10), (2, "4 b0 r1", 10)]
    assert rows[0]["score"] == 0.8 and rows[-1]["score"] is None  # the failed trial last


def _obs(number: int, rung: int, auc: tuple[float, ...], loss: tuple[float, ...], status: str = "ok") -> Observation:
    return Observation(Trial(number, number, {"x": number}, 9 * 3**rung, rung=rung), auc, status=status,  # type: ignore[arg-type]
                       metrics={"neg_log_loss": loss})


def test_several_scorers_get_scikit_learns_multi_metric_columns() -> None:
    """A hand-made table: two folds, roc_auc decides, neg_log_loss is recorded."""
    observations = [
        _obs(0, 0, (0.8, 0.9), (-0.5, -0.3)),
        _obs(1, 0, (0.7, 0.7), (-0.2, -0.2)),
        _obs(2, 0, (0.9, float("nan")), (-0.1, float("nan")), status="pruned"),
        _obs(3, 1, (0.6, 0.6), (-0.9, -0.7)),
    ]
    table = trials_table(observations, ["x"], ["roc_auc", "neg_log_loss"], "roc_auc")
    expected = ["split0_test_roc_auc", "split1_test_roc_auc", "mean_test_roc_auc", "std_test_roc_auc", "rank_test_roc_auc",
                "split0_test_neg_log_loss", "split1_test_neg_log_loss", "mean_test_neg_log_loss",
                "std_test_neg_log_loss", "rank_test_neg_log_loss"]
    assert [c for c in table.columns if c.endswith(("roc_auc", "neg_log_loss"))] == expected
    # The refit metric's columns are the _score columns, as before.
    pd.testing.assert_series_equal(table["mean_test_roc_auc"], table["mean_test_score"], check_names=False)
    assert table["mean_test_neg_log_loss"].tolist()[:2] == pytest.approx([-0.4, -0.2])
    assert math.isnan(table["mean_test_neg_log_loss"][2])
    assert table["std_test_neg_log_loss"][0] == pytest.approx(0.1)
    # Ranks within a rung: by roc_auc 0 > 1 > (2, pruned); by neg_log_loss 1 > 0 > 2; rung 1 alone.
    assert table["rank_test_roc_auc"].tolist() == [1, 2, 3, 1] == table["rank_test_score"].tolist()
    assert table["rank_test_neg_log_loss"].tolist() == [2, 1, 3, 1]
    # One scorer: no per-scorer columns.
    assert not any(c.endswith("roc_auc") for c in trials_table(observations, ["x"], ["roc_auc"], "roc_auc").columns)


def test_cv_metrics_give_every_scorer_for_the_winner_and_the_defaults() -> None:
    defaults = Observation(Trial(0, -1, {}, 27, bracket=-1), (0.75, 0.75), metrics={"neg_log_loss": (-0.4, -0.6)})
    best = Observation(Trial(1, 0, {"x": 0}, 27), (0.8, 0.9), metrics={"neg_log_loss": (-0.5, -0.3)})
    cv = cv_metrics([defaults, best], "roc_auc", "tpe", ["neg_log_loss", "roc_auc"])
    assert cv["refit"] == "roc_auc" and cv["best_score"] == pytest.approx(0.85)
    assert cv["best_metrics"] == pytest.approx({"neg_log_loss": -0.4, "roc_auc": 0.85})
    assert list(cv["best_metrics"]) == ["neg_log_loss", "roc_auc"]  # as listed
    assert cv["defaults_metrics"] == pytest.approx({"neg_log_loss": -0.5, "roc_auc": 0.75})
    assert "best_metrics" not in cv_metrics([defaults, best], "roc_auc", "tpe", ["roc_auc"])

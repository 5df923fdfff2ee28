"""Output tables and metrics built from a finished strategy."""

from __future__ import annotations

import math

from tunepipe.report import all_failed_message, cv_metrics, summary_markdown, trials_table
from tunepipe.search import SuccessiveHalving, TrialResult


def _finished() -> SuccessiveHalving:
    strategy = SuccessiveHalving([{"a": i, "b": "x"} for i in range(4)], factor=2, min_resources=5, max_resources=10)
    batch = strategy.ask()
    scores = {0: (0.5, 0.7), 1: (math.nan, math.nan), 2: (0.9, 0.8), 3: (0.1, 0.2)}
    strategy.tell([TrialResult(c, scores[c.id], (1.0, 3.0), status="failed" if c.id == 1 else "ok",
                               error="ValueError: bad" if c.id == 1 else "") for c in batch])
    batch = strategy.ask()
    strategy.tell([TrialResult(c, (0.6, 0.6) if c.id == 0 else (0.7, 0.9), (2.0, 2.0), best_resources=8) for c in batch])
    return strategy


def test_trials_table_rows_ranks_and_columns() -> None:
    table = trials_table(_finished(), ["a", "b"])
    assert list(table.columns) == ["rung", "n_resources", "candidate", "param_a", "param_b", "split0_test_score",
                                   "split1_test_score", "best_n_resources", "mean_test_score", "std_test_score",
                                   "rank_test_score", "mean_fit_time", "mean_score_time", "status", "error"]
    rung0 = table[table["rung"] == 0].set_index("candidate")
    assert rung0["rank_test_score"].to_dict() == {0: 2, 1: 4, 2: 1, 3: 3}
    assert rung0.loc[1, "status"] == "failed" and rung0.loc[1, "error"] == "ValueError: bad"
    assert math.isnan(rung0.loc[1, "mean_test_score"]) and math.isnan(rung0.loc[1, "std_test_score"])
    assert math.isclose(rung0.loc[2, "mean_test_score"], 0.85) and math.isclose(rung0.loc[2, "std_test_score"], 0.05)
    assert rung0.loc[0, "mean_fit_time"] == 2.0
    rung1 = table[table["rung"] == 1].set_index("candidate")
    assert rung1["best_n_resources"].tolist() == [8, 8]
    assert rung0["best_n_resources"].tolist() == [5, 5, 5, 5]


def test_cv_metrics_describe_the_winner_and_the_search() -> None:
    cv = cv_metrics(_finished(), "roc_auc")
    assert cv == {
        "scoring": "roc_auc", "best_score": 0.8, "best_params": {"a": 2, "b": "x"}, "best_candidate": 2,
        "best_n_resources": 8, "n_candidates": [4, 2], "n_resources": [5, 10], "n_trials": 6, "n_failed": 1,
    }


def test_summary_names_scores_and_params() -> None:
    cv = cv_metrics(_finished(), "roc_auc")
    text = summary_markdown(cv, {"roc_auc": 0.81, "baseline_score": 0.79}, "lightgbm")
    assert "best CV roc_auc: **0.80000** (candidate c002)" in text
    assert "holdout roc_auc: **0.81000**" in text and "default parameters: 0.79000" in text
    assert "| a | 2 |" in text


def test_all_failed_message_quotes_the_first_error() -> None:
    strategy = _finished()
    results = strategy.rungs[0].results
    assert all_failed_message(results) == (
        "all 4 trials of the last rung failed, so there is no winner; first error (c001 r0): ValueError: bad. "
        "Check model.params and search.space against the model's documentation"
    )

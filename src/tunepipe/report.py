"""Turn search results into the output contract: trials table, CV metrics, summary text."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from tunepipe.search import Strategy, TrialResult, rank_order


def trials_table(strategy: Strategy, param_names: list[str]) -> pd.DataFrame:
    """One row per candidate per rung (``reports/trials.csv``).

    ``rank_test_score`` ranks within a rung (1 = best; failed trials rank last), because scores
    at different resource levels are not comparable.
    """
    rows: list[dict[str, Any]] = []
    for rung in strategy.rungs:
        ranks = {r.candidate.id: i + 1 for i, r in enumerate(rank_order(rung.results))}
        for r in rung.results:
            row: dict[str, Any] = {"rung": rung.index, "n_resources": rung.n_resources, "candidate": r.candidate.id}
            row |= {f"param_{name}": r.candidate.params.get(name) for name in param_names}
            row |= {f"split{k}_test_score": s for k, s in enumerate(r.fold_scores)}
            scores = np.asarray(r.fold_scores, dtype=float)
            row["best_n_resources"] = r.best_resources if r.best_resources is not None else rung.n_resources
            row["mean_test_score"] = r.mean_score
            row["std_test_score"] = float(scores.std()) if not math.isnan(r.mean_score) else math.nan
            row["rank_test_score"] = ranks[r.candidate.id]
            row["mean_fit_time"] = float(np.mean(r.fit_times)) if r.fit_times else math.nan
            row["mean_score_time"] = float(np.mean(r.score_times)) if r.score_times else math.nan
            row["status"] = r.status
            row["error"] = r.error
            rows.append(row)
    return pd.DataFrame(rows)


def cv_metrics(strategy: Strategy, scoring: str) -> dict[str, Any]:
    """``metrics/cv.json``: the winner and the shape of the search.

    ``best_n_resources`` is the resource the winner was scored and refit at (its best number of
    boosting rounds when trials score below their budget, else the last rung's resource).
    """
    best = strategy.best
    results = [r for rung in strategy.rungs for r in rung.results]
    return {
        "scoring": scoring,
        "best_score": best.mean_score,
        "best_params": best.candidate.params,
        "best_candidate": best.candidate.id,
        "best_n_resources": best.best_resources or best.candidate.n_resources,
        "n_candidates": strategy.n_candidates,
        "n_resources": strategy.n_resources,
        "n_trials": len(results),
        "n_failed": sum(r.status == "failed" for r in results),
    }


def all_failed_message(results: list[TrialResult]) -> str:
    """The error for a search in which no trial produced a score."""
    first = next((r for r in results if r.error), None)
    detail = f"; first error ({first.candidate.label}): {first.error}" if first else ""
    return (
        f"all {len(results)} trials of the last rung failed, so there is no winner{detail}. "
        "Check model.params and search.space against the model's documentation"
    )


def summary_markdown(cv: dict[str, Any], test: dict[str, float], model_kind: str) -> str:
    """A short human summary of the run (Prefect markdown artifact)."""
    scoring = cv["scoring"]
    lines = [
        f"# tunepipe: {model_kind}",
        "",
        f"- best CV {scoring}: **{cv['best_score']:.5f}** (candidate c{cv['best_candidate']:03d})",
        f"- holdout {scoring}: **{test[scoring]:.5f}**",
    ]
    if "baseline_score" in test:
        lines.append(f"- holdout {scoring} with the model's default parameters: {test['baseline_score']:.5f}")
    lines += [
        f"- trials: {cv['n_trials']} ({cv['n_failed']} failed); candidates per rung {cv['n_candidates']}, "
        f"resources per rung {cv['n_resources']}",
        "",
        "| parameter | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in cv["best_params"].items()),
    ]
    return "\n".join(lines)


def progress_table(trials: pd.DataFrame) -> pd.DataFrame:
    """``reports/progress.csv``: the best mean CV score so far against trials, in evaluation order.

    Trials are in the order the search ran them (rung by rung, candidates by id within a rung), so
    the curve shows how much each extra trial bought. Failed trials keep the previous best.
    """
    ordered = trials.sort_values(["rung", "candidate"], kind="stable").reset_index(drop=True)
    return pd.DataFrame({
        "trial": np.arange(1, len(ordered) + 1),
        "rung": ordered["rung"],
        "n_resources": ordered["n_resources"],
        "score": ordered["mean_test_score"],
        "best_so_far": ordered["mean_test_score"].cummax(),
    })

"""Turn a search's observations into the output contract: trials table, CV metrics, progress, summary.

Timings are execution facts and never written here (they would change a DVC-tracked output's
hash at every run); io writes floats at fixed precision (:mod:`tunepipe.precision`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tunepipe.results import Observation, rank_order, winner
from tunepipe.space import KIND

def trials_table(
    observations: Sequence[Observation], param_names: list[str], metrics: Sequence[str] = (), refit: str | None = None
) -> pd.DataFrame:
    """One row per trial, in trial-number order (``reports/trials.csv``).

    ``rank_test_score`` ranks within a rung of a bracket (1 = best; failed and pruned trials rank
    last), because scores at different budgets are not comparable. With population-based training
    (a row per member per step: ``candidate`` is the member, ``rung`` the step) ``parent`` names the
    member whose trees it took over before the step, and the ``param_`` columns hold the parameters
    in force during the step. With several model kinds, ``kind`` names each trial's, and a
    ``param_`` column is empty where the kind has no such hyperparameter.

    With several scorers (``metrics``, ``refit`` the one that decides), every one has the columns
    of scikit-learn's multi-metric ``cv_results_``: ``split<k>_test_<name>``, ``mean_test_<name>``,
    ``std_test_<name>``, ``rank_test_<name>`` (ranked as ``rank_test_score``); the ``_score``
    columns stay the refit metric's, which the progress table, the plots and every decision read.
    """
    ranks: dict[int, int] = {}
    for group in _by_rung(observations).values():
        ranks |= {o.trial.number: i + 1 for i, o in enumerate(rank_order(group))}
    rows: list[dict[str, Any]] = []
    scheduled = any(o.trial.schedule is not None for o in observations)
    for o in sorted(observations, key=lambda o: o.trial.number):
        t = o.trial
        row: dict[str, Any] = {
            "trial": t.number, "candidate": t.candidate, "bracket": t.bracket, "rung": t.rung, "n_resources": t.budget,
            "proposed_by": t.proposed_by,
        }
        if scheduled:
            row["parent"] = t.parent
        if KIND in param_names:
            row["kind"] = t.params.get(KIND)
        row |= {f"param_{name}": t.params.get(name) for name in param_names if name != KIND}
        row |= {f"split{k}_test_score": s for k, s in enumerate(o.fold_scores)}
        scores = np.asarray(o.fold_scores, dtype=float)
        row["best_n_resources"] = o.scored_budget
        row["mean_test_score"] = o.mean_score
        row["std_test_score"] = float(scores.std()) if not math.isnan(o.mean_score) else math.nan
        row["rank_test_score"] = ranks[t.number]
        for name in metrics if len(metrics) > 1 else ():
            folds = o.fold_scores if name == refit else o.metrics.get(name, (math.nan,) * len(o.fold_scores))
            row |= {f"split{k}_test_{name}": s for k, s in enumerate(folds)}
            mean = _mean(folds)
            row[f"mean_test_{name}"] = mean
            row[f"std_test_{name}"] = float(np.std(folds)) if not math.isnan(mean) else math.nan
        row["status"] = o.status
        row["error"] = o.error
        rows.append(row)
    table = pd.DataFrame(rows)
    for name in metrics if len(metrics) > 1 else ():
        # Within a rung of a bracket, as rank_test_score: NaN last, ties to the lower trial number.
        keys = table.assign(_m=table[f"mean_test_{name}"].fillna(-np.inf))
        ranked = keys.sort_values(["bracket", "rung", "_m", "trial"], ascending=[True, True, False, True], kind="stable")
        ranked["_r"] = ranked.groupby(["bracket", "rung"]).cumcount() + 1
        table.insert(table.columns.get_loc(f"std_test_{name}") + 1, f"rank_test_{name}", ranked["_r"].reindex(table.index))
    if scheduled:
        table["parent"] = table["parent"].astype("Int64")  # member numbers, empty where none
    return table


def _by_rung(observations: Sequence[Observation]) -> dict[tuple[int, int], list[Observation]]:
    groups: dict[tuple[int, int], list[Observation]] = {}
    for o in observations:
        groups.setdefault((o.trial.bracket, o.trial.rung), []).append(o)
    return groups


def cv_metrics(
    observations: Sequence[Observation], scoring: str, strategy: str, metrics: Sequence[str] = ()
) -> dict[str, Any]:
    """``metrics/cv.json``: the winner and the shape of the search.

    ``best_n_resources`` is the budget the winner's CV score belongs to (its best number of
    boosting rounds when trials score below their budget). ``defaults_score`` is the CV score of
    the model's default configuration (trial 0; with several model kinds, the best kind's).
    ``n_candidates`` / ``n_resources`` list the strategy's trials and budgets per rung; with several
    brackets, ``brackets`` gives them per bracket. With several model kinds, ``best_by_kind`` is
    each kind's best score at the largest budget it reached (:func:`best_by_kind`). With several
    scorers (``metrics``; ``scoring`` is the refit one), ``best_metrics`` and ``defaults_metrics``
    give every one's mean CV score for the winner and the defaults' trial.
    """
    best = winner(observations)
    groups = _by_rung([o for o in observations if not o.trial.is_defaults])
    brackets = sorted({b for b, _ in groups}, reverse=True)
    out: dict[str, Any] = {
        "strategy": strategy,
        "scoring": scoring,
        "best_score": best.mean_score,
        "best_candidate": best.trial.candidate,
        "best_trial": best.trial.number,
        "best_n_resources": best.scored_budget,
    }
    defaults = next(iter(rank_order([o for o in observations if o.trial.is_defaults])), None)
    if defaults is not None:
        out["defaults_score"] = defaults.mean_score
        out["defaults_n_resources"] = defaults.scored_budget
    if len(brackets) == 1:
        (bracket,) = brackets
        rungs = sorted(r for b, r in groups if b == bracket)
        out["n_candidates"] = [len(groups[bracket, r]) for r in rungs]
        out["n_resources"] = [groups[bracket, r][0].trial.budget for r in rungs]
    else:
        out["brackets"] = {
            str(b): {
                "n_candidates": [len(groups[b, r]) for r in sorted(r for bb, r in groups if bb == b)],
                "n_resources": [groups[b, r][0].trial.budget for r in sorted(r for bb, r in groups if bb == b)],
            }
            for b in brackets
        }
    if len(metrics) > 1:
        out["refit"] = scoring
        out["best_metrics"] = metric_means(best, metrics, scoring)
        if defaults is not None:
            out["defaults_metrics"] = metric_means(defaults, metrics, scoring)
    by_kind = best_by_kind(observations)
    if by_kind:
        out["best_by_kind"] = {kind: o.mean_score for kind, o in by_kind.items()}
    out["n_trials"] = len(observations)
    out["n_failed"] = sum(o.status == "failed" for o in observations)
    out["n_pruned"] = sum(o.status == "pruned" for o in observations)
    out["n_model_proposed"] = model_proposed(observations)
    return out


def metric_means(o: Observation, metrics: Sequence[str], refit: str) -> dict[str, float]:
    """Every scorer's mean over the folds of ``o`` (NaN if any fold has none), in ``metrics``' order."""
    return {name: _mean(o.fold_scores if name == refit else o.metrics.get(name, (math.nan,))) for name in metrics}


def _mean(scores: Sequence[float]) -> float:
    """Mean over folds; NaN if any fold is NaN (as :attr:`Observation.mean_score`)."""
    values = np.asarray(scores, dtype=float)
    return float(values.mean()) if values.size and not np.isnan(values).any() else math.nan


def best_by_kind(observations: Sequence[Observation]) -> dict[str, Observation]:
    """With several model kinds, each kind's winner (its best at the largest budget any of its
    trials reached), in the order the kinds first appear; empty for a search over one kind."""
    kinds: dict[str, list[Observation]] = {}
    for o in sorted(observations, key=lambda o: o.trial.number):
        if KIND in o.trial.params:
            kinds.setdefault(o.trial.params[KIND], []).append(o)
    return {kind: winner(group) for kind, group in kinds.items()}


def model_proposed(observations: Sequence[Observation]) -> int:
    """How many configurations a model (TPE) proposed, rather than a random or grid draw."""
    return len({o.trial.candidate for o in observations if o.trial.proposed_by not in ("random", "grid", "defaults")})


def all_failed_message(observations: Sequence[Observation]) -> str:
    """The error for a search in which no trial at the largest budget produced a score."""
    top = max(o.trial.budget for o in observations)
    last = [o for o in observations if o.trial.budget == top]
    first = next((o for o in last if o.error), None)
    detail = f"; first error ({first.trial.label}): {first.error}" if first else ""
    return (
        f"all {len(last)} trials at the largest budget ({top}) failed, so there is no winner{detail}. "
        "Check model.params and search.space against the model's documentation"
    )


def summary_markdown(cv: dict[str, Any], test: dict[str, float], model_kind: str, params: dict[str, Any]) -> str:
    """A short human summary of the run (Prefect markdown artifact)."""
    scoring = cv["scoring"]
    lines = [
        f"# tunepipe: {model_kind}, {cv.get('strategy', '')}",
        "",
        f"- best CV {scoring}: **{cv['best_score']:.5f}** (trial {cv.get('best_trial', '?')}, "
        f"candidate {cv['best_candidate']})",
        f"- holdout {scoring}: **{test[scoring]:.5f}**",
    ]
    if "baseline_score" in test:
        lines.append(f"- holdout {scoring} with the model's default parameters: {test['baseline_score']:.5f}")
    if "defaults_trial_score" in test:
        lines.append(f"- holdout {scoring} of the defaults' trial (its early-stopped round count): "
                     f"{test['defaults_trial_score']:.5f}")
    lines += [
        f"- trials: {cv['n_trials']} ({cv['n_failed']} failed)",
        "",
        "| parameter | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in params.items()),
    ]
    return "\n".join(lines)


def progress_table(trials: pd.DataFrame) -> pd.DataFrame:
    """``reports/progress.csv``: the best mean CV score so far against trials, in trial-number order.

    ``best_so_far`` is the running best of every scored trial (with best-iteration scoring each
    score is that of a real model: the configuration at its best round count), so it never falls
    and shows how much each extra trial bought. Failed trials keep the previous best.
    """
    ordered = trials.sort_values("trial", kind="stable").reset_index(drop=True)
    return pd.DataFrame({
        "trial": ordered["trial"],
        "bracket": ordered["bracket"],
        "rung": ordered["rung"],
        "n_resources": ordered["n_resources"],
        "score": ordered["mean_test_score"],
        "best_so_far": ordered["mean_test_score"].cummax().ffill(),
    })


def _short(value: Any) -> str:
    """A parameter value for people: floats to 3 significant digits."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def summary_text(
    cv: dict[str, Any], test: dict[str, Any], params: dict[str, Any], resource: str, outputs: list[str]
) -> str:
    """The end of a run in a few aligned lines: what ran, what won, how it scored against the defaults.

    ``cv`` and ``test`` are ``metrics/cv.json`` and ``metrics/test.json``, ``params`` the winner's
    (``models/winner.json``); ``outputs`` the files to point to. A tuned model that does not beat
    the defaults on the holdout gets a warning line.
    """
    scoring = cv["scoring"]
    shown = ", ".join(f"{k} {_short(v)}" for k, v in params.items())
    unit = "boosting rounds" if resource == "n_estimators" else "training rows"
    who = "the defaults" if cv["best_candidate"] < 0 else f"candidate {cv['best_candidate']}"
    cv_line = f"{cv['best_score']:.5f}"
    if "defaults_score" in cv:
        cv_line += f" (the defaults' trial {cv['defaults_score']:.5f})"
    trial0 = test.get("defaults_trial_score")
    # What tuning bought: against the better of the model's defaults and the defaults' trial.
    better = max(test["baseline_score"], trial0) if trial0 is not None else test["baseline_score"]
    gain = test["score"] - better
    baselines = f"the model's defaults {test['baseline_score']:.5f}"
    if trial0 is not None:
        baselines += f", the defaults' trial {trial0:.5f}"
        if "defaults_n_resources" in cv:
            baselines += f" (the defaults at {cv['defaults_n_resources']} {unit})"
    rows = [
        ("strategy", f"{cv['strategy']}, {cv['n_trials']} trials ({cv['n_failed']} failed"
                     + (f", {cv['n_pruned']} stopped by racing)" if cv.get("n_pruned") else ")")),
        ("winner", f"trial {cv['best_trial']} ({who}) at {cv['best_n_resources']} {unit}"),
        ("", shown),
        (f"CV {scoring}", cv_line),
        (f"holdout {scoring}", f"{test['score']:.5f} ({gain:+.5f} against the better baseline)"),
        ("baselines", baselines),
    ]
    if "best_by_kind" in cv:
        rows.insert(3, ("by kind", ", ".join(f"{k} {v:.5f}" for k, v in cv["best_by_kind"].items())))
    if "best_metrics" in cv:
        # Every scorer for the winner, in CV and on the holdout, and for the two baselines.
        def line(values: dict[str, float]) -> str:
            return ", ".join(f"{k} {v:.5f}" for k, v in values.items())

        at = next(i for i, (k, _) in enumerate(rows) if k == "baselines") + 1
        rows[at:at] = [
            ("CV metrics", line(cv["best_metrics"]) + (f" (the defaults' trial: {line(cv['defaults_metrics'])})"
                                                         if "defaults_metrics" in cv else "")),
            ("holdout metrics", line({m: test[m] for m in cv["best_metrics"] if m in test})),
        ]
        if "baseline_metrics" in test:
            rows.insert(at + 2, ("", f"the model's defaults: {line(test['baseline_metrics'])}; "
                                     f"the defaults' trial: {line(test['defaults_trial_metrics'])}"))
    if outputs:
        rows.append(("outputs", ", ".join(outputs)))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    if gain <= 0:
        lines.append(
            f"warning: the tuned model does not beat the better baseline on the holdout ({gain:+.5f}); "
            "models/baseline.joblib and models/defaults_trial.joblib hold them, refit on the same rows"
        )
    return "\n".join(lines)


def leaderboard(trials: pd.DataFrame, n: int = 50) -> list[dict[str, Any]]:
    """The best trials for people (the Prefect UI's table): rank, score, budget, then the tuned
    parameters rounded; largest budget first, since scores at smaller budgets are not comparable.
    With several model kinds, each kind's best trial is on it (after the top ``n`` if not among them)."""
    params = [c for c in trials.columns if c.startswith("param_")]
    ordered = trials.sort_values(["n_resources", "mean_test_score", "trial"], ascending=[False, False, True],
                                 na_position="last")
    top = ordered.head(n)
    if "kind" in trials:
        firsts = ordered.drop_duplicates("kind")
        ordered = pd.concat([top, firsts[~firsts["trial"].isin(top["trial"])]])
    else:
        ordered = top
    rows = []
    for rank, (_, t) in enumerate(ordered.iterrows(), start=1):
        score = t["mean_test_score"]
        row: dict[str, Any] = {
            "rank": rank,
            "score": None if pd.isna(score) else round(float(score), 5),
            "budget": int(t["n_resources"]),
            "best at": int(t["best_n_resources"]),
            "trial": "defaults" if t["candidate"] < 0 else f"{int(t['trial'])} b{int(t['bracket'])} r{int(t['rung'])}",
        }
        if "kind" in t:
            row["kind"] = t["kind"]
        row |= {c.removeprefix("param_"): None if pd.isna(t[c]) else _short(t[c]) for c in params}
        row["status"] = t["status"]
        rows.append(row)
    return rows


def run_markdown(
    cv: dict[str, Any], test: dict[str, Any], params: dict[str, Any], resource: str, top: list[dict[str, Any]]
) -> str:
    """The parent flow run's artifact: the summary, then the top of the leaderboard."""
    lines = ["# tunepipe", "", "```", summary_text(cv, test, params, resource, []), "```"]
    if top:
        lines += ["", "| " + " | ".join(top[0]) + " |", "|" + "---|" * len(top[0])]
        lines += ["| " + " | ".join("" if v is None else str(v) for v in row.values()) + " |" for row in top]
    return "\n".join(lines)


def timings_table(observations: Sequence[Observation]) -> pd.DataFrame:
    """Seconds each trial's folds took (fitting and scoring every round), in trial-number order."""
    return pd.DataFrame([
        {"trial": o.trial.number, "status": o.status, "folds_run": len(o.fit_times),
         "fit_seconds": float(sum(o.fit_times)), "score_seconds": float(sum(o.score_times))}
        for o in sorted(observations, key=lambda o: o.trial.number)
    ])

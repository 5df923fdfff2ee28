"""The tune stage's ask / tell loop over a runner whose trials finish in any order."""

from __future__ import annotations

from collections.abc import Hashable

from tests.search.conftest import fresh, observe
from tunepipe.results import Observation, Trial
from tunepipe.search.schedulers import SuccessiveHalving
from tunepipe.tuning import Progress, run_search, winner_record


class LastFirst:
    """A runner whose most recently started trial always finishes first (the worst order for a
    loop that told observations as they arrive)."""

    def __init__(self, score: dict[int, float]) -> None:
        self.score = score
        self.started: list[int] = []

    def submit(self, trial: Trial) -> Hashable:
        self.started.append(trial.number)
        return trial.number

    def next_finished(self, handles: list[Hashable]) -> Hashable:
        return max(handles)

    def observation(self, handle: Hashable, trial: Trial) -> Observation:
        return observe(trial, self.score[trial.candidate])


def _run(order_runner: LastFirst, window: int | None, cached: dict[int, float] | None = None) -> list[Observation]:
    search = fresh(SuccessiveHalving(9, factor=3, min_resources=1, max_resources=9), window=window)
    lines: list[str] = []
    progress = Progress(search.n_trials_planned, lines.append)
    run_search(search, order_runner, progress, cached=lambda t: observe(t, cached[t.candidate])
               if cached and t.candidate in cached else None)
    assert progress.done == len(search.observations) and lines[-1].startswith(f"{progress.done}/")
    return search.observations


SCORES = {c: (c * 5 % 9) / 9 for c in range(9)}  # candidate 7 best (0.89), then 5, then 3


def test_completion_order_and_the_cache_change_nothing() -> None:
    in_order = _run(LastFirst(SCORES), window=1)
    reversed_ = _run(LastFirst(SCORES), window=None)
    from_cache = _run(LastFirst(SCORES), window=None, cached={c: SCORES[c] for c in range(0, 9, 2)})
    key = [(o.trial.number, o.trial.candidate, o.trial.budget, o.mean_score) for o in in_order]
    assert [(o.trial.number, o.trial.candidate, o.trial.budget, o.mean_score) for o in reversed_] == key
    assert [(o.trial.number, o.trial.candidate, o.trial.budget, o.mean_score) for o in from_cache] == key
    # Halving 9 -> 3 -> 1 at budgets 1, 3, 9: the best candidate, 7, is the one at the top.
    assert [o.trial.candidate for o in in_order if o.trial.budget == 9] == [7]


def test_the_winner_record_names_the_best_at_the_largest_budget() -> None:
    search = fresh(SuccessiveHalving(9, factor=3, min_resources=1, max_resources=9), window=None)
    run_search(search, LastFirst(SCORES), Progress(search.n_trials_planned, lambda line: None), cached=lambda t: None)
    winner = winner_record(search, "n_samples")
    assert (winner["candidate"], winner["n_resources"]) == (7, None) and "defaults_trial" not in winner

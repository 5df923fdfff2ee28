"""Scoring LightGBM: one configuration's boosters on a fold set, advanced in step, scored every round.

With a race, the folds of its first stage train first (in step, with early stopping on their own
mean); then each later stage's folds are brought to the same round count, and after every stage
the race decides whether the trial stops there. One that goes on continues exactly as an unraced
trial: where it stops and what it scores do not depend on the race.

With early stopping and a ``trial.ceiling``, a trial still improving at its budget goes on
boosting until early stopping stops it or the ceiling is reached.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from tunepipe import lgbm
from tunepipe.results import Observation, Trial
from tunepipe.scoring.env import TrialEnv
from tunepipe.scoring.spec import TrialSetup, lineage_key
from tunepipe.scoring.stages import pruned, stages


class BoostedFolds:
    """The boosters of one trial on its folds (created on first use), and the rounds they train.

    Attributes:
        rounds: The most rounds a fold trains (the budget, or the ceiling with early stopping).
        resumed: Rounds every fold already has, taken over from live boosters of a smaller budget.
    """

    def __init__(
        self, trial: Trial, X: pd.DataFrame, y: pd.Series, folds: list[tuple[np.ndarray, np.ndarray]],
        setup: TrialSetup, env: TrialEnv,
    ) -> None:
        spec = setup.spec
        self.trial, self.X, self.y, self.folds, self.setup, self.env = trial, X, y, folds, setup, env
        # A schedule (population-based training) trains exactly its budget and is scored there:
        # members are compared at the same round count at every step.
        scheduled = trial.schedule is not None
        self.estimator = setup.estimator(trial.params, trial.budget)
        by_rounds = spec.resource == "n_estimators"
        self.rounds = trial.budget if by_rounds else int(self.estimator.get_params()["n_estimators"])
        if by_rounds and spec.early_stopping is not None and trial.ceiling is not None and not scheduled:
            # Early stopping decides where the trial ends; its checks fall where they would with a
            # budget of `ceiling`, so the scores are those of a trial asked at the ceiling.
            self.rounds = max(self.rounds, trial.ceiling)
        self.key = lgbm.dataset_params(self.estimator.get_params())
        self.patience = None if scheduled else spec.early_stopping
        self.best_iteration = spec.score_best_iteration and by_rounds and not scheduled
        self.boosters: list[lgbm.LiveBooster | None] = [None] * len(folds)
        self.seconds = [0.0] * len(folds)
        # Continued boosting: the same configuration's boosters of an earlier (smaller) budget.
        live = setup.run.continue_boosting and env.live is not None
        self.lineage = lineage_key(trial.params, setup, trial.schedule) if live else ""
        self.resumed = 0

    def resume(self) -> None:
        """Take over the live boosters of this configuration's smaller budget, if every fold has one."""
        assert self.env.live is not None
        live = [self.env.live.take((self.lineage, i)) for i in range(len(self.folds))]
        counts = {b.rounds for b in live if b is not None}
        # Only boosters of one round count on every fold, not past this budget, can go on (a
        # fold evicted from the store, or a longer run of another search: start over).
        if None not in live and len(counts) == 1 and 0 < min(counts) <= self.rounds:
            self.boosters, self.resumed = live, min(counts)

    def keep(self) -> None:
        """Hand every fold's booster to the live store, for a larger budget of this configuration
        (or, for a schedule, for a member that copies this one's trees)."""
        assert self.env.live is not None
        for i, booster in enumerate(self.boosters):
            assert booster is not None
            self.env.live.put((self.lineage, i), booster)

    def advance(self, ids: list[int], to_rounds: int) -> None:
        """Bring folds ``ids`` to ``to_rounds`` rounds (on the environment's fold workers)."""

        def one(i: int) -> None:
            t0 = time.perf_counter()
            booster = self.boosters[i]
            if booster is None:
                booster = self.boosters[i] = self.new_booster(i)
            booster.advance(to_rounds)
            self.seconds[i] += time.perf_counter() - t0

        self.env.map_folds(lambda j: one(ids[j]), len(ids), self.setup.run.threads)

    def new_booster(self, i: int) -> lgbm.LiveBooster:
        """Fold ``i``'s booster at round 0, or, for a schedule, at the start of its last segment."""
        fold = self.env.binned_fold(self.setup, i, self.X, self.y, *self.folds[i], self.key)
        scoring, others = self.setup.spec.scoring, self.setup.spec.metrics
        if not self.trial.schedule:
            return lgbm.LiveBooster(fold, self.estimator, scoring, others=others)
        rows = self.env.fold_data(self.setup, i, self.X, self.y, *self.folds[i])
        start = self.start_of_last_segment(i, fold, (rows.X_train, rows.X_test))
        return lgbm.LiveBooster(fold, self.estimator, scoring, start=start, rows=(rows.X_train, rows.X_test), others=others)

    def start_of_last_segment(
        self, i: int, fold: lgbm.BinnedFold, rows: tuple[pd.DataFrame, pd.DataFrame]
    ) -> lgbm.Snapshot:
        """The trees the last segment of the schedule starts from on fold ``i``: a snapshot of
        the copied member's booster at that round (exploit: a copy, no retraining; the member may
        have gone on since, its first trees stay), or, when this process does not hold that
        booster (another process ran it, a resumed run), the earlier segments replayed from round
        0, each new segment continuing the trees before it as the refit does."""
        schedule = self.trial.schedule
        assert schedule
        rounds = sum(s.rounds for s in schedule)
        if self.env.live is not None and self.lineage:
            parent = self.env.live.peek((lineage_key(schedule[-1].params, self.setup, schedule[:-1]), i))
            if parent is not None and parent.rounds >= rounds:
                return parent.snapshot(rounds)
        scoring = self.setup.spec.scoring
        booster = lgbm.LiveBooster(fold, self.setup.estimator(schedule[0].params), scoring)
        booster.advance(schedule[0].rounds)
        for segment in schedule[1:]:
            booster = lgbm.LiveBooster(
                fold, self.setup.estimator(segment.params), scoring, start=booster.snapshot(), rows=rows
            )
            booster.advance(booster.rounds - 1 + segment.rounds)
        return booster.snapshot()

    def train(self, ids: list[int], done: int) -> int:
        """Advance folds ``ids`` in step from ``done`` rounds until early stopping or the budget.

        In step: every fold reaches the same round count before the mean curve is looked at, so
        where a trial stops depends only on its scores. The curve is looked at after rounds
        patience, 2 x patience, ... and the budget, whatever ``done`` it starts from (a promoted
        trial going on from its boosters stops where a fresh one would)."""
        patience = self.patience
        while done < self.rounds:
            done = self.rounds if patience is None else min(self.rounds, (done // patience + 1) * patience)
            self.advance(ids, done)
            if patience is not None and done - best_round([self.boosters[i] for i in ids], done)[0] >= patience:
                break
        return done

    def stopped(self, trained: int) -> int | None:
        """Where every fold trained in step from round 0 would have stopped by ``trained`` (None: not yet)."""
        return first_stop(self.boosters, trained, self.patience, self.rounds)

    def metrics_at(self, ids: list[int], best: int | None, done: int) -> dict[str, tuple[float, ...]]:
        """The other scorers (``spec.metrics``) of folds ``ids`` at the round their scores are
        taken at (``best``, else ``done``): those LightGBM computes natively as recorded every
        round, the others once on the fold's validation predictions at that round, as the refit's
        wrapper with that many rounds predicts them."""
        names = self.setup.spec.metrics
        if not names:
            return {}
        at = best if best is not None else done
        table = []
        for i in ids:
            booster = self.boosters[i]
            assert booster is not None
            rows = self.env.fold_data(self.setup, i, self.X, self.y, *self.folds[i])
            table.append(booster.scores_at(names, rows.X_test, at))
        return {name: tuple(row[j] for row in table) for j, name in enumerate(names)}

    def scores_at(self, ids: list[int], done: int) -> tuple[int | None, tuple[float, ...]]:
        """The round the folds ``ids`` are scored at (None: the budget) and their scores there."""
        chosen = [self.boosters[i] for i in ids]
        if self.best_iteration:
            return best_round(chosen, done)
        # Scored where training ended: that is the round count a refit needs (None: the budget).
        at = done if self.setup.spec.resource == "n_estimators" and done != self.trial.budget else None
        return at, tuple(float(b.curve[done - 1]) for b in chosen if b is not None)


def score_boosted(
    trial: Trial, X: pd.DataFrame, y: pd.Series, folds: list[tuple[np.ndarray, np.ndarray]],
    setup: TrialSetup, env: TrialEnv,
) -> Observation:
    """``trial``'s scores on every fold, at its best round with best-iteration scoring (the first
    stages only, if its race stops it)."""
    run = BoostedFolds(trial, X, y, folds, setup, env)
    every = list(range(len(folds)))
    parts = stages(trial, len(folds))
    if run.lineage and trial.race is None:
        run.resume()
    if len(parts) == 1 and run.resumed:
        # Going on from a smaller budget: where a fresh trial would have stopped by now, if it
        # would have, is in the curves already; else only the extra rounds are trained.
        stopped = run.stopped(run.resumed)
        done = stopped if stopped is not None else run.train(every, run.resumed)
    elif len(parts) == 1:
        done = run.train(every, 0)
    else:
        done = run.train(list(parts[0]), 0)
        for stage in parts[1:]:
            best, scores = run.scores_at(list(range(stage.start)), done)
            assert trial.race is not None
            if trial.race.loses(scores):
                ran = list(range(stage.start))
                return pruned(trial, scores, len(folds), best, run.seconds, run.metrics_at(ran, best, done))
            run.advance(list(stage), done)
        stopped = run.stopped(done)
        done = stopped if stopped is not None else run.train(every, done)
    best, scores = run.scores_at(every, done)
    # Before the boosters go to the live store: once there, another trial may take them over.
    metrics = run.metrics_at(every, best, done)
    if run.lineage:
        run.keep()
    return Observation(trial, scores, best_budget=best, fit_times=tuple(run.seconds), metrics=metrics)


def first_stop(boosters: list[Any], trained: int, patience: int | None, rounds: int) -> int | None:
    """Where training every fold in step from round 0 would have stopped, if it stops by ``trained``
    (None: it would go on). Its checks fall at patience, 2 x patience, ... and the budget."""
    if patience is None:
        return rounds if trained >= rounds else None
    checks = list(range(patience, trained + 1, patience)) + ([rounds] if trained >= rounds else [])
    for check in checks:
        if check >= rounds or check - best_round(boosters, check)[0] >= patience:
            return min(check, rounds)
    return None


def best_round(boosters: list[Any], rounds: int) -> tuple[int, tuple[float, ...]]:
    """The round (1..rounds) with the best mean validation score, and the folds' scores there.

    Rounds not scored on every fold are skipped, and so, for a scorer not computed every round,
    are rounds off :func:`lgbm.on_grid` (the last round of an advance is scored too, but which
    rounds end an advance depends on the path); of equal means the fewest rounds win; an all-NaN
    curve (every fold failed to score) keeps the last round.
    """
    table = np.vstack([b.curve[:rounds] for b in boosters])  # folds x rounds
    if not all(b.metric.every_round for b in boosters):
        table[:, [not lgbm.on_grid(r) for r in range(1, table.shape[1] + 1)]] = np.nan
    mean = table.mean(axis=0)
    best = int(np.nanargmax(mean)) if not np.isnan(mean).all() else rounds - 1
    return best + 1, tuple(float(v) for v in table[:, best])

"""One trial on its folds -> an observation (pure): what decides its scores, and how they are computed.

=============  ==============================================================================
module         its one question
=============  ==============================================================================
spec.py        what decides a trial's scores (TrialSpec, one digest) vs how it runs (RunOptions)
trial.py       where a trial is scored: ``score_trial`` (subsampling, failures, NaN scores)
fitted.py      any scikit-learn estimator, fold by fold
boosted.py     LightGBM: boosters on a fold set in step, early stopping, best round
stages.py      folds in stages for a race; a trial stopped between them
folds.py       a fold subsampled, preprocessed, binned
env.py         what scoring asks of the process (fold workers, caches, live boosters)
refit.py       the winner's one fit on every training row
=============  ==============================================================================
"""

from __future__ import annotations

from tunepipe.scoring.env import SequentialEnv, TrialEnv
from tunepipe.scoring.refit import refit, refit_budget, refit_schedule
from tunepipe.scoring.spec import RunOptions, TrialSetup, TrialSpec, frozen_params, lineage_key, make_setup
from tunepipe.scoring.trial import score_trial

__all__ = [
    "RunOptions",
    "SequentialEnv",
    "TrialEnv",
    "TrialSetup",
    "TrialSpec",
    "frozen_params",
    "lineage_key",
    "make_setup",
    "refit",
    "refit_budget",
    "refit_schedule",
    "score_trial",
]

"""The train stage: refit the search's winner, and the model's defaults as a baseline, on all training rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sklearn.pipeline import Pipeline

from tunepipe import io, provenance, scoring
from tunepipe.config import Config
from tunepipe.data import Prepared
from tunepipe.results import Segment
from tunepipe.space import KIND
from tunepipe.threads import available_cores


@task(name="refit", task_run_name="refit {label}", cache_policy=NO_CACHE, retries=1)
def refit(split: Prepared, setup: scoring.TrialSetup, params: dict[str, Any], n_resources: int | None, label: str) -> Pipeline:
    """Fit a parameter set on the whole training set."""
    return scoring.refit(setup, params, split.X_train, split.y_train, n_resources)


@task(name="refit", task_run_name="refit {label}", cache_policy=NO_CACHE, retries=1)
def refit_schedule(split: Prepared, setup: scoring.TrialSetup, segments: list[Segment], label: str) -> Pipeline:
    """Replay a schedule (strategy pbt's winner) on the whole training set."""
    return scoring.refit_schedule(setup, segments, split.X_train, split.y_train)


@flow(name="tunepipe-train")
def train(cfg: Config, root: str = ".") -> dict[str, list[str]]:
    """Write ``models/model.joblib`` (the winner), ``models/baseline.joblib`` (the model's defaults) and
    ``models/defaults_trial.joblib`` (the defaults at the round count their trial early-stopped at)."""
    ref = io.read_split_ref(root)
    winner = io.read_json(root, io.WINNER_JSON, "tune")
    # The final fits are single tasks, one after the other: give each every core.
    split = io.read_split(ref)
    setup = scoring.make_setup(cfg, split, threads=available_cores())
    if winner.get("schedule"):
        segments = [Segment(s["rounds"], s["params"]) for s in winner["schedule"]]
        model = refit_schedule(split, setup, segments, label=winner["label"])
    else:
        model = refit(split, setup, winner["params"], winner["n_resources"], label=winner["label"])
    # Without a defaults' trial in the search (include_defaults: false) it is the plain defaults.
    trial0 = winner.get("defaults_trial") or {"params": {}, "n_resources": None}
    # With several kinds: the plain defaults of the kind whose defaults' trial scored best in CV
    # (of the winner's kind without defaults' trials).
    kind = trial0["params"].get(KIND, winner.get("kind"))
    baseline = refit(split, setup, {KIND: kind} if kind else {}, None, label="defaults")
    defaults_trial = refit(split, setup, trial0["params"], trial0["n_resources"], label="defaults' trial")
    paths = io.write_files(root, {
        io.MODEL_FILE: io.joblib_writer(model), io.BASELINE_FILE: io.joblib_writer(baseline),
        io.DEFAULTS_TRIAL_FILE: io.joblib_writer(defaults_trial),
    })
    # Beside the model, not a stage output: which run produced it (provenance.py says why).
    record = provenance.model_record(
        cfg, ref.fingerprint, winner, io.file_sha256(Path(root) / io.MODEL_FILE), io.run_context(root),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    io.write_files(root, {io.MODEL_RECORD: io.json_writer(record)})
    return {"outputs": [str(p) for p in paths]}

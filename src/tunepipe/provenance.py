"""Which run produced ``models/model.joblib``: the record the train stage writes beside it.

The record holds facts that differ between two runs of the same params and data (the time, the
git commit), so it is not a DVC output: a DVC output that changes on every run would change
``dvc.lock`` and defeat DVC's run-cache. It names the model file by its SHA-256 instead, so a
reader can tell whether it describes the model file that is there now (DVC's run-cache or
``dvc checkout`` may have restored another one since).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tunepipe import __version__
from tunepipe.config import Config

# Sections that cannot change the refit model: how fast trials run, what is reported on the holdout.
NOT_MODEL_PARAMS = {"execution", "evaluate"}


def params_hash(cfg: Config) -> str:
    """SHA-256 (16 hex digits) of the params that determine the model, in a canonical form."""
    relevant = cfg.model_dump(mode="json", exclude=NOT_MODEL_PARAMS)
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def model_record(
    cfg: Config, data_fingerprint: str, winner: dict[str, Any], model_sha256: str, run: dict[str, Any], created: str
) -> dict[str, Any]:
    """The provenance record of a refit model (``models/model.json``).

    ``run`` holds the facts about where it ran (git commit, uncommitted changes, DVC experiment),
    ``created`` the UTC time in ISO 8601.
    """
    return {
        "model_sha256": model_sha256,
        "created": created,
        "params_hash": params_hash(cfg),
        "data_path": cfg.data.path,
        "data_fingerprint": data_fingerprint,
        **run,
        "tunepipe_version": __version__,
        "model_kind": winner.get("kind", cfg.model.kind),
        "winner": winner,
    }


def describe(record: dict[str, Any] | None, model_sha256: str) -> str:
    """One line about a model's provenance, for ``tunepipe predict``."""
    if record is None:
        return "no provenance record (models/model.json) beside it"
    if record.get("model_sha256") != model_sha256:
        return (
            "models/model.json describes another model file; this one was restored by DVC "
            "(see dvc.lock and `git log dvc.lock` for the run that produced it)"
        )
    commit = record.get("git_commit")
    where = f"commit {commit[:10]}{' + uncommitted changes' if record.get('git_dirty') else ''}" if commit else "no git commit"
    return (
        f"trained {record.get('created')} at {where}, params {record.get('params_hash')}, "
        f"data {record.get('data_path')} ({record.get('data_fingerprint')})"
    )

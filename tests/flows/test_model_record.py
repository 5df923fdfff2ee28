"""The train stage records which run produced models/model.joblib, beside it."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import yaml

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe import io, provenance
from tunepipe.config import parse_config


def test_model_record_names_the_model_file_commit_params_and_data(tmp_path: Path) -> None:
    make_frame(300, "binary", seed=1).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(BASE_RAW))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "params.yaml"], ["commit", "-qm", "params"]):
        subprocess.run([*git, *args], cwd=tmp_path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    cfg = parse_config(BASE_RAW, ["search.n_candidates=3", "search.max_resources=15"])

    before = datetime.now(UTC)
    run(cfg, root=str(tmp_path))
    record = json.loads((tmp_path / io.MODEL_RECORD).read_text())
    assert record["model_sha256"] == io.file_sha256(tmp_path / io.MODEL_FILE)
    assert record["git_commit"] == head and record["git_dirty"] is False
    assert record["params_hash"] == provenance.params_hash(cfg)
    assert record["data_fingerprint"] == io.read_split_ref(tmp_path).fingerprint
    assert record["winner"] == json.loads((tmp_path / io.WINNER_JSON).read_text())
    assert before.replace(microsecond=0) <= datetime.fromisoformat(record["created"]) <= datetime.now(UTC)


def test_params_hash_ignores_speed_and_reporting_settings() -> None:
    cfg = parse_config(BASE_RAW)
    assert provenance.params_hash(parse_config(BASE_RAW, ["execution.workers=1", "evaluate.metrics=[accuracy]"])) == provenance.params_hash(cfg)
    assert provenance.params_hash(parse_config(BASE_RAW, ["base.seed=8"])) != provenance.params_hash(cfg)

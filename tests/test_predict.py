"""`tunepipe predict`: predictions of the refit model on new rows; bad input exits 2 with one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest

from tests.conftest import BASE_RAW, make_frame
from tunepipe import io, provenance
from tunepipe.config import parse_config
from tunepipe.errors import DataError
from tunepipe.models import build_pipeline
from tunepipe.predict import predict_frame

FEATURES = (["x1", "x2"], ["color", "size"])


def _model(task: str) -> Any:
    frame = make_frame(200, task, seed=5)
    model = build_pipeline("lightgbm", task, *FEATURES, {"n_estimators": 10}, seed=0)
    return model.fit(frame.drop(columns=["y", "row_id"]), frame["y"])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with a refit binary model, its provenance record and new rows to predict."""
    (tmp_path / "models").mkdir()
    joblib.dump(_model("binary"), tmp_path / io.MODEL_FILE)
    sha = io.file_sha256(tmp_path / io.MODEL_FILE)
    record = provenance.model_record(
        parse_config(BASE_RAW), "f1ng3rpr1nt", {"label": "c001 r1"}, sha,
        {"git_commit": "0123456789abcdef", "git_dirty": False, "dvc_experiment": None}, created="2026-11-25T05:00:00+00:00",
    )
    (tmp_path / io.MODEL_RECORD).write_text(json.dumps(record))
    make_frame(50, "binary", seed=9).to_csv(tmp_path / "new.csv", index=False)
    return tmp_path


def _predict(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunepipe.cli", "predict", *args], cwd=project, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("proba", "columns"), [(False, ["prediction"]), (True, ["prediction", "proba_no", "proba_yes"])])
def test_predict_a_csv_one_row_out_per_row_in(project: Path, proba: bool, columns: list[str]) -> None:
    proc = _predict(project, "new.csv", "-o", "out.csv", *(["--proba"] if proba else []))
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(project / "out.csv")
    new = pd.read_csv(project / "new.csv")
    model = joblib.load(project / io.MODEL_FILE)
    assert list(out.columns) == columns
    assert out["prediction"].tolist() == model.predict(new).tolist()
    if proba:
        assert out["proba_yes"].to_numpy() == pytest.approx(model.predict_proba(new)[:, 1])
    # Which run produced the model, on one line.
    assert proc.stderr.strip() == (
        "tunepipe: 50 predictions to out.csv; model models/model.joblib: trained 2026-11-25T05:00:00+00:00 at "
        f"commit 0123456789, params {provenance.params_hash(parse_config(BASE_RAW))}, data data.csv (f1ng3rpr1nt)"
    )


def test_predict_parquet_to_standard_output(project: Path) -> None:
    pd.read_csv(project / "new.csv").to_parquet(project / "new.parquet")
    proc = _predict(project, "new.parquet", "-o", "-")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "prediction" and len(proc.stdout.splitlines()) == 51


def test_a_model_restored_by_dvc_is_not_described_by_an_older_record(project: Path) -> None:
    joblib.dump(_model("regression"), project / io.MODEL_FILE)
    proc = _predict(project, "new.csv", "-o", "out.csv")
    assert proc.returncode == 0, proc.stderr
    assert "models/model.json describes another model file; this one was restored by DVC" in proc.stderr


@pytest.mark.parametrize(
    ("prepare", "args", "match"),
    [
        (lambda p: p.joinpath("bad.csv").write_text(pd.read_csv(p / "new.csv").drop(columns=["x2", "color"]).to_csv(index=False)),
         ["bad.csv"], r"bad.csv lacks 2 column\(s\) the model was trained on: 'x2', 'color'; add them"),
        (lambda p: p.joinpath("bad.csv").write_text(pd.read_csv(p / "new.csv").assign(x1="abc").to_csv(index=False)),
         ["bad.csv"], r"bad.csv has values the model cannot take \(.*x1.*\); give each column the type it had"),
        (lambda p: None, ["nope.csv"], r"the data to predict, 'nope.csv', does not exist"),
        (lambda p: p.joinpath("rows.json").write_text("{}"), ["rows.json"], r"'rows.json', must end in .csv or .parquet"),
        (lambda p: p.joinpath("bad.parquet").write_text("a,b\n1,2\n"), ["bad.parquet"], r"'bad.parquet', cannot be read as parquet"),
        (lambda p: None, ["new.csv", "-o", "no/such/dir/out.csv"], r"-o is 'no/such/dir/out.csv', but its folder .* does not exist"),
        (lambda p: (p / io.MODEL_FILE).unlink(), ["new.csv"], r"models/model.joblib does not exist, but is written by the train stage"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(project: Path, prepare: Any, args: list[str], match: str) -> None:
    prepare(project)
    proc = _predict(project, *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunepipe: error: "), proc.stderr
    assert re.search(match, lines[0]), lines[0]
    assert not (project / "predictions.csv").exists() and proc.stdout == ""


def test_probabilities_of_a_regressor_are_an_error() -> None:
    frame = make_frame(30, "regression", seed=1)
    with pytest.raises(DataError, match=r"--proba was given, but the model gives no class probabilities \(a regressor\)"):
        predict_frame(_model("regression"), frame, proba=True, source="new.csv")

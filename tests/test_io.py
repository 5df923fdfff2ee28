"""File I/O: atomic writes, data formats, split round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_frame
from tunepipe import io
from tunepipe.data import prepare
from tunepipe.errors import ConfigError, DataError


def test_read_table_csv_and_parquet(tmp_path: Path) -> None:
    df = make_frame(50)
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "a.parquet", index=False)
    assert io.read_table(tmp_path / "a.csv").shape == io.read_table(tmp_path / "a.parquet").shape == (50, 6)


def test_read_table_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data.path is '.*missing.csv', but no such file exists"):
        io.read_table(tmp_path / "missing.csv")
    (tmp_path / "a.xlsx").write_text("x")
    with pytest.raises(DataError, match=r"but must end in .csv or .parquet"):
        io.read_table(tmp_path / "a.xlsx")


def test_read_params_invalid_yaml(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("search: [unclosed")
    with pytest.raises(ConfigError, match=r"params file '.*params.yaml' is not valid YAML"):
        io.read_params(tmp_path / "params.yaml")


def test_split_round_trip(tmp_path: Path, cfg: Any) -> None:
    prepared = prepare(make_frame(200), cfg)
    ref = io.write_split(prepared, tmp_path / "split")
    loaded = io.load_split(ref)
    pd.testing.assert_frame_equal(loaded.train, prepared.train)
    assert np.array_equal(loaded.fold, prepared.fold)
    assert (loaded.task, loaded.numeric, loaded.categorical) == (prepared.task, prepared.numeric, prepared.categorical)
    assert io.load_split(ref) is loaded  # loaded once per process
    assert len(io.load_folds(ref)) == 3
    assert io.write_split(prepared, tmp_path / "split2").fingerprint == ref.fingerprint


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def boom(f: Any) -> None:
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        io.write_files(tmp_path, {Path("metrics.json"): boom})
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_search_outputs_contract_files(tmp_path: Path) -> None:
    paths = io.write_search_outputs(
        tmp_path, pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [2]}), {"best_score": np.float64(0.5)}, {"params": {}})
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "reports/trials.csv", "reports/progress.csv", "metrics/cv.json", "models/winner.json"]
    assert json.loads((tmp_path / "metrics/cv.json").read_text()) == {"best_score": 0.5}


def test_outputs_are_all_or_nothing(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})
    io.write_files(tmp_path, {io.TRIALS_CSV: io.csv_writer(frame), io.CV_JSON: io.json_writer({"v": 1})})

    class Unpicklable:
        def __reduce__(self) -> Any:
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        io.write_files(tmp_path, {
            io.TRIALS_CSV: io.csv_writer(pd.DataFrame({"a": [2]})),
            io.CV_JSON: io.json_writer({"v": 2}),
            io.MODEL_FILE: io.joblib_writer(Unpicklable()),
        })
    assert json.loads((tmp_path / "metrics/cv.json").read_text()) == {"v": 1}
    assert (tmp_path / "reports/trials.csv").read_text() == "a\n1\n"
    assert not list(tmp_path.rglob("*.tmp"))
    assert not (tmp_path / "models/model.joblib").exists()


def test_later_stage_without_its_input_names_the_stage_to_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data/split/meta.json does not exist, but is written by the split stage; run `dvc repro split`"):
        io.read_split_ref(tmp_path)
    with pytest.raises(DataError, match=r"models/winner.json does not exist, but is written by the tune stage"):
        io.read_json(tmp_path, io.WINNER_JSON, "tune")
    with pytest.raises(DataError, match=r"models/model.joblib does not exist, but is written by the train stage"):
        io.load_model(tmp_path, io.MODEL_FILE)

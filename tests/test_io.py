"""File I/O: atomic writes, data formats, split round trip."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import make_frame
from tunepipe import execution, io
from tunepipe.data import prepare
from tunepipe.errors import ConfigError, DataError


def test_read_table_csv_and_parquet(tmp_path: Path) -> None:
    df = make_frame(50)
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "a.parquet", index=False)
    assert io.read_table(tmp_path / "a.csv").shape == io.read_table(tmp_path / "a.parquet").shape == (50, 6)


def _parquet(df: pd.DataFrame) -> bytes:
    buffer = BytesIO()
    df.to_parquet(buffer, index=False)
    return buffer.getvalue()


GOOD_PARQUET = _parquet(make_frame(20))
# A parquet file whose two columns are both named x (pandas cannot write one).
_twin = BytesIO()
pq.write_table(pa.table([pa.array([1, 2]), pa.array([3, 4]), pa.array([0, 1])], names=["x", "x", "y"]), _twin)
TWIN_COLUMNS_PARQUET = _twin.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.csv", None, r"^data.path is 'missing.csv', but no such file exists \(.*missing.csv\); fix data.path in params.yaml$"),
        ("a.xlsx", b"x", r"^data.path is 'a.xlsx', but must end in .csv or .parquet; convert the file or rename it$"),
        ("empty.csv", b"", r"^data.path is 'empty.csv', but the file is empty; point data.path at the data, or write the data file again$"),
        ("blank.csv", b"\n\n  \n", r"^data.path is 'blank.csv', but the file is empty"),
        ("empty.parquet", b"", r"^data.path is 'empty.parquet', but the file is empty"),
        ("header.csv", b"a,b,y\n", r"^data.path is 'header.csv', but the file has no data rows \(only the column names: a, b, y\)"),
        ("header.parquet", _parquet(make_frame(20).iloc[:0]), r"^data.path is 'header.parquet', but the file has no data rows \(only the column names: x1, x2, color, size, row_id, y\)"),
        ("corrupt.parquet", GOOD_PARQUET[: len(GOOD_PARQUET) // 2], r"^data.path is 'corrupt.parquet', but the parquet file is corrupt or truncated \(.*\); write it again from its source$"),
        ("notparquet.parquet", b"\x00\x01\x02\x03binary", r"^data.path is 'notparquet.parquet', but the file is not parquet \(it does not start with PAR1\)"),
        ("parquet.csv", GOOD_PARQUET, r"^data.path is 'parquet.csv', but the file is parquet, not CSV; rename it to .parquet and set data.path to match$"),
        ("csv.parquet", b"a,b,y\n1,2,0\n", r"^data.path is 'csv.parquet', but the file is text \(CSV\?\), not parquet; rename it to .csv and set data.path to match$"),
        ("latin1.csv", "a,city,y\n1,Z\u00fcrich,0\n2,Bern,1\n".encode("latin-1"), r"^data.path is 'latin1.csv', but the file is not UTF-8 text \(byte 0xfc on line 2\); save it as UTF-8, e.g. pd.read_csv\(path, encoding='cp1252'\).to_csv\(path, index=False\)"),
        ("utf16.csv", "a,y\n1,0\n".encode("utf-16"), r"^data.path is 'utf16.csv', but the file is not UTF-8 text \(byte 0xff on line 1\)"),
        ("ragged.csv", b"a,b,y\n1,2,0\n3,4,5,1\n", r"^data.path is 'ragged.csv', but line 3 of the file has 4 fields where the header has 3; fix that line \(a stray comma\? quote values that contain commas\)$"),
        ("trailing.csv", b"a,b,y\n1,2,0,\n3,4,1,\n", r"^data.path is 'trailing.csv', but its rows have one field more than the header \(3 names\); add the missing name to the header line, or remove the extra \(trailing\?\) comma from every row$"),
        ("unnamed.csv", b"a,y\n1,2,0\n", r"^data.path is 'unnamed.csv', but its rows have one field more than the header \(2 names\)"),
        ("twins.csv", b"x,z,x,y\n1,2,3,0\n", r"^data.path is 'twins.csv', but 2 columns are named 'x' \(columns 1 and 3\); column names must be unique: rename or remove the copies$"),
        ("twins.parquet", TWIN_COLUMNS_PARQUET, r"^data.path is 'twins.parquet', but 2 columns are named 'x' \(columns 1 and 2\)"),
        ("semicolons.csv", b"a;b;y\n1;2;0\n", r"^data.path is 'semicolons.csv', but the file separates its columns with semicolons, not commas; save it as comma-separated CSV$"),
        ("tabs.csv", b"a\tb\ty\n1\t2\t0\n", r"separates its columns with tabs, not commas"),
        ("book.csv", b"PK\x03\x04rest-of-a-zip", r"^data.path is 'book.csv', but the file is a zip archive \(an Excel workbook\?\), not CSV text; export the sheet as CSV \(UTF-8\)$"),
        ("gz.csv", b"\x1f\x8b\x08rest", r"^data.path is 'gz.csv', but the file is gzip-compressed; decompress it"),
        ("folder.parquet", "dir", r"^data.path is 'folder.parquet', but that is a folder"),
    ],
)
def test_read_table_errors_name_the_path_the_problem_and_the_fix(
    tmp_path: Path, name: str, content: bytes | str | None, match: str
) -> None:
    if content == "dir":
        (tmp_path / name).mkdir()
    elif content is not None:
        (tmp_path / name).write_bytes(content)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=match) as info:
        io.read_table(name, tmp_path)
    assert "\n" not in str(info.value)


def test_read_table_accepts_a_byte_order_mark_and_a_short_row(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes("\ufeffa,b,y\n1,2,0\n3\n".encode("utf-8"))
    df = io.read_table("a.csv", tmp_path)
    assert list(df.columns) == ["a", "b", "y"]
    assert df["b"].isna().tolist() == [False, True]  # a short row is missing values, as in any CSV reader


def test_read_table_keeps_distinct_names_that_pandas_would_mangle_to(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,x.1,y\n1,2,0\n")
    assert list(io.read_table("a.csv", tmp_path).columns) == ["x", "x.1", "y"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("search: [unclosed", r"^params file '.*p.yaml' is not valid YAML: expected ',' or '\]', but got '<stream end>' at line 1, column 18; fix that line$"),
        ("", r"^params file '.*p.yaml' is empty, but must hold the params sections \(base, data, cv, search, model, execution, evaluate; data and search at least\); start from the project's params.yaml$"),
        ("# only a comment\n", r"^params file '.*p.yaml' is empty"),
        ("- data\n- search\n", r"^params file '.*p.yaml' holds a list, but must be a mapping of sections \(base, data, cv, search, model, execution, evaluate\)"),
        ("just text", r"^params file '.*p.yaml' holds a plain string \('just text'\), but must be a mapping of sections"),
        ("42", r"^params file '.*p.yaml' holds a single value \(42\), but must be a mapping of sections"),
    ],
)
def test_read_params_errors_name_the_real_file(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "p.yaml").write_text(text)
    with pytest.raises(ConfigError, match=match):
        io.read_params(tmp_path / "p.yaml")


def test_read_params_missing_or_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^params file '.*nope.yaml' does not exist; run from the project folder or pass --params PATH$"):
        io.read_params(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"^params file '.*' is a folder"):
        io.read_params(tmp_path)


def test_unreadable_stage_output_names_the_stage_to_run_again(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models/winner.json").write_text('{"params": ')
    with pytest.raises(DataError, match=r"^models/winner.json cannot be read \(.*\), but is written by the tune stage; run it again \(`dvc repro tune` or `tunepipe tune`\)$"):
        io.read_json(tmp_path, io.WINNER_JSON, "tune")


def test_split_round_trip(tmp_path: Path, cfg: Any) -> None:
    prepared = prepare(make_frame(200), cfg)
    ref = io.write_split(prepared, tmp_path / "split")
    loaded = execution.load_split(ref)
    pd.testing.assert_frame_equal(loaded.train, prepared.train)
    assert np.array_equal(loaded.fold, prepared.fold)
    assert (loaded.task, loaded.numeric, loaded.categorical) == (prepared.task, prepared.numeric, prepared.categorical)
    assert execution.load_split(ref) is loaded  # loaded once per process
    assert len(execution.load_folds(ref)) == 3
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
        tmp_path, pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [2]}), {"best_score": np.float64(0.5)}, {"params": {}},
        pd.DataFrame({"param": []}), pd.DataFrame({"trial": []}))
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "reports/trials.csv", "reports/progress.csv", "metrics/cv.json", "models/winner.json",
        "reports/importance.csv", "reports/parallel.csv"]
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

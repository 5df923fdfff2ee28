"""io.replace_outputs: a stage's output folder holds exactly what the last run wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import pytest

from tunepipe import io


def _text(value: str) -> Any:
    return lambda f: f.write(value.encode())


def test_a_replaced_folder_keeps_only_the_files_of_this_run(tmp_path: Path) -> None:
    io.replace_outputs(tmp_path, {Path("m.json"): _text("1"), Path("eval/roc.csv"): _text("roc")}, [Path("eval")])
    paths = io.replace_outputs(
        tmp_path, {Path("m.json"): _text("2"), Path("eval/predictions.csv"): _text("pred")}, [Path("eval")]
    )
    assert paths == [tmp_path / "m.json", tmp_path / "eval/predictions.csv"]
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == ["predictions.csv"]
    assert (tmp_path / "m.json").read_text() == "2"
    # No staging folders are left beside the outputs.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval", "m.json"]


def test_a_failed_write_leaves_the_previous_outputs(tmp_path: Path) -> None:
    io.replace_outputs(tmp_path, {Path("m.json"): _text("1"), Path("eval/roc.csv"): _text("roc")}, [Path("eval")])

    def fail(f: BinaryIO) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        io.replace_outputs(
            tmp_path, {Path("eval/predictions.csv"): _text("pred"), Path("m.json"): fail}, [Path("eval")]
        )
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == ["roc.csv"]
    assert (tmp_path / "m.json").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval", "m.json"]

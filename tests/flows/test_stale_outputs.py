"""A run replaces its whole output set: switching data leaves no plot of the earlier task behind
(every task's plot file is there, the other tasks' without rows, for `dvc plots show`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe import io
from tunepipe.config import parse_config

SMALL = ["search.n_candidates=3", "search.max_resources=15"]


def test_a_regression_run_after_a_binary_one_leaves_no_roc_curve(tmp_path: Path) -> None:
    make_frame(300, "binary", seed=1).to_csv(tmp_path / "data.csv", index=False)
    run(parse_config(BASE_RAW, SMALL), root=str(tmp_path))
    assert _rows(tmp_path) == {"confusion.csv": 0, "predictions.csv": 0, "roc.csv": _rows(tmp_path)["roc.csv"]}
    assert _rows(tmp_path)["roc.csv"] > 2

    make_frame(300, "regression", seed=1).to_csv(tmp_path / "data.csv", index=False)
    run(parse_config(BASE_RAW, [*SMALL, "search.scoring=r2"]), root=str(tmp_path))
    rows = _rows(tmp_path)
    assert rows["roc.csv"] == rows["confusion.csv"] == 0 and rows["predictions.csv"] == 75  # the holdout's rows


def _rows(root: Path) -> dict[str, int]:
    return {p.name: len(pd.read_csv(p)) for p in (root / io.EVAL_DIR).iterdir()}

"""A run replaces its whole output set: switching data leaves no plot of the earlier task behind."""

from __future__ import annotations

from pathlib import Path

from flows.pipeline import run
from tests.conftest import BASE_RAW, make_frame
from tunepipe import io
from tunepipe.config import parse_config

SMALL = ["search.n_candidates=3", "search.max_resources=15"]


def test_a_regression_run_after_a_binary_one_leaves_no_roc_curve(tmp_path: Path) -> None:
    make_frame(300, "binary", seed=1).to_csv(tmp_path / "data.csv", index=False)
    run(parse_config(BASE_RAW, SMALL), root=str(tmp_path))
    assert sorted(p.name for p in (tmp_path / io.EVAL_DIR).iterdir()) == ["roc.csv"]

    make_frame(300, "regression", seed=1).to_csv(tmp_path / "data.csv", index=False)
    out = run(parse_config(BASE_RAW, [*SMALL, "search.scoring=r2"]), root=str(tmp_path))
    assert sorted(p.name for p in (tmp_path / io.EVAL_DIR).iterdir()) == ["predictions.csv"]
    assert str(tmp_path / io.EVAL_DIR / "roc.csv") not in out["outputs"]

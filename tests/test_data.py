"""Data rules, task inference, holdout split and the fold plan."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_frame
from tunepipe.config import parse_config
from tunepipe.data import check_scorer, fingerprint, fold_plan, folds_from_plan, infer_task, prepare, validate
from tunepipe.errors import DataError


@pytest.mark.parametrize(
    ("values", "declared", "expected"),
    [
        (["a", "b", "a"], "auto", "binary"),
        (["a", "b", "c"], "auto", "multiclass"),
        ([True, False, True], "auto", "binary"),
        ([0, 1, 1, 0], "auto", "binary"),
        ([0, 1, 2, 3], "auto", "multiclass"),
        (list(range(50)), "auto", "regression"),  # many distinct integers: a count, not classes
        ([0.5, 1.2, 3.3], "auto", "regression"),
        ([0.5, 1.2, 3.3], "regression", "regression"),
        ([1, 2, 3], "regression", "regression"),
        ([1, 2, 1], "binary", "binary"),
    ],
)
def test_infer_task(values: list[Any], declared: str, expected: str) -> None:
    assert infer_task(pd.Series(values, name="t"), declared) == expected


@pytest.mark.parametrize(
    ("values", "declared", "match"),
    [
        (["a", "a", "a"], "auto", r"data.target 't' has a single class \('a'\), but classification needs at least 2"),
        (["a", "b", "c"], "binary", r"data.task is binary, but data.target 't' has 3 classes; set data.task: multiclass"),
        (["a", "b", "a"], "multiclass", r"data.task is multiclass, but data.target 't' has 2 classes; set data.task: binary"),
        (["x", "y", "z"], "regression", r"data.task is regression, but data.target 't' is not numeric \(values like 'x'\)"),
    ],
)
def test_infer_task_errors(values: list[Any], declared: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        infer_task(pd.Series(values, name="t"), declared)


def test_target_absent_suggests_close_column(raw: dict[str, Any]) -> None:
    cfg = parse_config(raw, ["data.target=Y", "data.drop=[]"])
    with pytest.raises(DataError, match=r"data.target is 'Y', but the data has no such column; did you mean 'y'\?"):
        validate(make_frame(), cfg)


def test_dropped_column_absent(raw: dict[str, Any]) -> None:
    cfg = parse_config(raw, ["data.drop=[rowid]"])
    with pytest.raises(DataError, match=r"data.drop is 'rowid', but the data has no such column; did you mean 'row_id'\?"):
        validate(make_frame(), cfg)


def test_missing_target_values(cfg: Any) -> None:
    df = make_frame()
    df.loc[3, "y"] = None
    with pytest.raises(DataError, match=r"data.target 'y' has 1 missing values, but every row needs a target"):
        validate(df, cfg)


def test_too_few_rows_per_class_for_folds(raw: dict[str, Any]) -> None:
    df = make_frame(200)
    df.loc[:2, "y"] = "rare"  # 3 rows of a third class
    cfg = parse_config(raw, ["search.scoring=accuracy", "cv.n_splits=5"])
    with pytest.raises(DataError, match=r"class 'rare' of data.target has 3 rows, but cv.n_splits=5 with data.test_size=0.25 needs at least 8 per class"):
        validate(df, cfg)


def test_too_few_rows_for_regression(raw: dict[str, Any]) -> None:
    cfg = parse_config(raw, ["search.scoring=r2", "cv.n_splits=5"])
    with pytest.raises(DataError, match=r"the data has 5 rows, but cv.n_splits=5 with data.test_size=0.25 needs at least 7"):
        validate(make_frame(5, "regression"), cfg)


@pytest.mark.parametrize(
    ("task", "scoring", "match"),
    [
        ("regression", "roc_auc", r"search.scoring is 'roc_auc', but it does not fit data.task regression \(it is a classification metric\); use e.g. 'neg_root_mean_squared_error'"),
        ("binary", "r2", r"search.scoring is 'r2', but it does not fit data.task binary \(it is a regression metric\); use e.g. 'roc_auc'"),
        ("multiclass", "roc_auc", r"search.scoring is 'roc_auc', but it does not fit data.task multiclass"),
        ("binary", "f1", r"search.scoring is 'f1', but it does not fit data.task binary \(pos_label"),
    ],
)
def test_scorer_must_fit_task(task: str, scoring: str, match: str) -> None:
    y = make_frame(300, task)["y"]
    with pytest.raises(DataError, match=match):
        check_scorer(scoring, y, task)  # type: ignore[arg-type]


@pytest.mark.parametrize(("task", "scoring"), [("binary", "roc_auc"), ("binary", "neg_log_loss"), ("multiclass", "roc_auc_ovr"),
                                               ("multiclass", "accuracy"), ("regression", "neg_root_mean_squared_error")])
def test_scorer_fits_task(task: str, scoring: str) -> None:
    check_scorer(scoring, make_frame(300, task)["y"], task)  # type: ignore[arg-type]


def test_prepare_splits_stratified_and_drops_columns(cfg: Any) -> None:
    df = make_frame(400)
    p = prepare(df, cfg)
    assert len(p.train) + len(p.holdout) == 400
    assert len(p.holdout) == 100
    assert "row_id" not in p.train.columns
    assert p.task == "binary"
    assert set(p.numeric) == {"x1", "x2"} and set(p.categorical) == {"color", "size"}
    overall = (df["y"] == "yes").mean()
    assert abs((p.holdout["y"] == "yes").mean() - overall) < 0.02
    assert sorted(np.unique(p.fold)) == [0, 1, 2]


def test_prepare_is_deterministic_and_seeded(raw: dict[str, Any]) -> None:
    df = make_frame(400)
    a, b = prepare(df, parse_config(raw)), prepare(df, parse_config(raw))
    assert fingerprint(a.train) == fingerprint(b.train) and np.array_equal(a.fold, b.fold)
    c = prepare(df, parse_config(raw, ["base.seed=8"]))
    assert fingerprint(a.train) != fingerprint(c.train)


def test_prepare_does_not_mutate_input(cfg: Any) -> None:
    df = make_frame(400)
    before = df.copy()
    prepare(df, cfg)
    pd.testing.assert_frame_equal(df, before)


def test_fold_plan_stratified_and_partitions_rows() -> None:
    y = pd.Series(["a"] * 90 + ["b"] * 30)
    fold = fold_plan(y, "binary", 3, True, 0)
    folds = folds_from_plan(fold)
    assert len(folds) == 3
    all_test = np.concatenate([test for _, test in folds])
    assert sorted(all_test) == list(range(120))
    for train, test in folds:
        assert not set(train) & set(test)
        assert (y.iloc[test] == "b").sum() == 10


def test_fold_plan_without_shuffle_is_contiguous() -> None:
    fold = fold_plan(pd.Series(np.arange(9.0)), "regression", 3, False, 0)
    assert fold.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]

"""Data rules, task inference, holdout split and the fold plan."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_frame
from tunepipe.config import parse_config
from sklearn.model_selection import train_test_split

from tunepipe.data import (
    check_scorer,
    fingerprint,
    fold_plan,
    folds_from_plan,
    infer_task,
    n_training_rows,
    prepare,
    quality_warnings,
    validate,
)
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
        # numbers read from a file are numpy scalars: shown as the user wrote them, not np.int64(1)
        (np.array([1, 1, 1]), "binary", r"data.target 't' has a single class \(1\), but classification needs at least 2"),
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
    with pytest.raises(DataError, match=r"data.target 'y' has 1 missing values \(row 3, counting data rows from 0\), but every row needs a target"):
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


def _prior_log_loss(y: pd.Series) -> float:
    p = y.value_counts(normalize=True)
    return float((p * np.log(p)).sum())  # neg_log_loss of predicting the class shares


@pytest.mark.parametrize(
    ("task", "scoring", "chance"),
    [
        # What a model that learned nothing scores: the scorer really ran on the real target.
        ("binary", "roc_auc", lambda y: 0.5),
        ("binary", "neg_log_loss", _prior_log_loss),
        ("multiclass", "roc_auc_ovr", lambda y: 0.5),
        ("multiclass", "accuracy", lambda y: y.value_counts(normalize=True).max()),
        ("regression", "neg_root_mean_squared_error", lambda y: -y.std(ddof=0)),
        ("regression", "r2", lambda y: 0.0),
    ],
)
def test_scorer_fits_task_and_gives_the_chance_score(task: str, scoring: str, chance: Any) -> None:
    y = make_frame(300, task)["y"]
    assert check_scorer(scoring, y, task) == pytest.approx(chance(y))  # type: ignore[arg-type]


def test_scorer_check_keeps_warnings_that_are_news() -> None:
    """Only the constant model's own undefined metrics are silenced, not what the user should read."""
    y = pd.Series([0] * 200 + [1] * 100, name="y")  # the constant model predicts the majority, 0
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        check_scorer("precision", y, "binary")  # the constant model predicts no positives: ill-defined
        check_scorer("top_k_accuracy", y, "binary")  # k=2 with 2 classes: always perfect, a real problem
    messages = [str(w.message) for w in seen]
    assert not any("ill-defined" in m for m in messages), messages
    assert any("will result in a perfect score" in m for m in messages), messages


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([1.0, np.inf, 2.0, -np.inf] * 10, r"^data.target 'y' has 20 infinite values \(rows 1, 3, 5, 7, 9, \.\.\., counting data rows from 0\), but a target must be a finite number; fix or drop those rows in the data file$"),
        ([1.0, 2.0, np.inf] + [3.0] * 37, r"^data.target 'y' has 1 infinite values \(row 2, counting data rows from 0\)"),
        ([1.0, None, 2.0] + [3.0] * 37, r"^data.target 'y' has 1 missing values \(row 1, counting data rows from 0\), but every row needs a target"),
    ],
)
def test_target_values_must_be_present_and_finite(raw: dict[str, Any], values: list[Any], match: str) -> None:
    df = pd.DataFrame({"x": np.arange(len(values), dtype=float), "y": values})
    cfg = parse_config(raw, ["data.drop=[]", "search.scoring=r2", "data.task=regression"])
    with pytest.raises(DataError, match=match):
        validate(df, cfg)


@pytest.mark.parametrize("n", [7, 10, 99, 100, 101, 333, 1000])
@pytest.mark.parametrize("test_size", [0.1, 0.2, 0.25, 0.33, 0.5])
def test_training_rows_are_what_the_split_gives(n: int, test_size: float) -> None:
    train, _ = train_test_split(np.arange(n), test_size=test_size, random_state=0)
    assert n_training_rows(n, test_size) == len(train)


def test_training_rows_of_a_stratified_split(raw: dict[str, Any]) -> None:
    for n in (101, 333, 400):
        p = prepare(make_frame(n), parse_config(raw, ["data.test_size=0.33"]))
        assert len(p.train) == n_training_rows(n, 0.33)


def _frame_with(n: int = 200, **columns: Any) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=n), "y": np.where(rng.random(n) < 0.5, "a", "b")})
    for name, values in columns.items():
        df[name] = values
    return df


@pytest.mark.parametrize(
    ("columns", "n", "expected"),
    [
        ({}, 200, []),
        # id-like columns among the features
        ({"row": np.arange(200)}, 200, [r"^column 'row' has a different whole number in every row \(an id\?\), but is used as a feature; if it is an identifier, add it to data.drop$"]),
        ({"key": [f"k{i}" for i in range(200)]}, 200, [r"^column 'key' has a different value in every row, so most values occur once .*; add it to data.drop"]),
        ({"when": [f"t{i * 2 // 3}" for i in range(200)]}, 200, [r"^column 'when' has 133 distinct values in 200 rows, so most values occur once"]),
        ({"city": [f"c{i % 90}" for i in range(200)]}, 200, []),  # 90 levels in 200 rows: below half
        ({"score": np.linspace(0, 1, 200)}, 200, []),  # continuous: unique per row is normal
        ({"row": np.arange(40)}, 40, [r"each CV fold is scored on only about 10 rows"]),  # too few rows to call it an id
        # numeric-looking text
        ({"age": [str(i % 60) for i in range(195)] + ["?", "?", "unknown", "n/a?", "-"]}, 200,
         [r"^column 'age' is numbers except for 5 values \('\?', 'unknown', 'n/a\?'\), so it is read as categorical \(no order\); fix or blank out those values"]),
        ({"code": [str(i % 60) for i in range(150)] + ["x"] * 50}, 200, []),  # a quarter text: a real categorical
        # folds too small
        ({}, 100, [r"^each CV fold is scored on only about 25 rows \(75 training rows / cv.n_splits 3\), so trial scores are mostly noise \(one row moves a fold's accuracy by 4 points\)"]),
    ],
)
def test_quality_warnings(raw: dict[str, Any], columns: dict[str, Any], n: int, expected: list[str]) -> None:
    df = _frame_with(n, **columns)
    cfg = parse_config(raw, ["data.drop=[]"])
    found = quality_warnings(df, cfg, "binary")
    assert len(found) == len(expected), found
    for text, pattern in zip(found, expected):
        assert re.search(pattern, text), text
        assert "\n" not in text


def test_quality_warning_for_a_rare_class(raw: dict[str, Any]) -> None:
    df = _frame_with(600)
    df.loc[:9, "y"] = "rare"  # 10 rows: 7 in training, 2 per fold
    found = quality_warnings(df, parse_config(raw, ["data.drop=[]"]), "multiclass")
    assert found == [
        "class 'rare' of data.target has only about 2 rows per CV fold (10 rows in all, cv.n_splits 3), so scores that "
        "depend on it are mostly noise; add rows of that class, or lower cv.n_splits"
    ]


def test_quality_warnings_leave_out_dropped_columns_and_the_target(raw: dict[str, Any]) -> None:
    df = _frame_with(200, row=np.arange(200))
    assert quality_warnings(df, parse_config(raw, ["data.drop=[row]"]), "binary") == []


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

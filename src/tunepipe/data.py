"""Data checks, task inference, the holdout split and the fold plan (pure functions on DataFrames)."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, PredefinedSplit, StratifiedKFold, train_test_split

from tunepipe.config import Config, Task
from tunepipe.errors import DataError, did_you_mean
from tunepipe.models import split_features

# An integer-valued numeric target with at most this many distinct values is taken as classes.
MAX_CLASSES_FOR_INTEGER_TARGET = 20


@dataclass(frozen=True)
class Prepared:
    """The split every trial shares.

    Attributes:
        train: Training rows (features and target), index 0..n-1.
        holdout: Held-out rows, scored once by the refit winner.
        fold: Test-fold id (0..n_splits-1) of each training row; the fold plan.
        task: Resolved task.
        target: Target column name.
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.
    """

    train: pd.DataFrame
    holdout: pd.DataFrame
    fold: np.ndarray
    task: Task
    target: str
    numeric: list[str]
    categorical: list[str]

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical

    @cached_property
    def X_train(self) -> pd.DataFrame:
        """Training features (computed once: trials share it)."""
        return self.train[self.features]

    @cached_property
    def y_train(self) -> pd.Series:
        return self.train[self.target]

    @property
    def X_holdout(self) -> pd.DataFrame:
        return self.holdout[self.features]

    @property
    def y_holdout(self) -> pd.Series:
        return self.holdout[self.target]

    @property
    def n_classes(self) -> int | None:
        return None if self.task == "regression" else int(self.train[self.target].nunique())


def infer_task(y: pd.Series, declared: str) -> Task:
    """Resolve ``data.task``; ``auto`` infers it from the target.

    Non-numeric or boolean -> classification; numeric with non-integer values -> regression;
    integer-valued with at most 20 distinct values -> classification, otherwise regression.
    """
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    n_unique = y.nunique()
    if declared == "regression":
        if not numeric:
            example = y.dropna().iloc[0] if len(y.dropna()) else None
            raise DataError(
                f"data.task is regression, but data.target '{y.name}' is not numeric (values like {example!r}); "
                "set data.task: auto (or binary / multiclass), or choose a numeric target"
            )
        return "regression"
    if declared == "auto":
        is_integer = numeric and bool(np.all(np.mod(y.to_numpy(dtype=float), 1) == 0))
        if numeric and not (is_integer and n_unique <= MAX_CLASSES_FOR_INTEGER_TARGET):
            return "regression"
        declared = "binary" if n_unique <= 2 else "multiclass"
    if n_unique < 2:
        raise DataError(
            f"data.target '{y.name}' has a single class ({y.iloc[0]!r}), but classification needs at least 2; "
            "check the target column or the data file"
        )
    if declared == "binary" and n_unique > 2:
        raise DataError(
            f"data.task is binary, but data.target '{y.name}' has {n_unique} classes; set data.task: multiclass"
        )
    if declared == "multiclass" and n_unique == 2:
        raise DataError(
            f"data.task is multiclass, but data.target '{y.name}' has 2 classes; set data.task: binary"
        )
    return declared  # type: ignore[return-value]


def check_columns(df: pd.DataFrame, target: str, drop: list[str]) -> None:
    """The target and every dropped column exist, and the target has no missing values."""
    for key, name in [("data.target", target), *(("data.drop", d) for d in drop)]:
        if name not in df.columns:
            raise DataError(
                f"{key} is '{name}', but the data has no such column{did_you_mean(name, df.columns.astype(str))} "
                f"(columns: {', '.join(map(str, df.columns))})"
            )
    if target in drop:
        raise DataError(f"data.drop lists the target '{target}', but must not; remove it from data.drop")
    n_missing = int(df[target].isna().sum())
    if n_missing:
        raise DataError(
            f"data.target '{target}' has {n_missing} missing values, but every row needs a target; "
            "drop or fill those rows in the data file"
        )
    if len(df.columns) - 1 - len(set(drop)) < 1:
        raise DataError("data.drop removes every feature, but at least one feature column must remain")


def check_fold_sizes(y: pd.Series, task: Task, n_splits: int, test_size: float) -> None:
    """Enough rows (per class, for classification) for the holdout and ``n_splits`` folds."""
    counts = y.value_counts() if task != "regression" else pd.Series({"(all rows)": len(y)})
    # Smallest group's size in the training part after the (stratified) holdout split.
    name, smallest = counts.idxmin(), int(counts.min())
    n_train = int(np.floor(smallest * (1 - test_size)))
    n_test = smallest - n_train
    if n_train < n_splits or (task != "regression" and n_test < 1):
        what = "the data has" if task == "regression" else f"class {name!r} of data.target has"
        raise DataError(
            f"{what} {smallest} rows, but cv.n_splits={n_splits} with data.test_size={test_size} needs at least "
            f"{int(np.ceil(n_splits / (1 - test_size))) + (task != 'regression')}"
            f"{'' if task == 'regression' else ' per class'}; lower cv.n_splits or add rows"
        )


def check_scorer(scoring: str, y: pd.Series, task: Task, key: str = "search.scoring") -> None:
    """The scorer can score this task's predictions, tried on a constant model of the real target.

    ``key`` is the params key that names the scorer, for the message.
    """
    scorer = get_scorer(scoring)
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "")
    kind = "regression" if "_regression" in module else "classification" if module.endswith(("_classification", "_ranking")) else None
    task_kind = "regression" if task == "regression" else "classification"
    error = ""
    if kind is not None and kind != task_kind:
        error = f"it is a {kind} metric"
    else:
        X = np.zeros((len(y), 1))
        model = DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scorer(model.fit(X, y), X, y)
        except (ValueError, TypeError, AttributeError) as exc:
            error = str(exc).splitlines()[0]
    if error:
        suggestion = {"binary": "roc_auc", "multiclass": "neg_log_loss", "regression": "neg_root_mean_squared_error"}[task]
        raise DataError(
            f"{key} is '{scoring}', but it does not fit data.task {task} ({error}); "
            f"use e.g. '{suggestion}'"
        )


def validate(df: pd.DataFrame, cfg: Config, scorers: bool = True) -> Task:
    """Every data rule; returns the resolved task. Raises DataError naming the fix.

    ``scorers=False`` leaves out the checks of ``search.scoring`` and ``evaluate.metrics`` (the
    split stage does not read them; the tune and evaluate stages check them on the split).
    """
    check_columns(df, cfg.data.target, cfg.data.drop)
    y = df[cfg.data.target]
    task = infer_task(y, cfg.data.task)
    check_fold_sizes(y, task, cfg.cv.n_splits, cfg.data.test_size)
    if scorers:
        check_scorers(cfg, y, task)
    return task


def check_scorers(cfg: Config, y: pd.Series, task: Task) -> None:
    """``search.scoring`` and every ``evaluate.metrics`` scorer fit the task."""
    check_scorer(cfg.search.scoring, y, task)
    if cfg.evaluate.metrics != "auto":
        for name in cfg.evaluate.metrics:
            check_scorer(name, y, task, key="evaluate.metrics")


def prepare(df: pd.DataFrame, cfg: Config) -> Prepared:
    """Validate, split off the holdout (stratified for classification) and assign CV folds."""
    task = validate(df, cfg, scorers=False)
    target = cfg.data.target
    data = df.drop(columns=cfg.data.drop)
    y = data[target]
    stratify = None if task == "regression" else y
    train, holdout = train_test_split(
        data, test_size=cfg.data.test_size, random_state=cfg.base.seed, stratify=stratify
    )
    train = train.reset_index(drop=True)
    holdout = holdout.reset_index(drop=True)
    fold = fold_plan(train[target], task, cfg.cv.n_splits, cfg.cv.shuffle, cfg.base.seed)
    numeric, categorical = split_features(train.drop(columns=[target]))
    return Prepared(train, holdout, fold, task, target, numeric, categorical)


def fold_plan(y: pd.Series, task: Task, n_splits: int, shuffle: bool, seed: int) -> np.ndarray:
    """Test-fold id per row, computed once and shared by every trial and rung."""
    cls = KFold if task == "regression" else StratifiedKFold
    splitter = cls(n_splits=n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    fold = np.empty(len(y), dtype=np.int64)
    for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(y)), y)):
        fold[test_idx] = k
    return fold


def folds_from_plan(fold: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train_idx, test_idx) per fold, as scikit-learn's PredefinedSplit yields them."""
    return list(PredefinedSplit(fold).split())


def fingerprint(df: pd.DataFrame) -> str:
    """A content hash of a DataFrame (values, index, columns and dtypes)."""
    h = hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    h.update(repr(list(zip(df.columns, map(str, df.dtypes)))).encode())
    return h.hexdigest()[:16]

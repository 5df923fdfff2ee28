"""Data checks, task inference, the holdout split and the fold plan (pure functions on DataFrames)."""

from __future__ import annotations

import decimal
import hashlib
import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, PredefinedSplit, StratifiedKFold, train_test_split

from tunepipe.config import Config, Task
from tunepipe.errors import DataError, did_you_mean
from tunepipe.models import split_features

# An integer-valued numeric target with at most this many distinct values is taken as classes.
MAX_CLASSES_FOR_INTEGER_TARGET = 20

# Thresholds of the warnings about degenerate data (quality_warnings). Warnings, not errors: the
# data may be right, but the user should look.
# Below this many rows a column can be unique per row by chance: no id-like warning.
ID_MIN_ROWS = 50
# A categorical column with more distinct values than this share of the rows: most values occur
# once or twice, so a model learns nothing from them that carries to new rows (an id, a timestamp,
# free text), and one-hot encoding turns it into thousands of columns.
MAX_LEVEL_SHARE = 0.5
# A text column whose non-missing values are at least this share numbers is a numeric column with
# a few stray strings ('?', 'unknown'); as text it becomes categorical and loses its order.
NUMERIC_SHARE = 0.9
# A CV fold scored on fewer rows than this is noise: one row moves its accuracy by more than 3
# points, more than candidates usually differ by, so the search picks by chance.
MIN_FOLD_ROWS = 30
# Fewer rows of a class per CV fold than this: per-fold scores that depend on the class (roc_auc,
# recall, log-loss) swing by whole tenths when one of them moves.
MIN_CLASS_FOLD_ROWS = 5
# Rows named in a message about bad values (the rest are counted).
MAX_ROWS_SHOWN = 5


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


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages say 0, not np.int64(0)."""
    return value.item() if isinstance(value, np.generic) else value


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
                f"data.task is regression, but data.target '{y.name}' is not numeric (values like {_plain(example)!r}); "
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
            f"data.target '{y.name}' has a single class ({_plain(y.iloc[0])!r}), but classification needs at least 2; "
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
    """The target and every dropped column exist, and every target value is present and finite."""
    for key, name in [("data.target", target), *(("data.drop", d) for d in drop)]:
        if name not in df.columns:
            raise DataError(
                f"{key} is '{name}', but the data has no such column{did_you_mean(name, df.columns.astype(str))} "
                f"(columns: {', '.join(map(str, df.columns))})"
            )
    if target in drop:
        raise DataError(f"data.drop lists the target '{target}', but must not; remove it from data.drop")
    y = df[target]
    missing = y.isna()
    if missing.any():
        raise DataError(
            f"data.target '{target}' has {int(missing.sum())} missing values ({_rows(missing)}), but every row "
            "needs a target; drop or fill those rows in the data file"
        )
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        infinite = pd.Series(np.isinf(y.to_numpy(dtype=float)), index=y.index)
        if infinite.any():
            raise DataError(
                f"data.target '{target}' has {int(infinite.sum())} infinite values ({_rows(infinite)}), but a target "
                "must be a finite number; fix or drop those rows in the data file"
            )
    if len(df.columns) - 1 - len(set(drop)) < 1:
        raise DataError("data.drop removes every feature, but at least one feature column must remain")


# Cells a parquet file can hold that no estimator takes: what each is, and what to do instead.
_NESTED = (
    ((list, tuple, np.ndarray), "lists (a parquet list or map column)", "flatten it into one column per item"),
    ((dict,), "structs or maps (a parquet struct or map column)", "flatten it into one column per field"),
    ((bytes, bytearray, memoryview), "binary values", "decode it to text or numbers"),
    ((decimal.Decimal,), "decimals", "cast it to float in the data file"),
)


def check_cell_types(df: pd.DataFrame, drop: list[str]) -> None:
    """Every column that is used (features and target) holds plain values: numbers, strings,
    booleans, dates. A nested or binary column names itself and the fix."""
    for name in df.columns:
        column = df[name]
        if name in drop or column.dtype != object:
            continue
        kinds = set(column.dropna().map(type))
        for types, what, fix in _NESTED:
            if any(issubclass(k, types) for k in kinds):
                raise DataError(
                    f"data column '{name}' holds {what}, but every column must hold plain values "
                    f"(numbers, strings, booleans, dates); drop it with data.drop: [{name}], or {fix}"
                )


def _rows(mask: pd.Series) -> str:
    """``rows 3, 17 (counting data rows from 0)`` for the rows where ``mask`` holds."""
    where = np.flatnonzero(mask.to_numpy())
    shown = ", ".join(map(str, where[:MAX_ROWS_SHOWN])) + (", ..." if len(where) > MAX_ROWS_SHOWN else "")
    return f"{'row' if len(where) == 1 else 'rows'} {shown}, counting data rows from 0"


def n_training_rows(n_rows: int, test_size: float) -> int:
    """Rows the holdout split leaves for training: ``n - ceil(test_size * n)``.

    scikit-learn's rounding in ``train_test_split`` (stratified or not): the holdout gets the
    ceiling, so the checks of resources against training rows see exactly what the split gives.
    """
    return n_rows - math.ceil(test_size * n_rows)


def check_fold_sizes(y: pd.Series, task: Task, n_splits: int, test_size: float) -> None:
    """Enough rows (per class, for classification) for the holdout and ``n_splits`` folds."""
    counts = y.value_counts() if task != "regression" else pd.Series({"(all rows)": len(y)})
    # Smallest group's size in the training part after the (stratified) holdout split.
    name, smallest = counts.idxmin(), int(counts.min())
    n_train = int(np.floor(smallest * (1 - test_size)))
    n_test = smallest - n_train
    if n_train < n_splits or (task != "regression" and n_test < 1):
        what = "the data has" if task == "regression" else f"class {_plain(name)!r} of data.target has"
        raise DataError(
            f"{what} {smallest} rows, but cv.n_splits={n_splits} with data.test_size={test_size} needs at least "
            f"{int(np.ceil(n_splits / (1 - test_size))) + (task != 'regression')}"
            f"{'' if task == 'regression' else ' per class'}; lower cv.n_splits or add rows"
        )


def check_scorer(scoring: str, y: pd.Series, task: Task, key: str = "search.scoring", verb: str = "is") -> float:
    """The scorer can score this task's predictions, tried on a constant model of the real target.

    ``key`` is the params key that names the scorer, for the message. Returns the constant
    model's score: what a model that learned nothing scores on this target.
    """
    scorer = get_scorer(scoring)
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "")
    kind = "regression" if "_regression" in module else "classification" if module.endswith(("_classification", "_ranking")) else None
    task_kind = "regression" if task == "regression" else "classification"
    error = ""
    score = math.nan
    if kind is not None and kind != task_kind:
        error = f"it is a {kind} metric"
    else:
        X = np.zeros((len(y), 1))
        model = DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior")
        try:
            with warnings.catch_warnings():
                # A constant model predicts one class, so precision and its kin are undefined for
                # the others: expected here, and no news about the user's data or scorer.
                warnings.filterwarnings(
                    "ignore", category=UndefinedMetricWarning, message=r".*(ill-defined|No samples were predicted)"
                )
                score = float(scorer(model.fit(X, y), X, y))
        except (ValueError, TypeError, AttributeError) as exc:
            error = str(exc).splitlines()[0]
    if error:
        suggestion = {"binary": "roc_auc", "multiclass": "neg_log_loss", "regression": "neg_root_mean_squared_error"}[task]
        raise DataError(
            f"{key} {verb} '{scoring}', but it does not fit data.task {task} ({error}); "
            f"use e.g. '{suggestion}'"
        )
    return score


def validate(df: pd.DataFrame, cfg: Config, scorers: bool = True) -> Task:
    """Every data rule; returns the resolved task. Raises DataError naming the fix.

    ``scorers=False`` leaves out the checks of ``search.scoring`` and ``evaluate.metrics`` (the
    split stage does not read them; the tune and evaluate stages check them on the split).
    """
    check_columns(df, cfg.data.target, cfg.data.drop)
    check_cell_types(df, cfg.data.drop)
    y = df[cfg.data.target]
    task = infer_task(y, cfg.data.task)
    check_fold_sizes(y, task, cfg.cv.n_splits, cfg.data.test_size)
    if scorers:
        check_scorers(cfg, y, task)
    return task


def check_scorers(cfg: Config, y: pd.Series, task: Task) -> None:
    """``search.scoring`` and every ``evaluate.metrics`` scorer fit the task."""
    for name in cfg.search.metrics:
        check_scorer(name, y, task, verb="lists" if len(cfg.search.metrics) > 1 else "is")
    if cfg.evaluate.metrics != "auto":
        for name in cfg.evaluate.metrics:
            check_scorer(name, y, task, key="evaluate.metrics")


def quality_warnings(df: pd.DataFrame, cfg: Config, task: Task) -> list[str]:
    """One-line warnings about data that passes every rule but looks degenerate.

    An id-like feature (unique per row, or more categorical levels than ``MAX_LEVEL_SHARE`` of
    the rows), a numeric-looking column made categorical by a few strings, and CV folds so small
    that scores are noise. Pure: the caller logs them (and puts them in the run's summary).
    """
    out: list[str] = []
    features = df.drop(columns=[cfg.data.target, *cfg.data.drop])
    n = len(df)
    for name in features.columns:
        column = features[name]
        if _is_numeric(column):
            if n >= ID_MIN_ROWS and _is_id_like_number(column, n):
                out.append(
                    f"column '{name}' has a different whole number in every row (an id?), but is used as a feature; "
                    "if it is an identifier, add it to data.drop"
                )
            continue
        # On the distinct values (with their counts): a pass over the column, not a parse per row.
        counts = column.value_counts(dropna=True)
        numbers = pd.to_numeric(pd.Series(counts.index.astype(str)), errors="coerce").to_numpy()
        n_values, n_strays = int(counts.sum()), int(counts[np.isnan(numbers)].sum())
        if n_values and 0 < n_strays and 1 - n_strays / n_values >= NUMERIC_SHARE:
            examples = ", ".join(repr(v) for v in counts.index[np.isnan(numbers)][:3])
            out.append(
                f"column '{name}' is numbers except for {n_strays} values ({examples}), so it is read as categorical "
                "(no order); fix or blank out those values in the data file (empty cells are read as missing)"
            )
            whole = numbers[~np.isnan(numbers)]
            if n >= ID_MIN_ROWS and n_strays == 0 and len(counts) == n and np.all(np.mod(whole, 1) == 0):
                out.append(
                    f"column '{name}' has a different whole number in every row (an id?), but is used as a feature; "
                    "if it is an identifier, add it to data.drop"
                )
            continue
        levels = len(counts)
        if n >= ID_MIN_ROWS and levels > MAX_LEVEL_SHARE * n:
            what = "a different value in every row" if levels == n else f"{levels} distinct values in {n} rows"
            out.append(
                f"column '{name}' has {what}, so most values occur once and tell nothing about new rows (an id, a "
                "timestamp, free text?), but it is used as a feature; add it to data.drop (or derive coarser features from it)"
            )
    out.extend(_fold_noise_warnings(df[cfg.data.target], task, cfg))
    return out


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _is_id_like_number(column: pd.Series, n: int) -> bool:
    """Whole numbers, one different value in every row: a row number or a key, not a measurement."""
    values = column.to_numpy(dtype=float)
    return bool(column.notna().all() and column.nunique() == n and np.all(np.mod(values, 1) == 0))


def _fold_noise_warnings(y: pd.Series, task: Task, cfg: Config) -> list[str]:
    """CV folds (or a class's share of them) so small that trial scores are mostly noise."""
    k = cfg.cv.n_splits
    n_train = n_training_rows(len(y), cfg.data.test_size)
    per_fold = n_train // k
    out = []
    if per_fold < MIN_FOLD_ROWS:
        out.append(
            f"each CV fold is scored on only about {per_fold} rows ({n_train} training rows / cv.n_splits {k}), so "
            f"trial scores are mostly noise (one row moves a fold's accuracy by {100 / max(per_fold, 1):.0f} points) "
            "and the winner is partly chance; add rows, or compare fewer candidates (search.n_candidates)"
        )
    elif task != "regression":
        counts = y.value_counts()
        name, smallest = counts.idxmin(), int(counts.min())
        per_class = int(np.floor(smallest * (1 - cfg.data.test_size))) // k
        if per_class < MIN_CLASS_FOLD_ROWS:
            out.append(
                f"class {_plain(name)!r} of data.target has only about {per_class} rows per CV fold ({smallest} rows in all, "
                f"cv.n_splits {k}), so scores that depend on it are mostly noise; add rows of that class, or lower cv.n_splits"
            )
    return out


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

"""LightGBM trials on LightGBM's own training API: bin once per fold, score every round, boost on.

A trial today fits ``LGBMClassifier`` / ``LGBMRegressor`` per fold, which bins the fold's rows
again for every trial, and then predicts the validation rows again at each checkpoint. Here:

- :class:`BinnedFold` bins a fold's training rows once, as a constructed ``lightgbm.Dataset``, and
  its validation rows with the same bins (``reference=``). Every trial of every rung whose
  :func:`dataset_params` are the same shares it (``feature_pre_filter=False`` keeps the bins
  independent of ``min_child_samples``).
- :class:`LiveBooster` trains one trial on a BinnedFold with ``lightgbm.Booster`` itself, as
  ``lightgbm.train`` does (``Booster(params, train_set)``, ``add_valid``, ``update()`` per round),
  with exactly the parameters the scikit-learn wrapper would pass (:func:`train_params`). It keeps
  training where it stopped (:meth:`LiveBooster.advance`): the same native booster goes on, so its
  bagging and feature-fraction draws carry on and the model after ``k`` rounds equals a from-scratch
  wrapper fit with ``n_estimators=k``.
- Each round is scored on the validation rows from the scores LightGBM already keeps up to date
  for them (one tree pass per round): with a native LightGBM metric where it equals the
  scikit-learn scorer, else with the scorer itself on those predictions (:func:`round_metric`).

Threads (LightGBM 4.7's sources, ``src/c_api.cpp``, ``src/io/dataset.cpp``; checked by tests):

- A constructed Dataset is read-only to training: ``Booster`` creation, ``add_valid``, ``update``
  and evaluation take it as ``const Dataset*`` and keep their state (scores, gradients, bagging,
  histograms) per booster, each native booster behind its own mutex. So boosters on one
  BinnedFold are created and trained from many threads at once; creation still takes the fold's
  lock (it is rare and cheap). The user question lightgbm-org/LightGBM#5560 asks the same.
- ``lightgbm.train`` is not used on a shared Dataset: it updates the Dataset's Python-side
  parameters and predictor, and when its check finds a parameter that needs new bins and the raw
  data is still there, frees and rebuilds the native Dataset under every other booster. The raw
  data is freed here (``free_raw_data``), so such a mismatch raises instead.
- LightGBM keeps one process-wide default thread count, set by every Dataset construction,
  Booster creation and predict from its ``num_threads`` (0 or none: OpenMP's default), and read by
  training rounds and metrics, which size per-thread buffers by it. Every call here passes the
  trial's thread count, and a LiveBooster refuses a BinnedFold built for another one; the process
  must use one count for all LightGBM calls that can run at the same time (a predict without
  ``num_threads`` racing with single-threaded fits crashed the process once; LightGBM's docs:
  "don't change this during training ... when running multiple jobs simultaneously").
- LightGBM's log level is per native thread (see :func:`_set_log_level`).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from lightgbm import LGBMModel
from lightgbm.basic import _ConfigAliases
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.metrics import get_scorer
from sklearn.utils.class_weight import compute_sample_weight

from tunepipe.models import Task

# A trial's parameters that are fixed when a Dataset is constructed, by LightGBM's main names (and
# ``class_weight``, which becomes the rows' weights): sorted (name, value) pairs, hashable.
DatasetKey = tuple[tuple[str, Any], ...]


# --- which parameters need their own Dataset ---------------------------------------------------


@lru_cache(maxsize=1)
def _dataset_param_names() -> frozenset[str]:
    """LightGBM's main names of the parameters fixed at Dataset construction.

    Taken from LightGBM itself: ``Dataset.get_params`` keeps exactly those of a params dict (the
    ones ``Booster`` copies from its training set), asked here with every parameter LightGBM knows.
    ``seed`` is added: it derives ``data_random_seed``, which samples the rows that bins are
    built from (``bin_construct_sample_cnt``) on larger data.
    """
    every = {name: 0 for name in _ConfigAliases._get_all_param_aliases()}
    return frozenset(lgb.Dataset(None, params=every).get_params()) | {"seed"}


def _lookup(params: Mapping[str, Any], main: str) -> tuple[bool, Any]:
    """(found, value) of LightGBM parameter ``main`` in ``params`` under its name or an alias.

    The main name wins over aliases, then aliases in LightGBM's order, as ``lightgbm.train``
    resolves them (``_choose_param_value``). None counts as unset, as LightGBM drops None values.
    """
    found = _find(params, main)
    return (False, None) if found is None else (True, found[1])


def _find(params: Mapping[str, Any], main: str) -> tuple[str, Any] | None:
    """(name, value) under which LightGBM parameter ``main`` is set in ``params``, by
    :func:`_lookup`'s precedence; None if it is not set."""
    for name in _ConfigAliases.get_sorted(main):
        if name in params and params[name] is not None:
            return name, params[name]
    return None


# LightGBM's built-in objectives (and their aliases) by the task they train for. LightGBM trains
# any of them on any numeric labels, so a regression objective on 0/1 labels "works" and its
# classifier then reports nonsense probabilities: the task decides which family is allowed.
OBJECTIVES: dict[str, frozenset[str]] = {
    "binary": frozenset({"binary", "cross_entropy", "xentropy", "cross_entropy_lambda", "xentlambda"}),
    "multiclass": frozenset({"multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr"}),
    "regression": frozenset({
        "regression", "regression_l2", "l2", "mean_squared_error", "mse", "l2_root", "root_mean_squared_error",
        "rmse", "regression_l1", "l1", "mean_absolute_error", "mae", "huber", "fair", "poisson", "quantile",
        "mape", "mean_absolute_percentage_error", "gamma", "tweedie",
    }),
}


def objective(params: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(the name it is set under, its value) of LightGBM's objective in ``params``; None if unset."""
    return _find(params, "objective")


def _is_false(value: Any) -> bool:
    """A LightGBM boolean parameter's value read as LightGBM reads it (``false`` / ``-``)."""
    return str(value).strip().lower() in {"false", "-", "0"}


def _hashable(value: Any) -> Any:
    """``value`` as a hashable, comparable key part (lists -> tuples, dicts -> sorted pairs)."""
    if isinstance(value, Mapping):  # keys kept as they are (class labels), ordered by their repr
        return tuple(sorted(((k, _hashable(v)) for k, v in value.items()), key=lambda kv: repr(kv[0])))
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def dataset_params(params: Mapping[str, Any]) -> DatasetKey:
    """The parameters among ``params`` that are fixed when a fold's Dataset is constructed.

    ``params`` are a trial's parameters under any names LightGBM accepts: the estimator's
    (``LGBMModel.get_params()``: ``subsample_for_bin``, ``random_state``, ``min_child_samples``),
    LightGBM's own (``max_bin``, ``bin_construct_sample_cnt``) and their aliases (``max_bins``),
    resolved to LightGBM's main names through LightGBM's alias table. Two trials with equal keys
    can share one :class:`BinnedFold`; a trial with another key needs its own (a re-bin).

    ``min_data_in_leaf`` (``min_child_samples``) is part of the key only when
    ``feature_pre_filter`` is on (LightGBM's default): features that cannot be split with that
    many rows per leaf are then dropped at construction. ``class_weight`` is part of it when set:
    it becomes the training rows' weights.
    """
    key: dict[str, Any] = {}
    for main in _dataset_param_names():
        found, value = _lookup(params, main)
        if found:
            key[main] = _hashable(value)
    if not _is_false(key.get("feature_pre_filter", True)):
        found, value = _lookup(params, "min_data_in_leaf")
        if found:
            key["min_data_in_leaf"] = _hashable(value)
    if params.get("class_weight") is not None:
        key["class_weight"] = _hashable(params["class_weight"])
    return tuple(sorted(key.items()))


# --- the exact parameters the scikit-learn wrapper trains with ---------------------------------


class _Captured(Exception):
    """Carries the parameters ``lightgbm.train`` was called with out of a wrapper fit."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__("captured")
        self.params = params


def _capture(env: Any) -> None:
    raise _Captured(dict(env.params))


# Called before the first round, after lightgbm.train has resolved its parameters and built the
# Booster: nothing is trained.
_capture.before_iteration = True  # type: ignore[attr-defined]


_CAPTURED: dict[str, dict[str, Any]] = {}
_CAPTURED_LOCK = threading.Lock()
_CAPTURED_MAX = 4096  # distinct (params, classes): far more than a search's trials


def _capture_params(estimator: LGBMModel, classes: tuple[Any, ...] | None, n_features: int) -> dict[str, Any]:
    """What ``lightgbm.train`` receives from ``estimator.fit`` on such labels and features."""
    estimator = clone(estimator).set_params(n_estimators=1)
    # Labels only decide the objective and num_class; features, only their count (a parameter
    # such as monotone_constraints must match it): zeros will do. Regression labels lie in (0, 1),
    # which every regression objective accepts (gamma needs > 0, cross_entropy <= 1).
    y = np.asarray(classes) if classes is not None else np.array([0.25, 0.75])
    # Enough rows that bagging keeps one: LightGBM refuses to build a booster whose bagged
    # subset is empty (bagging_fraction 0.3 of 2 rows).
    fractions = [float(v) for main in ("bagging_fraction", "pos_bagging_fraction", "neg_bagging_fraction")
                 if (v := _lookup(estimator.get_params(), main)[1]) is not None and 0 < float(v) < 1]
    y = np.tile(y, math.ceil(1 / min(fractions)) + 1 if fractions else 1)
    X = np.zeros((len(y), n_features))
    try:
        estimator.fit(X, y, callbacks=[_capture])
    except _Captured as captured:
        return captured.params
    raise RuntimeError("lightgbm.train ran no round callback; cannot read its parameters")  # pragma: no cover


def train_params(estimator: LGBMModel, classes: Sequence[Any] | None, n_features: int) -> dict[str, Any]:
    """The parameters ``estimator.fit`` passes to ``lightgbm.train`` for these labels and features.

    Read from the wrapper itself: a clone is fitted on a few rows of zeros with a callback that
    stops ``lightgbm.train`` before its first round and keeps its resolved parameters. So they are
    what the wrapper computes (``_process_params``: objective from the number of classes,
    ``num_class``, ``n_jobs`` -> ``num_threads``, aliases) and ``lightgbm.train`` then resolves,
    with no copy of their rules here to drift from a new LightGBM version. Cached per parameters,
    classes and feature count; about 2 ms when not.

    ``num_iterations`` is left out (a LiveBooster is advanced round by round) and so is the metric
    (:class:`LiveBooster` sets its own; metrics do not change training). ``classes`` are the
    training labels' distinct values for a classifier, None for a regressor.
    """
    params = estimator.get_params()
    if callable(params.get("objective")):
        raise ValueError(
            "model.params.objective is a Python function, but the LightGBM engine trains with "
            "LightGBM's built-in objectives only; use a built-in objective name"
        )
    labels = tuple(_hashable(c) for c in classes) if classes is not None else None
    key = repr((type(estimator).__name__, sorted((k, _hashable(v)) for k, v in params.items()), labels, n_features))
    with _CAPTURED_LOCK:
        captured = _CAPTURED.get(key)
    if captured is None:
        captured = _capture_params(estimator, labels, n_features)
        with _CAPTURED_LOCK:
            if len(_CAPTURED) >= _CAPTURED_MAX:
                _CAPTURED.clear()
            _CAPTURED[key] = captured
    result = dict(captured)
    result.pop("num_iterations", None)
    result.pop("metric", None)
    return result


# --- a schedule's segments: which parameters may change between them ---------------------------


def fixed_at_binning(names: Sequence[str], fixed: Mapping[str, Any]) -> frozenset[str]:
    """Which of the hyperparameters ``names`` are fixed when a Dataset is built, given the model's
    ``fixed`` params (``min_child_samples`` only with ``feature_pre_filter`` on): a schedule never
    changes them between segments, as every segment trains on the fold's one set of bins."""
    base = dataset_params(fixed)
    return frozenset(n for n in names if dataset_params({**fixed, n: _PROBE}) != base)


class _Probe:
    """A value no parameter has: setting a name to it shows whether the name enters the Dataset key."""

    def __repr__(self) -> str:
        return "<probe>"


_PROBE = _Probe()


@dataclass(frozen=True)
class Snapshot:
    """A booster's trees and validation curve after some rounds: what a new segment starts from.

    Attributes:
        model: The trees, as ``Booster.model_to_string`` writes them (every earlier segment's too).
        curve: The validation score after each round so far.
        iterations: LightGBM's iteration count after each round so far (a round whose tree found
            no split leaves it where it was).
    """

    model: str
    curve: tuple[float, ...]
    iterations: tuple[int, ...]

    @property
    def rounds(self) -> int:
        return len(self.curve)


# --- per-round validation metric ---------------------------------------------------------------


@dataclass(frozen=True)
class RoundMetric:
    """How each boosting round is scored on the validation rows, in the scorer's sign.

    Attributes:
        scoring: The scikit-learn scorer name this metric reproduces.
        native: LightGBM's metric (computed in C++ on the validation scores) whose value ``v``
            gives the scorer's as ``offset + sign * v``; None: computed from the validation
            predictions LightGBM keeps, by the scorer itself or, for ``accuracy``, by numpy (the
            same comparison and mean as ``accuracy_score``, without its label checks).
        every_round: Whether every round is scored. False for scikit-learn classification scorers,
            whose label checks cost several rounds of training each call (31 ms for
            balanced_accuracy on 10k string labels, benchmarks/lgbm_engine.py); those score the
            rounds :func:`on_grid` names and the last round of each :meth:`LiveBooster.advance`.
    """

    scoring: str
    native: str | None = None
    sign: float = 1.0
    offset: float = 0.0
    every_round: bool = True

    @property
    def argmax_accuracy(self) -> bool:
        """Whether this is accuracy computed with numpy from the class probabilities."""
        return self.native is None and self.scoring == "accuracy"


# Native metrics equal to the scorer (tests/test_lgbm.py checks each against the scorer on a
# wrapper fit). Not native, though LightGBM has a metric of the name: regression metrics (LightGBM
# reads labels as float32, so l2 / l1 / rmse differ from the scorer's at the 8th digit), multiclass
# accuracy (multi_error counts a tie with the true class as an error; numpy's argmax takes the
# first), mape (LightGBM divides by max(1, |y|)).
_NATIVE: dict[tuple[str, str], tuple[str, float, float]] = {
    ("binary", "roc_auc"): ("auc", 1.0, 0.0),
    ("binary", "neg_log_loss"): ("binary_logloss", -1.0, 0.0),
    ("binary", "accuracy"): ("binary_error", -1.0, 1.0),
    ("multiclass", "neg_log_loss"): ("multi_logloss", -1.0, 0.0),
}


# Rounds a scorer that is not computed every round scores, whatever the path a booster took (how
# its training was split into advances by racing, early stopping or continued boosting): 1, 2, 4,
# ..., 64 early on, where curves move fast, then every 25th. A best round is chosen among these
# only (tunepipe.scoring), so a continued or raced booster picks the same round as a fresh one.
GRID_STEP = 25


def on_grid(r: int) -> bool:
    """Whether round ``r`` (from 1) is one that every path scores."""
    return r & (r - 1) == 0 or r % GRID_STEP == 0


def round_metric(scoring: str, task: Task, n_classes: int | None = None) -> RoundMetric:
    """The per-round validation metric that reproduces scikit-learn scorer ``scoring``.

    ``n_classes`` is the fold's number of training classes: the wrapper trains a binary model on
    two (also for a multiclass task), a multiclass one on more. Any scorer name scikit-learn knows
    works; :data:`_NATIVE` lists those LightGBM computes itself.
    """
    get_scorer(scoring)  # unknown names fail here, with scikit-learn's message
    kind = "regression" if task == "regression" else ("multiclass" if (n_classes or 2) > 2 else "binary")
    if (kind, scoring) in _NATIVE:
        native, sign, offset = _NATIVE[(kind, scoring)]
        return RoundMetric(scoring, native, sign, offset)
    if scoring == "accuracy":
        return RoundMetric(scoring)  # multiclass: numpy's argmax, as the wrapper's predict
    return RoundMetric(scoring, every_round=kind == "regression")


class _Predictions(BaseEstimator):
    """The validation predictions, as the wrapper's predict / predict_proba would return them."""

    def set(self, values: np.ndarray) -> None:
        self.values_ = values


class _ClassifierPredictions(ClassifierMixin, _Predictions):
    def __init__(self, classes: np.ndarray) -> None:
        self.classes = classes
        self.classes_ = classes

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self.values_
        # Two classes: LightGBM keeps the positive class's probability; the wrapper stacks both.
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class _RegressorPredictions(RegressorMixin, _Predictions):
    def predict(self, X: Any) -> np.ndarray:
        return self.values_


# --- one fold, binned once ---------------------------------------------------------------------


class BinnedFold:
    """One CV fold: training rows binned once, validation rows binned with the same bins.

    Built from the fold's preprocessed frames (categorical columns of pandas ``category`` dtype,
    as ``models.CategoricalCaster`` makes them): the very input ``LGBMModel.fit`` gets, so the bins
    are those a wrapper fit would make. Shared, read-only, by every :class:`LiveBooster` whose
    :func:`dataset_params` equal ``key``, from any thread.

    Attributes:
        key: The Dataset parameters it was built with.
        task: binary, multiclass or regression.
        classes: Sorted distinct training labels (classifiers; labels are encoded as their index,
            as the wrapper does), None for regression.
        y_valid: The validation labels as given.
        threads: LightGBM's thread count for every call on this fold.
        train, valid: The constructed LightGBM Datasets (raw data freed).
        lock: Held while a Booster is created on this fold.
    """

    def __init__(
        self,
        X_train: pd.DataFrame,
        y_train: pd.Series | np.ndarray,
        X_valid: pd.DataFrame,
        y_valid: pd.Series | np.ndarray,
        *,
        task: Task,
        key: DatasetKey,
        threads: int,
    ) -> None:
        self.key, self.task, self.threads = key, task, threads
        self.n_features = X_train.shape[1]
        self.y_valid = np.asarray(y_valid)
        y_train = np.asarray(y_train)
        settings = dict(key)
        class_weight = settings.pop("class_weight", None)
        weight = None
        if task == "regression":
            if class_weight is not None:
                raise ValueError("class_weight is set, but it weighs classes; a regression has none, remove it")
            self.classes: np.ndarray | None = None
            self.valid_codes = None
            label, valid_label = y_train.astype(float), self.y_valid.astype(float)
            self.valid_labels_known = True
        else:
            # As the wrapper's label encoder: sorted classes, each label its class's index.
            self.classes, label = np.unique(y_train, return_inverse=True)
            position = np.clip(np.searchsorted(self.classes, self.y_valid), 0, len(self.classes) - 1)
            known = self.classes[position] == self.y_valid
            # A validation class the training rows lack cannot be a LightGBM label; such a fold
            # is scored by the scorer itself, on the labels as given, as the wrapper's would be.
            self.valid_labels_known = bool(known.all())
            valid_label = np.where(known, position, 0)
            self.valid_codes: np.ndarray | None = np.where(known, position, -1)  # -1: never predicted
            if class_weight is not None:
                if isinstance(class_weight, tuple):  # a dict, made hashable in the key
                    # As the wrapper: from class labels to their codes.
                    code = {c: i for i, c in enumerate(self.classes)}
                    missing = [c for c, _ in class_weight if c not in code]
                    if missing:
                        raise ValueError(
                            f"model.params.class_weight names class {missing[0]!r}, but the training rows "
                            f"have only {list(self.classes)}; weigh those classes"
                        )
                    class_weight = {code[c]: w for c, w in class_weight}
                weight = compute_sample_weight(class_weight, label)
        params = {
            **{name: list(v) if isinstance(v, tuple) else v for name, v in settings.items()},
            "verbosity": -1,
            "num_threads": threads,
        }
        # Kept for datasets_for: labels and weights as LightGBM takes them, and the Dataset params.
        self._label, self._valid_label, self._weight, self._params = label, valid_label, weight, params
        # free_raw_data: the bins are all LightGBM needs, and a param change that would need a
        # re-bin then fails loudly instead of silently rebuilding a Dataset other boosters share.
        self.train = lgb.Dataset(X_train, label=label, weight=weight, params=params, free_raw_data=True).construct()
        self.valid = lgb.Dataset(
            X_valid, label=valid_label, reference=self.train, params=params, free_raw_data=True
        ).construct()
        self.lock = threading.Lock()

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    def datasets_for(self, X_train: pd.DataFrame, X_valid: pd.DataFrame) -> tuple[lgb.Dataset, lgb.Dataset]:
        """New (unconstructed) training and validation Datasets of the fold's preprocessed rows
        with this fold's bins, labels and weights: for a booster whose starting scores differ
        from the shared Datasets' (``lightgbm.train`` with ``init_model`` sets them)."""
        train = lgb.Dataset(X_train, label=self._label, weight=self._weight, reference=self.train, params=self._params)
        valid = lgb.Dataset(X_valid, label=self._valid_label, reference=self.train, params=self._params)
        return train, valid

    @property
    def total_bins(self) -> int:
        """Bins over all features: a booster's histogram cache holds this many per leaf."""
        return sum(self.train.feature_num_bin(i) for i in range(self.n_features))


# --- a live booster ------------------------------------------------------------------------------

_thread = threading.local()


def _set_log_level(params: Mapping[str, Any]) -> None:
    """Set LightGBM's log level of this thread from ``params`` (once per thread and level).

    The level is kept per native thread and set when parameters are parsed; a booster advanced
    from another thread than the one that created it would log at the default level (warnings
    such as "no further splits" on every round). Constructing a two-row Dataset parses them; it
    passes the same ``num_threads``, so the process-wide thread count does not change.
    """
    found, verbosity = _lookup(params, "verbosity")
    level = (verbosity, params.get("num_threads"))
    if not found or getattr(_thread, "level", None) == level:
        return
    lgb.Dataset(
        np.zeros((2, 1)), label=np.array([0.0, 1.0]), params={"verbosity": verbosity, "num_threads": level[1]}
    ).construct()
    _thread.level = level


class LiveBooster:
    """One trial's model on one :class:`BinnedFold`, trained on demand, scored every round.

    Equal to ``estimator.fit(X_train, y_train)`` with ``n_estimators`` = :attr:`rounds` at any
    point (the same trees), and :attr:`curve` holds what ``get_scorer(scoring)`` gives such a fit
    on the validation rows after each round (``nan`` where :attr:`RoundMetric.every_round` is
    False and the round was not scored).

    Not shared between threads: one thread at a time advances a LiveBooster (a lock makes sure),
    but it may be a different thread each time; boosters on the same BinnedFold train
    concurrently.

    Args:
        fold: The fold to train on; its key must be ``dataset_params(estimator.get_params())``.
        estimator: An unfitted ``LGBMClassifier`` / ``LGBMRegressor`` with the trial's parameters
            (``n_estimators`` is ignored; :meth:`advance` says how many rounds).
        scoring: A scikit-learn scorer name.
        every_round: Score every round (True) or the rounds :func:`on_grid` names and the last of
            each advance (False); None: as :func:`round_metric` says for the scorer. A native AUC costs about a
            quarter of a round on a fold with few columns (benchmarks/lgbm_engine.py).
        start: Start from these trees (another booster's :meth:`snapshot`, a new segment of a
            schedule) instead of none: then it equals ``estimator.fit(X_train, y_train,
            init_model=<the snapshot's trees>)``, LightGBM's continued training, and its curve
            goes on from the snapshot's.
        rows: With ``start``, the fold's preprocessed (training, validation) features: LightGBM
            computes the starting scores by predicting them with the snapshot's trees.
        others: Other scorers of the trial (several metrics). Those LightGBM computes natively
            (:data:`_NATIVE`) are recorded on every scored round beside ``scoring``, at the cost of
            LightGBM's metric; :meth:`scores_at` gives any of them at any round.
    """

    def __init__(
        self, fold: BinnedFold, estimator: LGBMModel, scoring: str, every_round: bool | None = None,
        start: Snapshot | None = None, rows: tuple[pd.DataFrame, pd.DataFrame] | None = None,
        others: Sequence[str] = (),
    ) -> None:
        key = dataset_params(estimator.get_params())
        if key != fold.key:
            raise ValueError(
                f"The trial's Dataset parameters {dict(key)} differ from the fold's {dict(fold.key)}; "
                "build a BinnedFold with key=dataset_params(estimator.get_params()) for it"
            )
        params = train_params(estimator, fold.classes, fold.n_features)
        if params.get("num_threads") != fold.threads:
            raise ValueError(
                f"The trial's num_threads is {params.get('num_threads')}, but the fold was built with "
                f"{fold.threads}; LightGBM keeps one thread count per process, use the same for both"
            )
        metric = round_metric(scoring, fold.task, fold.n_classes)
        if metric.native is not None and not fold.valid_labels_known:
            metric = RoundMetric(scoring, every_round=False)
        if every_round is not None:
            metric = dataclasses.replace(metric, every_round=every_round)
        # The other scorers LightGBM computes in C++ on its validation scores, every scored round.
        self._natives: dict[str, RoundMetric] = {}
        for name in others if fold.valid_labels_known else ():
            other = round_metric(name, fold.task, fold.n_classes)
            if other.native is not None and other.native != metric.native:
                self._natives[name] = other
        natives = [m.native for m in (metric, *self._natives.values()) if m.native is not None]
        self._metric_param: str | list[str] = natives or "None"
        self.fold, self.metric = fold, metric
        self._params = params
        self._scorer = get_scorer(scoring)
        self._view: _Predictions = (
            _RegressorPredictions() if fold.classes is None else _ClassifierPredictions(fold.classes)
        )
        self._X_stub = np.empty((len(fold.y_valid), 0))  # scorers pass X on to predict, which ignores it
        self._curve: list[float] = []
        # The native other scorers after each round (NaN where not scored; before a snapshot's start).
        self._others: dict[str, list[float]] = {name: [] for name in self._natives}
        self._lock = threading.Lock()
        self._iterations: list[int] = []
        if start is not None:
            if rows is None:
                raise ValueError("a LiveBooster that starts from a snapshot needs the fold's rows (rows=...)")
            self.booster = self._continued(start, rows)
            self._others = {name: [math.nan] * len(start.curve) for name in self._natives}
            self._curve = [*start.curve, self._score()]
            self._iterations = [*start.iterations, self.booster.current_iteration()]
            return
        with fold.lock:
            _set_log_level(params)
            # As lightgbm.train builds its booster: training set, then the validation set.
            self.booster = lgb.Booster(params={**params, "metric": self._metric_param}, train_set=fold.train)
            self.booster.add_valid(fold.valid, "valid")

    def _continued(self, start: Snapshot, rows: tuple[pd.DataFrame, pd.DataFrame]) -> lgb.Booster:
        """A booster with ``start``'s trees and one more round, as ``lightgbm.train`` with
        ``init_model`` grows it: on Datasets of the fold's rows that share the fold's bins, whose
        starting scores LightGBM predicts with those trees (as a wrapper fit with ``init_model``
        does), so the next rounds are those of that fit."""
        train, valid = self.fold.datasets_for(*rows)
        _set_log_level(self._params)
        with warnings.catch_warnings():
            # The new Datasets take the fold's bins (reference): that is the point, not a problem.
            warnings.filterwarnings("ignore", message="Overriding the parameters from Reference Dataset")
            return lgb.train(
                {**self._params, "metric": self._metric_param}, train, num_boost_round=1,
                init_model=lgb.Booster(model_str=start.model), valid_sets=[valid], valid_names=["valid"],
                keep_training_booster=True,
            )

    def snapshot(self, rounds: int | None = None) -> Snapshot:
        """This booster's trees and curve after ``rounds`` rounds (None: all so far), where a
        schedule's next segment starts. Trees are only ever appended, so a booster that has gone
        on past ``rounds`` still gives the snapshot it would have given then (waiting while
        another thread advances it)."""
        with self._lock:
            r = len(self._curve) if rounds is None else rounds
            if not 0 < r <= len(self._curve):
                raise ValueError(f"a snapshot at round {r} of a booster with {len(self._curve)} rounds")
            model = self.booster.model_to_string(num_iteration=self._iterations[r - 1])
            return Snapshot(model, tuple(self._curve[:r]), tuple(self._iterations[:r]))

    @property
    def rounds(self) -> int:
        """Boosting rounds done (``update`` calls: a round that found no split adds no tree)."""
        return len(self._curve)

    @property
    def curve(self) -> np.ndarray:
        """The validation score after each round, 1..:attr:`rounds` (greater is better)."""
        return np.asarray(self._curve, dtype=float)

    def advance(self, to_rounds: int) -> np.ndarray:
        """Train on to ``to_rounds`` rounds in all (nothing if already there); returns :attr:`curve`."""
        with self._lock:
            if to_rounds > len(self._curve):
                _set_log_level(self._params)
            while len(self._curve) < to_rounds:
                # As lightgbm.train: one update per round, also after a round without a split
                # (bagging may find one next round), so the random draws stay in step.
                self.booster.update()
                self._iterations.append(self.booster.current_iteration())
                r = len(self._curve) + 1
                scored = self.metric.every_round or r == to_rounds or on_grid(r)
                if scored:
                    self._curve.append(self._score())
                else:
                    self._curve.append(math.nan)
                    for values in self._others.values():
                        values.append(math.nan)
            return self.curve

    def _score(self) -> float:
        """The scorer after the current round (and each native other scorer's, recorded)."""
        m = self.metric
        feval = None if m.native is not None else self._accuracy if m.argmax_accuracy else self._feval
        results = {r[1]: float(r[2]) for r in self.booster.eval_valid(feval=feval)}
        for name, other in self._natives.items():
            self._others[name].append(other.offset + other.sign * results[other.native])  # type: ignore[index]
        if m.native is not None:
            return m.offset + m.sign * results[m.native]
        return results[m.scoring]

    def _accuracy(self, predictions: np.ndarray, _: lgb.Dataset) -> tuple[str, float, bool]:
        """accuracy_score of the wrapper's predict: the first most probable class is the prediction."""
        self._view.set(predictions)
        predicted = np.argmax(self._view.predict_proba(None), axis=1)  # type: ignore[attr-defined]
        # As accuracy_score: the share of rows whose predicted class is theirs (-1: a class unseen
        # in training, never predicted).
        return "accuracy", float(np.mean(predicted == self.fold.valid_codes)), True

    def _feval(self, predictions: np.ndarray, _: lgb.Dataset) -> tuple[str, float, bool]:
        """The scorer on LightGBM's current validation predictions (probabilities for classifiers)."""
        self._view.set(predictions)
        return self.metric.scoring, float(self._scorer(self._view, self._X_stub, self.fold.y_valid)), True

    def scores_at(self, scorings: Sequence[str], X_valid: pd.DataFrame, rounds: int) -> tuple[float, ...]:
        """Each scorer of ``scorings`` after ``rounds`` rounds on the validation rows ``X_valid``
        (the fold's preprocessed features), as the wrapper fitted with that many rounds scores:
        a native one as recorded that round (``others``), any other on the booster's predictions
        there, predicted once for all of them (several metrics of a trial)."""
        with self._lock:
            recorded = {name: values[rounds - 1] for name, values in self._others.items()}
            rest = [s for s in scorings if math.isnan(recorded.get(s, math.nan))]
            predictions = self.booster.predict(X_valid, num_iteration=self._iterations[rounds - 1]) if rest else None
        if rest:
            view: _Predictions = (
                _RegressorPredictions() if self.fold.classes is None else _ClassifierPredictions(self.fold.classes)
            )
            view.set(predictions)  # type: ignore[arg-type]
            recorded |= {s: float(get_scorer(s)(view, self._X_stub, self.fold.y_valid)) for s in rest}
        return tuple(recorded[s] for s in scorings)

    def estimated_bytes(self) -> int:
        """Memory this booster holds besides the shared fold, as measured (benchmarks/lgbm_engine.py).

        Per training row and tree per round (``k``: classes of a multiclass model, else 1) a score
        and a gradient pair (16 B) plus bagging and partition indices (about 32 B in all); per
        validation row 8 B per ``k``; and LightGBM's histogram cache, 16 B per bin of every feature
        for each of up to ``num_leaves`` leaves, which dominates for large ``num_leaves``
        (255 leaves x 7,915 bins: 32 MB). Trees themselves are small.
        """
        k = self._params.get("num_class", 1) if self.fold.n_classes and self.fold.n_classes > 2 else 1
        _, leaves = _lookup(self._params, "num_leaves")
        n_train, n_valid = self.fold.train.num_data(), self.fold.valid.num_data()
        return int(n_train * (16 * k + 32) + n_valid * 8 * k + 16 * int(leaves or 31) * self.fold.total_bins)

    def close(self) -> None:
        """Free the native booster now (its score and gradient buffers); the fold stays."""
        del self.booster

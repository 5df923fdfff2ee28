"""The LightGBM engine equals the scikit-learn wrapper: same trees, same scores after every round."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline

from tests.conftest import make_frame
from tunepipe import lgbm
from tunepipe.models import build_pipeline, split_features

# Bagging and feature fraction, so that the random state matters; small leaves, so trees differ.
PARAMS = {"num_leaves": 9, "learning_rate": 0.2, "subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.6,
          "min_child_samples": 5}
SEED = 7


class Fold:
    """A fold of make_frame's data: raw rows for the wrapper, preprocessed rows for the engine."""

    def __init__(self, task: str, n: int = 600, seed: int = 0) -> None:
        df = make_frame(n, task, seed=seed)
        X, y = df.drop(columns=["y", "row_id"]), df["y"]
        self.task = task
        self.numeric, self.categorical = split_features(X)
        cut = int(0.7 * n)
        self.X_train, self.y_train, self.X_valid, self.y_valid = X.iloc[:cut], y.iloc[:cut], X.iloc[cut:], y.iloc[cut:]
        prep = self.pipeline({})[:-1]  # the "prep" step as models.build_pipeline makes it (CategoricalCaster)
        self.P_train, self.P_valid = prep.fit_transform(self.X_train), prep.transform(self.X_valid)

    def pipeline(self, params: dict[str, Any], n_estimators: int = 100, threads: int = 1) -> Pipeline:
        return build_pipeline("lightgbm", self.task, self.numeric, self.categorical,
                              {**params, "n_estimators": n_estimators}, seed=SEED, threads=threads)

    def estimator(self, params: dict[str, Any], threads: int = 1) -> Any:
        return self.pipeline(params, threads=threads)[-1]

    def binned(self, params: dict[str, Any], threads: int = 1) -> lgbm.BinnedFold:
        key = lgbm.dataset_params(self.estimator(params, threads).get_params())
        return lgbm.BinnedFold(self.P_train, self.y_train, self.P_valid, self.y_valid, task=self.task,  # type: ignore[arg-type]
                               key=key, threads=threads)

    def wrapper_fit(self, params: dict[str, Any], k: int) -> Pipeline:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.pipeline(params, k).fit(self.X_train, self.y_train)

    def wrapper_predictions(self, params: dict[str, Any], k: int) -> np.ndarray:
        model = self.wrapper_fit(params, k)
        return model.predict(self.X_valid) if self.task == "regression" else model.predict_proba(self.X_valid)


def engine_predictions(live: lgbm.LiveBooster, fold: Fold) -> np.ndarray:
    p = live.booster.predict(fold.P_valid, num_threads=1)
    return np.column_stack([1 - p, p]) if fold.task == "binary" else p


@pytest.fixture(scope="module")
def folds() -> dict[str, Fold]:
    # Categorical columns with missing values (make_frame), preprocessed as the pipeline does.
    return {task: Fold(task) for task in ("binary", "multiclass", "regression")}


# (task, scorer, native LightGBM metric expected): native where it equals the scorer, else the scorer.
CASES = [
    ("binary", "roc_auc", "auc"),
    ("binary", "neg_log_loss", "binary_logloss"),
    ("binary", "accuracy", "binary_error"),
    ("binary", "balanced_accuracy", None),
    ("multiclass", "neg_log_loss", "multi_logloss"),
    ("multiclass", "accuracy", None),
    ("multiclass", "roc_auc_ovr", None),
    ("multiclass", "balanced_accuracy", None),
    ("regression", "neg_root_mean_squared_error", None),
    ("regression", "r2", None),
    ("regression", "neg_median_absolute_error", None),
]


@pytest.mark.parametrize(("task", "scoring", "native"), CASES)
def test_round_k_scores_as_the_scorer_on_a_wrapper_fit_with_k_rounds(
    folds: dict[str, Fold], task: str, scoring: str, native: str | None
) -> None:
    fold = folds[task]
    live = lgbm.LiveBooster(fold.binned(PARAMS), fold.estimator(PARAMS), scoring)
    assert live.metric.native == native
    curve = live.advance(30)
    assert len(curve) == live.rounds == 30
    scorer = get_scorer(scoring)
    for k in (1, 4, 16, 30):  # scored for every metric: powers of two and the last round of advance
        expected = scorer(fold.wrapper_fit(PARAMS, k), fold.X_valid, fold.y_valid)
        # Native metrics sum in another order than scikit-learn (1e-15); the scorer path is exact.
        assert curve[k - 1] == pytest.approx(expected, rel=1e-12, abs=1e-12), k
    if live.metric.every_round:
        assert not np.isnan(curve).any()
    else:  # scikit-learn classification scorers: rounds 1, 2, 4, 8, 16, 25 and the last one
        assert np.flatnonzero(~np.isnan(curve)).tolist() == [0, 1, 3, 7, 15, 24, 29]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_advancing_in_steps_equals_a_from_scratch_fit(folds: dict[str, Fold], task: str) -> None:
    fold = folds[task]
    scoring = "r2" if task == "regression" else "neg_log_loss"
    binned = fold.binned(PARAMS)
    stepped = lgbm.LiveBooster(binned, fold.estimator(PARAMS), scoring)
    stepped.advance(30)
    curve = stepped.advance(90)
    np.testing.assert_array_equal(engine_predictions(stepped, fold), fold.wrapper_predictions(PARAMS, 90))
    at_once = lgbm.LiveBooster(binned, fold.estimator(PARAMS), scoring)
    np.testing.assert_array_equal(at_once.advance(90), curve)
    assert stepped.advance(50) is not None and stepped.rounds == 90  # asking for fewer rounds does nothing


def test_trials_differing_in_leaf_parameters_share_a_fold_with_the_same_scores(folds: dict[str, Fold]) -> None:
    fold = folds["binary"]
    trials = [{**PARAMS, "min_child_samples": m, "num_leaves": leaves} for m, leaves in [(5, 9), (40, 4), (2, 31)]]
    keys = {lgbm.dataset_params(fold.estimator(p).get_params()) for p in trials}
    assert len(keys) == 1  # feature_pre_filter is off: min_child_samples does not change the bins
    shared = fold.binned(trials[0])
    for params in trials:
        live = lgbm.LiveBooster(shared, fold.estimator(params), "roc_auc")
        alone = lgbm.LiveBooster(fold.binned(params), fold.estimator(params), "roc_auc")
        np.testing.assert_array_equal(live.advance(20), alone.advance(20))
        np.testing.assert_array_equal(engine_predictions(live, fold), fold.wrapper_predictions(params, 20))


@pytest.mark.parametrize("name", ["max_bin", "max_bins"])  # LightGBM's name and an alias of it
def test_max_bin_needs_its_own_fold_and_then_equals_the_wrapper(folds: dict[str, Fold], name: str) -> None:
    fold = folds["regression"]
    coarse = {**PARAMS, name: 7}
    default_fold = fold.binned(PARAMS)
    assert dict(lgbm.dataset_params(fold.estimator(coarse).get_params()))["max_bin"] == 7
    with pytest.raises(ValueError, match="differ from the fold"):
        lgbm.LiveBooster(default_fold, fold.estimator(coarse), "r2")
    live = lgbm.LiveBooster(fold.binned(coarse), fold.estimator(coarse), "r2")
    live.advance(25)
    expected = fold.wrapper_predictions(coarse, 25)
    np.testing.assert_array_equal(engine_predictions(live, fold), expected)
    assert not np.array_equal(expected, fold.wrapper_predictions(PARAMS, 25))  # the bins do matter here


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"max_bin": 63}, {"max_bins": 63}, True),
        ({"subsample_for_bin": 1000}, {"bin_construct_sample_cnt": 1000}, True),
        ({"random_state": 1}, {"seed": 1}, True),
        ({"random_state": 1}, {"seed": 2}, False),  # seeds the rows sampled to find bins
        ({"min_child_samples": 5, "feature_pre_filter": False}, {"min_data_in_leaf": 50, "feature_pre_filter": False}, True),
        ({"min_child_samples": 5}, {"min_child_samples": 50}, False),  # pre-filter on (LightGBM's default)
        ({"num_leaves": 4, "learning_rate": 0.3}, {"num_leaves": 64, "reg_lambda": 1.0}, True),
        ({"zero_as_missing": True}, {}, False),
        ({"linear_tree": True}, {"linear_tree": False}, False),
        ({"class_weight": "balanced"}, {}, False),
    ],
)
def test_dataset_params_resolve_aliases_and_keep_only_what_binning_uses(
    a: dict[str, Any], b: dict[str, Any], same: bool
) -> None:
    assert (lgbm.dataset_params(a) == lgbm.dataset_params(b)) is same


def test_the_estimator_and_its_train_params_give_the_same_dataset_key(folds: dict[str, Fold]) -> None:
    fold = folds["multiclass"]
    estimator = fold.estimator({**PARAMS, "max_bin": 31})
    params = lgbm.train_params(estimator, np.unique(fold.y_train), fold.P_train.shape[1])
    assert params["objective"] == "multiclass" and params["num_class"] == 3 and params["num_threads"] == 1
    assert "num_iterations" not in params and "metric" not in params
    assert lgbm.dataset_params(params) == lgbm.dataset_params(estimator.get_params())
    two = lgbm.train_params(estimator, ["a", "b"], fold.P_train.shape[1])  # a fold with two classes
    assert two["objective"] == "binary" and "num_class" not in two


def test_class_weight_gives_weighted_bins_equal_to_the_wrapper(folds: dict[str, Fold]) -> None:
    fold = folds["multiclass"]
    params = {**PARAMS, "class_weight": {"low": 3.0, "mid": 1.0, "high": 0.5}}
    live = lgbm.LiveBooster(fold.binned(params), fold.estimator(params), "neg_log_loss")
    live.advance(15)
    np.testing.assert_array_equal(engine_predictions(live, fold), fold.wrapper_predictions(params, 15))


def test_a_validation_class_unseen_in_training_is_scored_by_the_scorer(folds: dict[str, Fold]) -> None:
    fold = folds["multiclass"]
    keep = fold.y_train != "low"
    P_train, y_train, X_train = fold.P_train[keep.to_numpy()], fold.y_train[keep], fold.X_train[keep]
    key = lgbm.dataset_params(fold.estimator(PARAMS).get_params())
    binned = lgbm.BinnedFold(P_train, y_train, fold.P_valid, fold.y_valid, task="multiclass", key=key, threads=1)
    assert binned.n_classes == 2 and not binned.valid_labels_known
    live = lgbm.LiveBooster(binned, fold.estimator(PARAMS), "accuracy")
    assert live.metric.native is None
    model = fold.pipeline(PARAMS, 12).fit(X_train, y_train)
    assert live.advance(12)[-1] == get_scorer("accuracy")(model, fold.X_valid, fold.y_valid)


def test_a_fold_refuses_a_trial_with_another_thread_count(folds: dict[str, Fold]) -> None:
    fold = folds["binary"]
    with pytest.raises(ValueError, match="num_threads is 2, but the fold was built with 1"):
        lgbm.LiveBooster(fold.binned(PARAMS, threads=1), fold.estimator(PARAMS, threads=2), "roc_auc")


def test_unknown_scorer_fails_with_scikit_learns_message() -> None:
    with pytest.raises(ValueError, match="not a valid scoring value"):
        lgbm.round_metric("roc_acu", "binary", 2)


def test_boosters_on_one_fold_advanced_from_many_threads_equal_sequential_ones(folds: dict[str, Fold]) -> None:
    fold = folds["binary"]
    trials = [{**PARAMS, "num_leaves": leaves, "subsample": s} for leaves in (4, 9, 31) for s in (0.6, 0.9)]
    binned = fold.binned(PARAMS)
    sequential = []
    for params in trials:
        live = lgbm.LiveBooster(binned, fold.estimator(params), "roc_auc")
        live.advance(60)
        sequential.append((live.curve, engine_predictions(live, fold)))

    # Boosters created and advanced in chunks from 4 threads at once, each chunk on any thread.
    with ThreadPoolExecutor(4) as pool:
        lives = list(pool.map(lambda p: lgbm.LiveBooster(binned, fold.estimator(p), "roc_auc"), trials))
        for to in (10, 20, 40, 60):
            list(pool.map(lambda live: live.advance(to), lives))  # noqa: B023 - used at once
    for live, (curve, predictions) in zip(lives, sequential, strict=True):
        np.testing.assert_array_equal(live.curve, curve)
        np.testing.assert_array_equal(engine_predictions(live, fold), predictions)


def test_scoring_only_some_rounds_keeps_their_scores(folds: dict[str, Fold]) -> None:
    fold = folds["binary"]
    binned = fold.binned(PARAMS)
    every = lgbm.LiveBooster(binned, fold.estimator(PARAMS), "roc_auc").advance(20)
    sparse = lgbm.LiveBooster(binned, fold.estimator(PARAMS), "roc_auc", every_round=False)
    sparse.advance(12)
    curve = sparse.advance(20)
    scored = np.flatnonzero(~np.isnan(curve)).tolist()
    assert scored == [0, 1, 3, 7, 11, 15, 19]  # powers of two and the end of each advance
    np.testing.assert_array_equal(curve[scored], every[scored])


def test_class_weight_by_integer_labels_equals_the_wrapper() -> None:
    fold = Fold("binary")
    fold.y_train, fold.y_valid = (fold.y_train == "yes").astype(int), (fold.y_valid == "yes").astype(int)
    params = {**PARAMS, "class_weight": {0: 1.0, 1: 4.0}}
    live = lgbm.LiveBooster(fold.binned(params), fold.estimator(params), "roc_auc")
    live.advance(15)
    np.testing.assert_array_equal(engine_predictions(live, fold), fold.wrapper_predictions(params, 15))


# Run in a fresh process, so that no memory freed by earlier tests is reused: the resident memory
# a few live boosters add, measured by the OS, against what estimated_bytes says they hold.
_MEASURE = """
import json, sys
import numpy as np, pandas as pd, psutil
from lightgbm import LGBMClassifier
from tunepipe import lgbm
leaves, n_boosters = int(sys.argv[1]), 4
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(20000, 40)), columns=[f"x{i}" for i in range(40)])
y = pd.Series(np.where(X.sum(axis=1) + rng.normal(size=20000) > 0, "yes", "no"))
est = LGBMClassifier(num_leaves=leaves, min_child_samples=5, n_estimators=100, num_threads=1, verbose=-1)
fold = lgbm.BinnedFold(X[:16000], y[:16000], X[16000:], y[16000:], task="binary",
                       key=lgbm.dataset_params(est.get_params()), threads=1)
warm = lgbm.LiveBooster(fold, est, "roc_auc")
warm.advance(2)  # the shared fold's own buffers, allocated by the first booster
before = psutil.Process().memory_info().rss
live = [lgbm.LiveBooster(fold, est, "roc_auc") for _ in range(n_boosters)]
for b in live:
    b.advance(2)
grown = (psutil.Process().memory_info().rss - before) / n_boosters
print(json.dumps({"measured": grown, "estimated": live[0].estimated_bytes()}))
"""


@pytest.mark.parametrize("leaves", [31, 255])
def test_estimated_bytes_are_what_the_os_measures_within_a_factor_of_two(leaves: int) -> None:
    """20,000 x 40 rows (about 10,000 bins): the histogram cache dominates at 255 leaves."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(leaves)], capture_output=True, text=True, check=True)
    sizes = json.loads(out.stdout)
    assert 0.5 <= sizes["measured"] / sizes["estimated"] <= 2.0, sizes


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_bagging_a_small_share_of_rows_equals_the_wrapper(folds: dict[str, Fold], task: str) -> None:
    """subsample 0.3: reading the wrapper's parameters once failed on a 2-row fit (an empty bag)."""
    fold = folds[task]
    params = {**PARAMS, "subsample": 0.3, "subsample_freq": 1}
    live = lgbm.LiveBooster(fold.binned(params), fold.estimator(params), "r2" if task == "regression" else "neg_log_loss")
    live.advance(15)
    np.testing.assert_array_equal(engine_predictions(live, fold), fold.wrapper_predictions(params, 15))

"""Model registry: ``model.kind`` -> a full scikit-learn pipeline (preprocessing + estimator).

Every model is a :class:`~sklearn.pipeline.Pipeline` ``[("prep", ...), ("model", estimator)]`` that
takes the raw feature columns, so preprocessing is fitted inside each fold (no leakage) and the
saved model predicts from raw data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from tunepipe.errors import ConfigError, did_you_mean

# What a model predicts; each kind has an estimator class per task family (classifier, regressor).
Task = Literal["binary", "multiclass", "regression"]
Preprocessing = Literal["category", "ordinal", "onehot"]


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model family.

    Attributes:
        classifier: Estimator class for binary / multiclass tasks (None: not available).
        regressor: Estimator class for regression (None: not available).
        preprocessing: ``category`` (native categorical support: pandas category dtype),
            ``ordinal`` (ordinal codes, NaN kept: trees), ``onehot`` (impute + one-hot + scale: linear).
        n_estimators_param: The estimator's parameter for ``search.resource: n_estimators``.
        defaults: Fixed parameters we set unless ``model.params`` overrides them.
        space: Default search space when ``search.space`` is null: the few parameters that matter
            most for the family, over ranges that hold for most tabular data sets.
        grid: Default grid for ``search.strategy: grid`` when ``search.space`` is null: a few
            values of the same parameters, around the family's defaults.
        seeded: Whether the estimator takes ``random_state``.
        threads_param: The estimator's thread-count parameter (None: native pools are capped by
            threadpoolctl around the fit instead).
        native_boosting: Whether trials train on LightGBM's native API (``tunepipe.lgbm``): each
            fold binned once, every round scored, boosting continued across budgets.
        full_budget: In a search over several kinds, the most of the resource this kind gets at the
            search's full budget (None: ``search.max_resources`` itself). A budget is then the same
            share of every kind's full budget, so trials of one rung are comparable across kinds.
    """

    classifier: Callable[..., BaseEstimator] | None
    regressor: Callable[..., BaseEstimator] | None
    preprocessing: Preprocessing
    n_estimators_param: str | None
    defaults: dict[str, Any]
    space: dict[str, dict[str, Any]]
    grid: dict[str, dict[str, Any]]
    seeded: bool = True
    threads_param: str | None = None
    native_boosting: bool = False
    full_budget: int | None = None


# LightGBM: quiet, and deterministic for given data, params and seed (its automatic row/col-wise
# choice is timing-based, so it is pinned). n_jobs is set per trial by the thread budget.
# feature_pre_filter off: with it on, a Dataset drops features that min_child_samples rows per leaf
# cannot split, so bins (and feature-fraction draws) would depend on min_child_samples, and one
# binned fold could not serve trials that tune it (tunepipe.lgbm); off, wrapper fits stay equal to them.
_LGBM_DEFAULTS = {"verbosity": -1, "deterministic": True, "force_col_wise": True, "feature_pre_filter": False}

_GBDT_SPACE = {
    "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
    "num_leaves": {"low": 8, "high": 256, "type": "int", "log": True},
    "min_child_samples": {"low": 5, "high": 200, "type": "int", "log": True},
    "subsample": {"low": 0.5, "high": 1.0},
    "subsample_freq": {"choices": [1]},
    "colsample_bytree": {"low": 0.4, "high": 1.0},
    "reg_lambda": {"low": 0.001, "high": 10.0, "log": True},
}
# Grids: 2-4 values per parameter, the family's default among them, a few dozen points in all.
_GBDT_GRID = {
    "learning_rate": {"choices": [0.03, 0.1]},
    "num_leaves": {"choices": [15, 31, 63, 127]},
    "min_child_samples": {"choices": [10, 20, 50]},
    "colsample_bytree": {"choices": [0.7, 1.0]},
}
_FOREST_GRID = {
    "max_features": {"choices": [0.3, 0.6, 1.0]},
    "min_samples_leaf": {"choices": [1, 3, 10]},
}
_HGB_GRID = {
    "learning_rate": {"choices": [0.03, 0.1]},
    "max_leaf_nodes": {"choices": [15, 31, 63, 127]},
    "min_samples_leaf": {"choices": [10, 20, 50]},
}
_C_GRID = {"C": {"choices": [0.01, 0.1, 1.0, 10.0, 100.0]}}
_ALPHA_GRID = {"alpha": {"choices": [0.01, 0.1, 1.0, 10.0, 100.0]}}
_FOREST_SPACE = {
    "max_features": {"low": 0.1, "high": 1.0},
    "min_samples_leaf": {"low": 1, "high": 50, "type": "int", "log": True},
    "max_depth": {"choices": [None, 8, 16, 32]},
}
_HGB_SPACE = {
    "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
    "max_leaf_nodes": {"low": 8, "high": 256, "type": "int", "log": True},
    "min_samples_leaf": {"low": 5, "high": 200, "type": "int", "log": True},
    "l2_regularization": {"low": 0.001, "high": 10.0, "log": True},
    "max_features": {"low": 0.4, "high": 1.0},
}

REGISTRY: dict[str, ModelSpec] = {
    "lightgbm": ModelSpec(
        LGBMClassifier, LGBMRegressor, "category", "n_estimators", _LGBM_DEFAULTS, _GBDT_SPACE, _GBDT_GRID,
        threads_param="n_jobs", native_boosting=True,
    ),
    # A forest's trees are averaged, not boosted: past its default 100 they cost linearly and gain
    # little, so beside other kinds a forest's full budget is its default count.
    "random_forest": ModelSpec(
        RandomForestClassifier, RandomForestRegressor, "ordinal", "n_estimators", {}, _FOREST_SPACE, _FOREST_GRID,
        threads_param="n_jobs", full_budget=100,
    ),
    "extra_trees": ModelSpec(
        ExtraTreesClassifier, ExtraTreesRegressor, "ordinal", "n_estimators", {}, _FOREST_SPACE, _FOREST_GRID,
        threads_param="n_jobs", full_budget=100,
    ),
    "hist_gradient_boosting": ModelSpec(
        HistGradientBoostingClassifier, HistGradientBoostingRegressor, "category", "max_iter", {}, _HGB_SPACE, _HGB_GRID
    ),
    "logistic_regression": ModelSpec(
        LogisticRegression, None, "onehot", None, {"max_iter": 1000}, {"C": {"low": 0.001, "high": 100.0, "log": True}},
        _C_GRID,
    ),
    "ridge": ModelSpec(
        RidgeClassifier, Ridge, "onehot", None, {}, {"alpha": {"low": 0.001, "high": 100.0, "log": True}}, _ALPHA_GRID
    ),
}


def default_space(kind: str, grid: bool = False) -> dict[str, dict[str, Any]]:
    """The search space used for ``kind`` when ``search.space`` is null (its grid for strategy grid)."""
    return REGISTRY[kind].grid if grid else REGISTRY[kind].space


class CategoricalCaster(TransformerMixin, BaseEstimator):
    """Cast columns to pandas ``category`` with the categories seen in ``fit``.

    Fixing the categories at fit time keeps the integer codes identical between training folds,
    holdout and later predictions; unseen values become missing.
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> CategoricalCaster:
        self.categories_ = {c: pd.Index(pd.unique(X[c].dropna())).sort_values() for c in X.columns}
        self.feature_names_in_ = list(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            # Unseen values are masked first: they become missing, as LightGBM expects.
            {c: pd.Categorical(X[c].where(X[c].isin(cats)), categories=cats) for c, cats in self.categories_.items()},
            index=X.index,
        )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_in_, dtype=object)


class LightGBMNames(TransformerMixin, BaseEstimator):
    """Rename columns whose names LightGBM refuses (it stores feature names in JSON and rejects
    ``" , : [ ] { }``) by replacing those characters with ``_``; other names pass unchanged.

    A name made equal to another column's gets ``_2``, ``_3``... so no two features merge.
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> LightGBMNames:
        self.feature_names_in_ = list(X.columns)
        taken = {str(c) for c in X.columns if not _LIGHTGBM_SPECIAL.search(str(c))}
        self.names_: dict[Any, str] = {}
        for column in X.columns:
            if not _LIGHTGBM_SPECIAL.search(str(column)):
                continue
            base = name = _LIGHTGBM_SPECIAL.sub("_", str(column))
            n = 1
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            taken.add(name)
            self.names_[column] = name
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.rename(columns=self.names_) if self.names_ else X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([self.names_.get(c, c) for c in self.feature_names_in_], dtype=object)


# The characters LightGBM's LGBM_BoosterCreate rejects in a feature name ("special JSON characters").
_LIGHTGBM_SPECIAL = re.compile(r'[",:\[\]{}]')


class TimeAsSeconds(TransformerMixin, BaseEstimator):
    """Dates and durations as numbers: a datetime column becomes seconds since 1970-01-01 (UTC for
    time-zone-aware ones), a timedelta column seconds; missing ones NaN. Other columns pass as they are.

    Trees split on time as on any number; no estimator reads datetime64 columns itself (and a
    date left as a category breaks LightGBM's saved model).
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> TimeAsSeconds:
        self.feature_names_in_ = list(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        temporal = [c for c in X.columns if _is_temporal(X[c])]
        if not temporal:
            return X
        X = X.copy()
        for c in temporal:
            column = X[c]
            if pd.api.types.is_datetime64_any_dtype(column):
                if getattr(column.dt, "tz", None) is not None:
                    column = column.dt.tz_convert("UTC").dt.tz_localize(None)
                column = column - pd.Timestamp("1970-01-01")
            X[c] = column.dt.total_seconds()
        return X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_in_, dtype=object)


def _is_temporal(column: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column)


def split_features(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric, categorical) column names: numbers, dates and durations (read as numbers, see
    :class:`TimeAsSeconds`) are numeric; anything else (strings, bools, categories) is categorical."""
    numeric = [c for c in X.columns
               if (pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])) or _is_temporal(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    return numeric, categorical


def _preprocessor(kind: Preprocessing, numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    if kind == "category":
        cat: Any = CategoricalCaster()
        num: Any = TimeAsSeconds()
    elif kind == "ordinal":
        # Trees split on codes; missing and unseen values get their own code (-1).
        cat = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)
        num = TimeAsSeconds()
    else:
        cat = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        num = make_pipeline(TimeAsSeconds(), SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    transformer = ColumnTransformer(
        [("num", num, numeric), ("cat", cat, categorical)], remainder="drop", verbose_feature_names_out=False
    )
    # pandas output keeps the category dtype that LightGBM / HistGradientBoosting read natively.
    return transformer.set_output(transform="pandas")


def estimator_class(kind: str, task: str, *, listed: bool = False) -> Callable[..., BaseEstimator]:
    """The estimator class for ``kind`` and ``task``; ConfigError if the pair does not exist
    (``listed``: ``kind`` is one of several in ``model.kind``)."""
    spec = REGISTRY[kind]
    cls = spec.regressor if task == "regression" else spec.classifier
    if cls is None:
        fits = [k for k, s in REGISTRY.items() if (s.regressor if task == "regression" else s.classifier)]
        family = "regressor" if task == "regression" else "classifier"
        if listed:
            raise ConfigError(
                f"model.kind lists '{kind}', but it has no {family} for data.task {task}; remove it from the list "
                f"(kinds with one: {', '.join(fits)})"
            )
        raise ConfigError(f"model.kind is '{kind}', but it has no {family} for data.task {task}; use one of: {', '.join(fits)}")
    return cls


def build_pipeline(
    kind: str,
    task: str,
    numeric: list[str],
    categorical: list[str],
    params: dict[str, Any],
    *,
    seed: int,
    threads: int = 1,
) -> Pipeline:
    """A fresh, unfitted pipeline for one model family with ``params`` on its estimator."""
    spec = REGISTRY[kind]
    cls = estimator_class(kind, task)
    kwargs: dict[str, Any] = dict(spec.defaults)
    # No get_params() probe here: this runs for every fold of every trial, and the spec already knows.
    if spec.seeded:
        kwargs["random_state"] = seed
    if spec.threads_param is not None:
        kwargs[spec.threads_param] = threads
    kwargs.update(params)
    if kind == "lightgbm" and params:
        # A default given again under another name (verbose for verbosity): the user's wins, and
        # LightGBM must not see both (it would keep one of them by its own rules).
        names = _lightgbm_names()
        given = {names.get(name, name) for name in params}
        for name in spec.defaults:
            if name not in params and names.get(name, name) in given:
                del kwargs[name]
    prep: Any = _preprocessor(spec.preprocessing, numeric, categorical)
    if kind == "lightgbm" and any(_LIGHTGBM_SPECIAL.search(str(c)) for c in [*numeric, *categorical]):
        prep = Pipeline([("columns", prep), ("names", LightGBMNames())])
    return Pipeline([("prep", prep), ("model", cls(**kwargs))])


def default_values(kind: str, task: str, names: list[str], fixed: dict[str, Any]) -> dict[str, Any]:
    """What the estimator uses for each of ``names`` when it is not searched: ``fixed`` (model.params),
    else tunepipe's defaults for the family, else the estimator's own."""
    own = estimator_class(kind, task)().get_params()
    merged = {**own, **REGISTRY[kind].defaults, **fixed}
    return {name: merged[name] for name in names if name in merged}


def kind_budget(kind: str, resource: str, budget: int | None, max_resources: int | None) -> int | None:
    """A budget of a search over several kinds, in ``kind``'s own units: the same share of its
    full budget (:attr:`ModelSpec.full_budget`) as ``budget`` is of ``max_resources``, at least 1.
    Rows (``n_samples``) and kinds without a cap are unchanged; so is None (the estimator's own)."""
    cap = REGISTRY[kind].full_budget
    if budget is None or resource != "n_estimators" or cap is None or max_resources is None or cap >= max_resources:
        return budget
    return max(1, round(budget * cap / max_resources))


def resource_param(kind: str, resource: str) -> str | None:
    """The estimator parameter the resource sets (None for ``n_samples``, which subsamples rows)."""
    return REGISTRY[kind].n_estimators_param if resource == "n_estimators" else None


@lru_cache(maxsize=None)
def _lightgbm_names() -> dict[str, str]:
    """Every parameter name LightGBM takes -> its canonical (native) name.

    LightGBM's scikit-learn estimators pass keyword arguments they do not know to the booster, so
    its native parameters and their aliases (``max_bin``, ``bagging_fraction``, ``num_leaf``) are
    parameters too. The list is LightGBM's own (``LGBM_DumpParamAliases``, read through
    ``lightgbm.basic._ConfigAliases``): it follows the installed version.
    """
    from lightgbm.basic import _ConfigAliases  # noqa: PLC0415 - LightGBM's table of its parameters

    names: dict[str, str] = {}
    for canonical, aliases in _ConfigAliases._get_all_param_aliases().items():
        for alias in aliases:
            names.setdefault(alias, canonical)
    # The scikit-learn API's own names (class_weight, importance_type) have no native counterpart.
    for name in LGBMClassifier().get_params():
        names.setdefault(name, name)
    return names


@lru_cache(maxsize=None)
def parameter_names(kind: str) -> dict[str, str]:
    """Every parameter name ``kind``'s estimators take -> its canonical name.

    Two names with the same canonical name set the same parameter (LightGBM's aliases:
    ``subsample`` and ``bagging_fraction``); for scikit-learn estimators each name is its own.
    """
    if kind == "lightgbm":
        return _lightgbm_names()
    spec = REGISTRY[kind]
    names: set[str] = set()
    # A family's classifier and regressor can differ (RidgeClassifier has class_weight, Ridge not).
    for cls in (spec.classifier, spec.regressor):
        if cls is not None:
            names |= set(cls().get_params())
    return {name: name for name in sorted(names)}


def estimator_name(kind: str) -> str:
    """How messages name ``kind``'s estimator (the library that judges its parameters)."""
    if kind == "lightgbm":
        return "LightGBM"
    spec = REGISTRY[kind]
    return " / ".join(cls.__name__ for cls in (spec.classifier, spec.regressor) if cls is not None)


def check_model_config(
    kind: str, params: dict[str, Any], space: dict[str, Any], *, resource: str, max_resources: int | None,
    among: tuple[str, ...] = (),
) -> None:
    """Cross-section rules that need the registry: kind exists, fixed (``model.params``) and tuned
    (``search.space``, sub-grids merged) names are real parameters of the estimator, no parameter is
    set twice (fixed and tuned, or by two aliases), none is one that tunepipe sets itself (the
    resource, the seed, the thread count), and the resource (``search.resource``, up to
    ``search.max_resources``) fits the model.

    ``among``: every kind of a search over several (``model.kind`` a list): the keys are then
    ``model.params.<kind>`` and ``search.space.<kind>``, and a kind without a number of estimators
    trains in full at every budget.
    """
    where = f".{kind}" if among else ""
    if kind not in REGISTRY:
        listed = f"model.kind lists '{kind}'" if among else f"model.kind is '{kind}'"
        raise ConfigError(
            f"{listed}, but must be one of: {', '.join(REGISTRY)}{did_you_mean(kind, REGISTRY)}"
            + ("; fix it or remove it from the list" if among else "")
        )
    spec = REGISTRY[kind]
    names = parameter_names(kind)
    for section, given in ((f"model.params{where}", params), (f"search.space{where}", space)):
        for name in given:
            if name not in names:
                hint = "; or set search.space: null for the model's default space" if section == "search.space" else ""
                raise ConfigError(
                    f"{section}.{name} is not a parameter of {estimator_name(kind)}{did_you_mean(name, names)}; "
                    f"fix or remove it{hint}"
                )
        _check_no_aliases_twice(section, given, names)
    _check_fixed_not_tuned(params, space, names, where)
    _check_not_owned(params, space, spec, names, resource=resource, max_resources=max_resources, where=where)
    if resource == "n_estimators" and not among:
        param = spec.n_estimators_param
        if param is None:
            raise ConfigError(
                f"search.resource is n_estimators, but model.kind '{kind}' has no number of estimators; "
                "set search.resource: n_samples"
            )
        if max_resources is None:
            raise ConfigError(
                f"search.max_resources is null, but resource n_estimators needs the largest number of "
                f"{param} to try; set e.g. search.max_resources: 500"
            )


def _alias_note(name: str, ref: str, names: dict[str, str]) -> str:
    """`` (LightGBM's alias of ref)`` when ``name`` is another name for ``ref``'s parameter, else ``""``."""
    return "" if name == ref or names.get(name) != names.get(ref) else f" (LightGBM's alias of {ref})"


def _check_no_aliases_twice(section: str, given: dict[str, Any], names: dict[str, str]) -> None:
    """Two names in one section that set the same parameter (LightGBM would keep one, silently)."""
    seen: dict[str, str] = {}
    for name in given:
        canonical = names[name]
        if canonical in seen:
            raise ConfigError(
                f"{section}.{name} and {section}.{seen[canonical]} are aliases of one LightGBM parameter "
                f"({canonical}), but LightGBM would use only one of them; keep one"
            )
        seen[canonical] = name


def _check_fixed_not_tuned(fixed: dict[str, Any], space: dict[str, Any], names: dict[str, str], where: str) -> None:
    """A parameter is either fixed (model.params) or tuned (search.space), never both."""
    tuned = {names[name]: name for name in space}
    for name, value in fixed.items():
        other = tuned.get(names[name])
        if other is not None:
            same = "it" if other == name else "the same parameter"
            raise ConfigError(
                f"model.params{where}.{name}{_alias_note(name, other, names)} is fixed at {value!r}, but "
                f"search.space{where}.{other} tunes {same}, so one would silently override the other; remove it "
                f"from model.params{where} to tune it, or from search.space{where} to fix it"
            )


def _check_not_owned(
    params: dict[str, Any], space: dict[str, Any], spec: ModelSpec, names: dict[str, str], *,
    resource: str, max_resources: int | None, where: str,
) -> None:
    """No fixed or tuned parameter is one tunepipe sets itself: the resource, the seed, the threads."""
    owned: dict[str, tuple[str, str, str]] = {}  # canonical name -> (our name, rule, fix)
    if resource == "n_estimators" and spec.n_estimators_param is not None:
        param = spec.n_estimators_param
        owned[names.get(param, param)] = (
            param,
            f"search.resource n_estimators sets {param} itself (per rung, up to search.max_resources "
            f"{max_resources}, and for the refit)",
            "set the budget with search.max_resources, or set search.resource: n_samples",
        )
    if spec.seeded:
        owned[names.get("random_state", "random_state")] = (
            "random_state", "tunepipe sets random_state from base.seed", "set base.seed instead"
        )
    if spec.threads_param is not None:
        param = spec.threads_param
        owned[names.get(param, param)] = (
            param,
            f"tunepipe sets {param} from execution.threads_per_trial (all cores for the refit)",
            "set execution.threads_per_trial instead",
        )
    for section, given in ((f"model.params{where}", params), (f"search.space{where}", space)):
        for name, value in given.items():
            if names[name] in owned:
                ours, rule, fix = owned[names[name]]
                shown = f"is {value!r}" if section == "model.params" else "is tuned"
                raise ConfigError(
                    f"{section}.{name}{_alias_note(name, ours, names)} {shown}, but {rule}; "
                    f"remove it from {section} and {fix}"
                )

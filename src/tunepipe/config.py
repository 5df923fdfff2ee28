"""Typed configuration: ``params.yaml`` (+ ``-S key=value`` overrides) -> validated :class:`Config`.

One section per pipeline stage plus ``base``. Every rule is checked here, once, and every error
names the key, the value, the rule and the fix, e.g. ``search.factor is 1, but must be >= 2``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sklearn.metrics import get_scorer_names

from tunepipe.errors import KEY, ConfigError, did_you_mean
from tunepipe.models import REGISTRY, Task, check_model_config, default_space
from tunepipe.search.settings import SearchSettings
from tunepipe.search.strategies import STRATEGIES, pairs_text, preset_of
# Re-exported: a search space is written in params.yaml, so its schema is part of the config's.
from tunepipe.space import KIND, Distribution



class _Section(BaseModel):
    # strict: YAML already gives typed values, so "5" for an int is a mistake, not something to coerce.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class BaseConfig(_Section):
    """``base``: settings shared by every stage."""

    seed: int = 42

    @field_validator("seed")
    @classmethod
    def _seed_range(cls, v: int) -> int:
        if not 0 <= v < 2**32:
            raise ValueError(f"{KEY} is {v}, but must be between 0 and 2**32 - 1; pick a smaller seed")
        return v


class DataConfig(_Section):
    """``data``: where the table is, what to predict, how much to hold out."""

    path: str
    target: str
    task: Literal["auto", "binary", "multiclass", "regression"] = "auto"
    test_size: float = 0.2
    drop: list[str] = []

    @field_validator("test_size")
    @classmethod
    def _test_size_range(cls, v: float) -> float:
        if not 0.0 < v < 1.0:
            raise ValueError(
                f"{KEY} is {v}, but must be a fraction strictly between 0 and 1; e.g. 0.2 holds out 20%"
            )
        return v


class CVConfig(_Section):
    """``cv``: the fold plan shared by every trial."""

    n_splits: int = 5
    shuffle: bool = True

    @field_validator("n_splits")
    @classmethod
    def _n_splits_range(cls, v: int) -> int:
        if v < 2:
            raise ValueError(f"{KEY} is {v}, but must be >= 2; cross-validation needs at least 2 folds")
        return v


# The strategy names, from the one table of what a strategy is (tunepipe.search.strategies).
Strategy = Literal[tuple(STRATEGIES)]  # type: ignore[valid-type]
# What a strategy pairs (search.sampler, search.scheduler), from the same table.
SamplerName = Literal[tuple(dict.fromkeys(s.sampler for s in STRATEGIES.values()))]  # type: ignore[valid-type]
SchedulerName = Literal[tuple(dict.fromkeys(s.scheduler for s in STRATEGIES.values()))]  # type: ignore[valid-type]
# search.space: one mapping, or a list of them (sub-grids); the shape picks the schema, so a bad
# distribution is reported once, under its own key, not once per shape.
# With several model kinds, a mapping of kind -> that kind's mapping ("per-kind"): told apart from
# one mapping by its values, mappings whose keys are not a distribution's (low, high, choices...).
_SPACE_TAGS = ("mapping", "sub-grids", "per-kind")
_DISTRIBUTION_KEYS = frozenset(Distribution.model_fields)


def _space_shape(v: Any) -> str:
    if isinstance(v, list):
        return "sub-grids"
    per_kind = isinstance(v, dict) and v and all(
        isinstance(x, dict) and x and not set(x) & _DISTRIBUTION_KEYS for x in v.values()
    )
    return "per-kind" if per_kind else "mapping"


Space = Annotated[
    Annotated[dict[str, Distribution], Tag("mapping")]
    | Annotated[list[dict[str, Distribution]], Tag("sub-grids")]
    | Annotated[dict[str, dict[str, Distribution]], Tag("per-kind")],
    Discriminator(_space_shape),
]

def _check_distinct(names: list[str], *, example: str, once: str) -> None:
    """A list of names (model kinds, scorers) is not empty and names nothing twice."""
    if not names:
        raise ValueError(f"{KEY} is [], but must name {example}")
    repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if repeated is not None:
        raise ValueError(f"{KEY} lists {repeated} twice, but {once}; remove one")


# search.time_budget's units: "90s", "10m", "1.5h" (a bare number is seconds).
_TIME_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


class SearchConfig(_Section):
    """``search``: the strategy, its budget and the space it samples."""

    strategy: Strategy = "tpe"
    # The two halves of a strategy, named directly: a strategy name is a preset of the pair
    # (README: the strategy table). Either may be left out; a pair no strategy makes is an error.
    sampler: SamplerName | None = None
    scheduler: SchedulerName | None = None
    n_candidates: int = 40
    factor: float = 3
    resource: Literal["n_estimators", "n_samples"] = "n_estimators"
    min_resources: int | Literal["smallest", "exhaust"] = "exhaust"
    max_resources: int | None = None
    aggressive_elimination: bool = False
    # Most trials in flight at once for strategies that learn from results as they arrive (tpe,
    # asha, bohb): how stale the model's view may be. Part of the search's definition (a DVC
    # param): execution.workers only changes speed, so workers beyond window wait.
    window: int = 4
    # ga: configurations per generation (the first drawn at random, each next bred from the best);
    # pbt: members of the population.
    population: int = 10
    # pbt: boosting rounds per step; after each step the worst members take over the best ones'
    # trees with perturbed parameters.
    pbt_interval: int = 100
    # With resource n_estimators on a boosting model: score each trial at its best number of
    # rounds up to the rung's budget (on the mean CV curve) and refit with that many rounds.
    score_best_iteration: bool = True
    # With resource n_estimators on LightGBM: a trial's folds train in step and stop once the mean
    # CV score has not improved for this many rounds (null: every trial trains its whole budget).
    early_stopping: int | None = 50
    # Trial 0 is the model's default configuration at the largest budget, whatever the strategy:
    # the winner (the best at the largest budget) then scores at least as well as the defaults.
    include_defaults: bool = True
    # random, grid, tpe: each trial races the best so far fold by fold and stops after its first
    # folds if it scores below it on each of them (search/schedulers/_racing.py).
    racing: bool = True
    # One scikit-learn scorer, or a list: every one is computed on every fold of every trial.
    scoring: str | list[str] = "roc_auc"
    # With several scorers: the one that ranks, races, stops early and picks the winner (null: the
    # first listed); the others are recorded.
    refit: str | None = None
    # Seconds (or "10m", "1h") after which no new trial is asked: running trials finish, then the
    # refit. The trials reached then depend on the machine; n_candidates stays the reproducible budget.
    time_budget: float | None = None
    # None: the model kind's default space (see tunepipe.models.REGISTRY), filled in by parse_config.
    # A list of mappings: sub-grids, as GridSearchCV's param_grid (strategy grid only).
    space: Space | None = None

    @field_validator("time_budget", mode="before")
    @classmethod
    def _seconds(cls, v: Any) -> Any:
        if v is None or isinstance(v, bool):
            return v
        text = str(v).strip().lower()
        unit = _TIME_UNITS.get(text[-1:]) if text else None
        try:
            seconds = float(text[:-1] if unit else text) * (unit or 1.0)
        except ValueError:
            raise ValueError(
                f"{KEY} is {v!r}, but must be a number of seconds or a duration such as '90s', '10m' or '1.5h'"
            ) from None
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{KEY} is {v!r}, but must be > 0 seconds, or null for no time limit")
        return seconds

    @field_validator("n_candidates", "window", "early_stopping", "pbt_interval")
    @classmethod
    def _at_least_one(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"{KEY} is {v}, but must be >= 1")
        return v

    @field_validator("population")
    @classmethod
    def _population(cls, v: int) -> int:
        if v < 2:
            raise ValueError(f"{KEY} is {v}, but must be >= 2: a generation breeds from two parents at least")
        return v

    @field_validator("factor")
    @classmethod
    def _factor_range(cls, v: float) -> float:
        if not (math.isfinite(v) and v >= 2):
            raise ValueError(
                f"{KEY} is {v:g}, but must be >= 2; each rung keeps 1/factor of the candidates (3 is usual)"
            )
        return v

    @field_validator("min_resources", "max_resources")
    @classmethod
    def _positive(cls, v: int | str | None) -> int | str | None:
        if isinstance(v, int) and v < 1:
            raise ValueError(f"{KEY} is {v}, but must be >= 1")
        return v

    @field_validator("scoring")
    @classmethod
    def _known_scorer(cls, v: str | list[str]) -> str | list[str]:
        names = get_scorer_names()
        if isinstance(v, list):
            _check_distinct(v, example="a scorer or list several; e.g. roc_auc", once="each scorer is computed once")
            for name in v:
                if name not in names:
                    raise ValueError(
                        f"{KEY} lists '{name}', but every entry must be a scikit-learn scorer name"
                        f"{did_you_mean(name, names)} (see sklearn.metrics.get_scorer_names())"
                    )
            return v[0] if len(v) == 1 else v  # a list of one scorer is that scorer
        if v not in names:
            raise ValueError(
                f"{KEY} is '{v}', but must be a scikit-learn scorer name{did_you_mean(v, names)} "
                "(see sklearn.metrics.get_scorer_names())"
            )
        return v

    @model_validator(mode="after")
    def _refit_among_scoring(self) -> SearchConfig:
        if self.refit is not None and self.refit not in self.metrics:
            listed = f"[{', '.join(self.metrics)}]" if isinstance(self.scoring, list) else f"'{self.scoring}'"
            raise ValueError(
                f"search.refit is '{self.refit}', but must be one of search.scoring ({listed}): the refit "
                f"metric picks the winner among the metrics computed; add '{self.refit}' to search.scoring, "
                "or set search.refit to one of them (null: the first)"
            )
        return self

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every scorer computed on every fold, in the order listed."""
        return tuple(self.scoring) if isinstance(self.scoring, list) else (self.scoring,)

    @property
    def refit_metric(self) -> str:
        """The scorer that ranks, races, stops early and picks the winner."""
        return self.refit or self.metrics[0]

    @property
    def other_metrics(self) -> tuple[str, ...]:
        """The scorers recorded besides the refit metric, in the order listed."""
        return tuple(m for m in self.metrics if m != self.refit_metric)

    @field_validator("space")
    @classmethod
    def _non_empty(
        cls, v: dict[str, Distribution] | list[dict[str, Distribution]] | None
    ) -> dict[str, Distribution] | list[dict[str, Distribution]] | None:
        grids = v if isinstance(v, list) else [v] if v is not None else []
        if (isinstance(v, list) and not v) or any(not g for g in grids):
            raise ValueError(
                f"{KEY} is empty, but must name at least one hyperparameter to tune, "
                "e.g. learning_rate: {low: 0.01, high: 0.3, log: true}, or null for the model's default space"
            )
        return v

    @model_validator(mode="after")
    def _resources_order(self) -> SearchConfig:
        if (
            isinstance(self.min_resources, int)
            and self.max_resources is not None
            and self.min_resources > self.max_resources
        ):
            raise ValueError(
                f"search.min_resources is {self.min_resources}, but must be <= search.max_resources "
                f"({self.max_resources}); lower min_resources or raise max_resources"
            )
        return self

    @model_validator(mode="after")
    def _pair_is_the_strategy(self) -> SearchConfig:
        if self.sampler is None and self.scheduler is None:
            return self
        named = f"search.sampler is {self.sampler}" if self.sampler else ""
        named += (" and " if named and self.scheduler else "") + (f"search.scheduler is {self.scheduler}" if self.scheduler else "")
        if "strategy" not in self.model_fields_set:
            if self.sampler is None or self.scheduler is None:
                raise ValueError(
                    f"{named}, but without search.strategy both halves are needed; set search.sampler and "
                    "search.scheduler, or search.strategy"
                )
            found = preset_of(self.sampler, self.scheduler)
            if found is None:
                raise ValueError(f"{named}, but no strategy pairs them; the pairs are {pairs_text()}")
            object.__setattr__(self, "strategy", found)  # the preset of that pair
            return self
        preset = STRATEGIES[self.strategy]
        pair = (self.sampler or preset.sampler, self.scheduler or preset.scheduler)
        if pair != (preset.sampler, preset.scheduler):
            found = preset_of(*pair)
            fix = f"set search.strategy: {found}" if found else f"the pairs are {pairs_text()}"
            raise ValueError(
                f"{named}, but search.strategy {self.strategy} pairs sampler {preset.sampler} with scheduler "
                f"{preset.scheduler}; {fix}, or leave out search.sampler and search.scheduler"
            )
        return self

    @model_validator(mode="after")
    def _space_fits_strategy(self) -> SearchConfig:
        strategy = STRATEGIES[self.strategy]
        if self.per_kind:
            assert isinstance(self.space, dict)
            if not strategy.several_kinds:
                raise ValueError(
                    f"search.space names a space per model kind, but strategy {self.strategy} searches one kind; "
                    f"use {', '.join(n for n, s in STRATEGIES.items() if s.several_kinds)}, or one model.kind"
                )
            problems = (strategy.space_problem(sub, where=f"search.space.{kind}") for kind, sub in self.space.items())
            problem = next((p for p in problems if p is not None), None)
        else:
            problem = strategy.space_problem(self.space or {})
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def per_kind(self) -> bool:
        """Whether the space is written per model kind (``search.space.<kind>``: several kinds)."""
        return isinstance(self.space, dict) and _space_shape(self.space) == "per-kind"

    def settings(self) -> SearchSettings:
        """This section as the plain values ``tunepipe.search`` takes (it never reads pydantic).

        A space per model kind becomes one sub-space per kind, each holding ``kind`` (a single
        choice) beside the kind's hyperparameters: a configuration picks its kind, then that
        kind's values, as scikit-learn's searches sample a list of spaces.
        """
        fields = type(self).model_fields
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(SearchSettings) if f.name != "changed"}
        if self.per_kind:
            assert isinstance(self.space, dict)
            values["space"] = [
                {KIND: Distribution(choices=[kind]), **sub} for kind, sub in self.space.items()  # type: ignore[dict-item]
            ]
        changed = {k for k in self.model_fields_set if getattr(self, k) != fields[k].default}
        return SearchSettings(**values, changed=frozenset(changed))

    @property
    def flat_space(self) -> dict[str, Distribution]:
        """Every hyperparameter the space names, with its distribution (sub-grids and kinds merged;
        a name in several keeps its last one: for checks of names and values, not for sampling).
        With several model kinds, ``kind`` is one of them, a choice among the kinds."""
        if self.per_kind:
            assert isinstance(self.space, dict)
            merged: dict[str, Distribution] = {KIND: Distribution(choices=list(self.space))}
            return merged | {name: dist for sub in self.space.values() for name, dist in sub.items()}  # type: ignore[union-attr]
        grids = self.space if isinstance(self.space, list) else [self.space or {}]
        return {name: dist for grid in grids for name, dist in grid.items()}  # type: ignore[union-attr]

    def space_of(self, kind: str) -> dict[str, Distribution]:
        """The hyperparameters searched for ``kind`` (with several kinds, its own space; else all)."""
        if self.per_kind:
            assert isinstance(self.space, dict)
            return dict(self.space[kind])  # type: ignore[arg-type]
        return {name: dist for name, dist in self.flat_space.items()}

    @property
    def param_names(self) -> list[str]:
        """Every hyperparameter the space names (over all sub-grids), sorted."""
        return sorted(self.flat_space)


def ignored_keys(search: SearchConfig) -> list[str]:
    """Keys set in params.yaml (or by -S) to a value other than their default that ``search.strategy``
    does not read, sorted (the table in tunepipe.search.strategies says which keys it reads).

    A key at its default loses nothing by being ignored: params.yaml lists the bracketed
    strategies' keys at their defaults, so that ``dvc exp run -S search.factor=4`` finds them
    (DVC's -S changes a key that exists; adding one needs ``+``), and a default run stays quiet.
    """
    return STRATEGIES[search.strategy].ignored(search.settings())


class ModelConfig(_Section):
    """``model``: which estimator family (or a list of them, searched together), and its fixed
    (untuned) parameters (with several kinds: ``params.<kind>``)."""

    kind: str | list[str] = "lightgbm"
    params: dict[str, Any] = {}

    @field_validator("kind")
    @classmethod
    def _kinds(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list):
            _check_distinct(v, example="a model kind or list several; e.g. lightgbm", once="each kind is searched once")
            if len(v) == 1:
                return v[0]  # a list of one kind is that kind
        return v

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds searched, in the order listed."""
        return tuple(self.kind) if isinstance(self.kind, list) else (self.kind,)

    @property
    def several(self) -> bool:
        """Whether one search chooses among several kinds."""
        return isinstance(self.kind, list)

    def params_of(self, kind: str) -> dict[str, Any]:
        """``kind``'s fixed parameters (``model.params``, or ``model.params.<kind>`` with several kinds)."""
        return dict(self.params.get(kind) or {}) if self.several else dict(self.params)

    @property
    def name(self) -> str:
        """How logs and summaries name the model: ``lightgbm``, or ``lightgbm | random_forest``."""
        return " | ".join(self.kinds)


class ExecutionConfig(_Section):
    """``execution``: how trials run. Does not change results, only speed."""

    workers: int | Literal["auto"] = "auto"
    threads_per_trial: int | Literal["auto"] = "auto"
    # The trial cache: every finished trial is stored under cache_dir (relative to the project), so
    # a killed run resumes and a larger search reuses what it already evaluated.
    cache: bool = True
    cache_dir: str = ".tunepipe/cache"
    # With resource n_estimators on LightGBM, a promoted candidate boosts on from its previous
    # rung's model (per fold, in the same process) instead of refitting: same scores, less work.
    continue_boosting: bool = True
    # Where trial tasks run: threads of the flow's process (default), a pool of `workers` processes,
    # or Dask: a local cluster of `workers` worker processes, or the cluster at dask_address.
    runner: Literal["threads", "processes", "dask"] = "threads"
    dask_address: str | None = None
    # A trial task that runs longer than this is stopped and recorded as a failed trial (null: no limit).
    trial_timeout: float | None = None
    # Retries of a trial task that fails for a transient reason (a lost worker, an I/O error). A
    # model error is deterministic: it is recorded as a failed trial and never retried.
    trial_retries: int = 1
    trial_retry_delay: float = 5.0

    @field_validator("workers", "threads_per_trial")
    @classmethod
    def _positive(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 1:
            raise ValueError(f"{KEY} is {v}, but must be >= 1 or 'auto'")
        return v

    @field_validator("trial_timeout")
    @classmethod
    def _positive_timeout(cls, v: float | None) -> float | None:
        if v is not None and v <= 0:
            raise ValueError(f"{KEY} is {v}, but must be > 0 seconds, or null for no limit")
        return v

    @field_validator("trial_retries", "trial_retry_delay")
    @classmethod
    def _non_negative(cls, v: float, info: ValidationInfo) -> float:
        if v < 0:
            rule = "; 0 turns retries off" if info.field_name == "trial_retries" else " seconds"
            raise ValueError(f"{KEY} is {v}, but must be >= 0{rule}")
        return v

    @field_validator("dask_address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and "://" not in v:
            raise ValueError(f"{KEY} is '{v}', but must be a scheduler address such as tcp://10.0.0.5:8786")
        return v

    @model_validator(mode="after")
    def _address_needs_dask(self) -> ExecutionConfig:
        if self.dask_address is not None and self.runner != "dask":
            raise ValueError(
                f"execution.dask_address is '{self.dask_address}', but execution.runner is '{self.runner}'; "
                "set execution.runner: dask to use the cluster, or remove dask_address"
            )
        return self


class EvaluateConfig(_Section):
    """``evaluate``: what is reported about the refit winner on the holdout (never changes the search)."""

    # "auto": the task's standard metrics (classification: roc_auc, log_loss, accuracy; regression:
    # rmse, mae, r2). A list: these scikit-learn scorer names, with scikit-learn's sign convention.
    metrics: Literal["auto"] | list[str] = "auto"

    @field_validator("metrics", mode="before")
    @classmethod
    def _list_or_auto(cls, v: Any) -> Any:
        # Before the union's own checks, which would report one error per alternative.
        if v == "auto" or isinstance(v, list):
            return v
        if isinstance(v, str):
            raise ValueError(f"{KEY} is '{v}', but must be auto or a list of scorer names; write [{v}]")
        raise ValueError(f"{KEY} is {v!r}, but must be auto or a list of scorer names, e.g. [roc_auc, accuracy]")

    @field_validator("metrics")
    @classmethod
    def _known_scorers(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list):
            names = get_scorer_names()
            for name in v:
                if name not in names:
                    raise ValueError(
                        f"{KEY} lists '{name}', but every entry must be a scikit-learn scorer name"
                        f"{did_you_mean(name, names)} (see sklearn.metrics.get_scorer_names()), or use auto"
                    )
        return v


class Config(_Section):
    """The whole ``params.yaml``."""

    base: BaseConfig = BaseConfig()
    data: DataConfig
    cv: CVConfig = CVConfig()
    search: SearchConfig
    model: ModelConfig = ModelConfig()
    execution: ExecutionConfig = ExecutionConfig()
    evaluate: EvaluateConfig = EvaluateConfig()


# Fields whose values are free-form mappings: their keys are not checked against a schema here.
_FREE_FORM = {("search", "space"), ("model", "params")}


def yaml_error_text(exc: yaml.YAMLError, single_line: bool = False) -> str:
    """A YAML error in one line: what is wrong and where (YAML's own message spans several lines).

    ``single_line``: the YAML was one line (a ``-S`` value), so the place is a character, not a line.
    """
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return problem
    if single_line:
        return f"{problem} at character {mark.column + 1} of the value"
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``key.path=value`` (DVC's ``-S`` syntax); the value is read as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"override '{text}' is not of the form key=value; write e.g. -S search.n_candidates=27"
        )
    path = key.strip().split(".")
    if not all(part.strip() for part in path):
        raise ConfigError(
            f"override '{text}' has an empty part in its key '{key.strip()}'; write the dotted key as in "
            "params.yaml, e.g. -S search.space.learning_rate.high=0.5"
        )
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"override '{text}' has a value that is not valid YAML ({yaml_error_text(exc, single_line=True)}); "
            "close every bracket and quote, and quote the whole -S argument for the shell, "
            "e.g. -S 'search.space={learning_rate: {low: 0.01, high: 0.3}}'"
        ) from None
    return [part.strip() for part in path], parsed


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``key.path=value`` override set."""
    out = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(
                    f"override '{text}': {'.'.join(path[: i + 1])} is {child!r}, not a section, "
                    "so it has no sub-keys; override the key itself"
                )
            node = child
        node[path[-1]] = value
    return out


def _check_unknown_keys(
    raw: Any, model: type[BaseModel], prefix: tuple[str, ...] = (), source: str = "params.yaml"
) -> None:
    """Reject keys the schema does not know, suggesting the closest known one."""
    if not isinstance(raw, dict):
        return
    fields = model.model_fields
    for key, value in raw.items():
        dotted = ".".join((*prefix, str(key)))
        if key not in fields:
            where = f"section {'.'.join(prefix)}" if prefix else source
            raise ConfigError(
                f"{dotted} is not a known key{did_you_mean(str(key), fields)} "
                f"(known keys in {where}: {', '.join(fields)}); fix or remove it"
            )
        annotation = fields[key].annotation
        if (*prefix, key) == ("search", "space") and isinstance(value, (dict, list)):
            # Hyperparameter names (and model kinds) are free; each one's distribution keys are not.
            if _space_shape(value) == "per-kind":
                grids, places = list(value.values()), [("search", "space", str(kind)) for kind in value]
            elif isinstance(value, list):
                grids, places = value, [("search", f"space[{i}]") for i in range(len(value))]
            else:
                grids, places = [value], [("search", "space")]
            for grid, where in zip(grids, places):
                for name, dist in (grid.items() if isinstance(grid, dict) else []):
                    _check_unknown_keys(dist, Distribution, (*where, str(name)), source)
            continue
        if (*prefix, key) in _FREE_FORM:
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _check_unknown_keys(value, annotation, (*prefix, str(key)), source)


# What a section or a distribution must look like, for an error about a value that is not one.
_SHAPES = {
    "Distribution": "a distribution such as {low: 0.01, high: 0.3, log: true} or {choices: [a, b]}",
    "search.space": "a mapping of hyperparameter names to distributions, or null for the model's default space",
    "model.params": "a mapping of estimator parameter names to values, e.g. {max_bin: 63}",
}


def _dotted(loc: list[Any]) -> str:
    """``['data', 'drop', 0]`` -> ``data.drop[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _format_error(err: Any, source: str) -> str:
    dotted = _dotted(err["loc"])
    if err["type"] == "value_error":
        return str(err["ctx"]["error"]).replace(KEY, dotted)
    if err["type"] == "missing":
        return f"{dotted} is missing, but is required; add it to {source}"
    if err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        shape = _SHAPES.get(err.get("ctx", {}).get("class_name", ""), "a section (a mapping of keys)")
        if err["type"] == "dict_type":
            shape = _SHAPES.get(dotted, "a mapping of names to values")
        return f"{dotted} is {err['input']!r}, but must be {shape}; fix {dotted} in {source}"
    msg = err["msg"]
    return f"{dotted} is {err['input']!r}, but {msg[0].lower()}{msg[1:]}; fix {dotted} in {source}"


def parse_config(raw: Any, overrides: list[str] | None = None, source: str = "params.yaml") -> Config:
    """Validate a parsed ``params.yaml`` mapping (plus overrides) into a :class:`Config`.

    ``source`` names the params file in messages.

    Raises:
        ConfigError: with one message per problem found by the schema.
    """
    if not isinstance(raw, dict):
        raise ConfigError(
            f"params file '{source}' must be a mapping of sections, but holds a {type(raw).__name__}; "
            "start from the project's params.yaml"
        )
    raw = apply_overrides(raw, overrides or [])
    _check_unknown_keys(raw, Config, source=source)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        # A union (int | 'smallest' | ...) reports one error per alternative: merge them per key.
        problems: dict[str, list[Any]] = {}
        for err in exc.errors():
            loc = [p for i, p in enumerate(err["loc"]) if not _is_union_tag(p)
                   and not (i == 2 and err["loc"][:2] == ("search", "space") and p in _SPACE_TAGS)]
            problems.setdefault(".".join(map(str, loc)), []).append({**err, "loc": loc})
        messages = []
        for errs in problems.values():
            if len(errs) == 1 or any(e["type"] == "value_error" for e in errs):
                messages.append(_format_error(next((e for e in errs if e["type"] == "value_error"), errs[0]), source))
            else:
                merged = " or ".join(e["msg"][0].lower() + e["msg"][1:] for e in errs)
                messages.append(_format_error({**errs[0], "msg": merged}, source))
        raise ConfigError("\n".join(messages)) from None
    # Cross-section rules need the model registry.
    if cfg.model.several:
        return _check_several_kinds(cfg)
    if cfg.search.per_kind:
        assert isinstance(cfg.search.space, dict)
        first = next(iter(cfg.search.space))
        raise ConfigError(
            f"search.space.{first} is a space for model kind {first}, but model.kind is one kind ({cfg.model.kind}); "
            f"list the kinds in model.kind (e.g. [{cfg.model.kind}, {first}]), or write search.space as one mapping "
            "of hyperparameters"
        )
    if cfg.search.space is None and cfg.model.kind in REGISTRY:
        cfg = _with_space(cfg, _default_space(cfg, cfg.model.kind))
    check_model_config(
        cfg.model.kind, cfg.model.params, cfg.search.flat_space,  # type: ignore[arg-type]
        resource=cfg.search.resource, max_resources=cfg.search.max_resources,
    )
    if cfg.search.strategy == "pbt":
        check_pbt(cfg)
    return cfg


def _default_space(cfg: Config, kind: str) -> dict[str, Distribution]:
    default = default_space(kind, grid=cfg.search.strategy == "grid")
    return {k: Distribution.model_validate(v) for k, v in default.items()}


def _with_space(cfg: Config, space: Any) -> Config:
    return cfg.model_copy(update={"search": cfg.search.model_copy(update={"space": space})})


def _check_several_kinds(cfg: Config) -> Config:
    """``model.kind`` a list: each kind known, ``model.params`` and ``search.space`` written per kind
    and only for listed kinds, each kind's params and space valid for it, a strategy that can choose
    among kinds. Returns the config with each kind's default space filled in."""
    kinds = cfg.model.kinds
    listed = f"[{', '.join(kinds)}]"
    for kind in kinds:
        if kind not in REGISTRY:
            raise ConfigError(
                f"model.kind lists '{kind}', but each kind must be one of: {', '.join(REGISTRY)}"
                f"{did_you_mean(kind, REGISTRY)}; fix it or remove it from the list"
            )
    strategy = STRATEGIES[cfg.search.strategy]
    if not strategy.several_kinds:
        able = ", ".join(n for n, s in STRATEGIES.items() if s.several_kinds)
        raise ConfigError(
            f"search.strategy is {cfg.search.strategy}, but model.kind lists several kinds {listed} and "
            f"{cfg.search.strategy} searches one kind's space; use one of {able}, or one model.kind"
        )
    for key, value in cfg.model.params.items():
        if key not in kinds or not isinstance(value, dict):
            rule = (f"is set, but model.kind {listed} does not list {key}" if key in REGISTRY or isinstance(value, dict)
                    else "is set, but with several kinds model.params maps each kind to its parameters")
            raise ConfigError(
                f"model.params.{key} {rule}; write each kind's parameters under its name, "
                f"e.g. model.params.{kinds[0]}.{key if key not in REGISTRY else 'name'}: value"
            )
    space = cfg.search.space
    if space is not None and not cfg.search.per_kind:
        shape = "a list of sub-grids" if isinstance(space, list) else "one mapping of hyperparameters"
        raise ConfigError(
            f"search.space is {shape}, but model.kind lists several kinds {listed}, each with its own space; "
            f"write it per kind (search.space.{kinds[0]}: {{...}}), or null for each kind's default space"
        )
    given = dict(space or {})  # type: ignore[arg-type]
    for kind in given:
        if kind not in kinds:
            raise ConfigError(
                f"search.space.{kind} is set, but model.kind {listed} does not list {kind}; "
                f"add {kind} to model.kind, or remove search.space.{kind}"
            )
    # Each kind's own space, or its default one: every kind is searched.
    cfg = _with_space(cfg, {kind: given.get(kind) or _default_space(cfg, kind) for kind in kinds})
    for kind in kinds:
        check_model_config(
            kind, cfg.model.params_of(kind), cfg.search.space_of(kind),
            resource=cfg.search.resource, max_resources=cfg.search.max_resources, among=kinds,
        )
    if cfg.search.resource == "n_estimators" and cfg.search.max_resources is None:
        raise ConfigError(
            "search.max_resources is null, but resource n_estimators needs the largest number of boosting "
            "rounds / trees to try; set e.g. search.max_resources: 500"
        )
    return cfg


def check_pbt(cfg: Config) -> None:
    """Population-based training switches LightGBM's parameters between boosting rounds: it needs
    a native boosting model whose budget is boosting rounds."""
    kind = cfg.model.kind
    if kind in REGISTRY and not REGISTRY[kind].native_boosting:
        raise ConfigError(
            f"model.kind is {kind}, but strategy pbt changes a LightGBM booster's parameters between boosting "
            "rounds; use model.kind: lightgbm, or another strategy (tpe, halving, ...)"
        )
    if cfg.search.resource != "n_estimators":
        raise ConfigError(
            f"search.resource is {cfg.search.resource}, but strategy pbt trains its population in steps of "
            "boosting rounds; set search.resource: n_estimators, or use another strategy"
        )


def _is_union_tag(part: Any) -> bool:
    """Pydantic adds the union member (``int``, ``literal['a','b']``) to a failing field's location."""
    return isinstance(part, str) and (
        part in {"int", "float", "str", "bool", "none"} or part.startswith(("literal[", "list[", "dict["))
    )

"""What decides a trial's scores (:class:`TrialSpec`, with the one digest every key is made from),
apart from how it runs (:class:`RunOptions`: threads, fold pool, continued boosting)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sklearn.pipeline import Pipeline

from tunepipe import lgbm
from tunepipe.models import REGISTRY, Task, build_pipeline, kind_budget, resource_param
from tunepipe.results import Segment, Trial
from tunepipe.space import KIND

if TYPE_CHECKING:
    from tunepipe.config import Config
    from tunepipe.data import Prepared


@dataclass(frozen=True)
class KindOption:
    """One model kind of a search over several: its fixed params (``model.params.<kind>``)."""

    kind: str
    fixed_params: dict[str, Any]


@dataclass(frozen=True)
class TrialSpec:
    """Everything besides the configuration and its budget that decides a trial's scores.

    Attributes:
        data_fingerprint: The split's (data and fold plan); "" when unknown (nothing is cached).
        score_best_iteration: Score at the best round on the mean CV curve (boosting, n_estimators).
        early_stopping: Stop a LightGBM trial once its mean CV score has not improved for this
            many rounds (None: train the whole budget).
        kinds: A search over several model kinds: each kind's option. A configuration then
            names its kind (``params["kind"]``) and :meth:`TrialSetup.narrow` gives the spec of
            that kind alone; ``kind`` and ``fixed_params`` are the first kind's. Empty: one kind.
        max_resources: The search's full budget, which each kind's full budget corresponds to
            (several kinds, resource ``n_estimators``: :func:`tunepipe.models.kind_budget`).
        metrics: The scorers recorded besides ``scoring`` (the refit metric), on every fold where
            ``scoring`` is taken.
    """

    kind: str
    task: Task
    fixed_params: dict[str, Any]
    scoring: str
    resource: str
    seed: int
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    score_best_iteration: bool = False
    early_stopping: int | None = None
    data_fingerprint: str = ""
    kinds: tuple[KindOption, ...] = ()
    max_resources: int | None = None
    metrics: tuple[str, ...] = ()

    @property
    def native_boosting(self) -> bool:
        """Whether trials train on LightGBM's native API (:mod:`tunepipe.lgbm`)."""
        return REGISTRY[self.kind].native_boosting

    @property
    def preprocessing(self) -> str:
        """How the model family preprocesses features (the fold cache's key)."""
        return REGISTRY[self.kind].preprocessing

    @cached_property
    def digest(self) -> str:
        """One hash of every field, as it matters to scores: the trial cache key and the live
        boosters' lineage are both made from it, so the two cannot drift apart."""
        fields = {
            "data": self.data_fingerprint, "kind": self.kind, "task": self.task, "fixed": self.fixed_params,
            "scoring": self.scoring, "resource": self.resource, "seed": self.seed, "numeric": self.numeric,
            "categorical": self.categorical,
            # Best-iteration scoring only means something for boosting rounds: the same scores otherwise.
            "best_iteration": self.score_best_iteration and self.native_boosting and self.resource == "n_estimators",
            "early_stopping": self.early_stopping,
            "kinds": [[k.kind, k.fixed_params] for k in self.kinds], "max_resources": self.max_resources,
            "metrics": self.metrics,
        }
        # sort_keys: the digest must not depend on the order params.yaml lists the fixed params in.
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=repr).encode()).hexdigest()


@dataclass(frozen=True)
class RunOptions:
    """How a trial runs; never changes its scores.

    Attributes:
        threads: Native threads per fit (LightGBM's num_threads, BLAS and OpenMP pools).
        fold_workers: Fold fits run on a pool of this many threads shared by all trials of the
            process (:func:`tunepipe.execution.fold_pool`); 1 fits the folds in the trial's thread.
        continue_boosting: Boost a promoted configuration on from its previous budget's live
            boosters (:mod:`tunepipe.lgbm`).
    """

    threads: int = 1
    fold_workers: int = 1
    continue_boosting: bool = False


@dataclass(frozen=True)
class TrialSetup:
    """Everything a trial needs besides the data and the configuration (small, cheap to ship to a worker)."""

    spec: TrialSpec
    run: RunOptions = RunOptions()

    def pipeline(self, params: dict[str, Any], n_resources: int | None = None) -> Pipeline:
        """Unfitted pipeline for ``params``; ``n_resources`` sets the resource parameter if it is one."""
        spec = self.spec
        merged = {**spec.fixed_params, **params}
        param = resource_param(spec.kind, spec.resource)
        if param is not None and n_resources is not None:
            merged[param] = n_resources
        return build_pipeline(
            spec.kind, spec.task, list(spec.numeric), list(spec.categorical), merged,
            seed=spec.seed, threads=self.run.threads,
        )

    def estimator(self, params: dict[str, Any], n_resources: int | None = None) -> Any:
        """Unfitted estimator alone (the pipeline's last step), for data already preprocessed."""
        return self.pipeline(params, n_resources)[-1]

    def narrow(self, params: dict[str, Any], budget: int | None) -> tuple[TrialSetup, dict[str, Any], int | None]:
        """A configuration of a search over several kinds as one of its kind alone: the setup of
        that kind (its fixed params; early stopping and continued boosting where it boosts
        natively), its params without ``kind``, and ``budget`` in the kind's own units
        (:func:`tunepipe.models.kind_budget`). Anything else is returned as it is."""
        spec = self.spec
        if not spec.kinds or KIND not in params:
            return self, params, budget
        kind = params[KIND]
        option = next(k for k in spec.kinds if k.kind == kind)
        native = REGISTRY[kind].native_boosting and spec.resource == "n_estimators"
        narrowed = dataclasses.replace(
            spec, kind=kind, fixed_params=option.fixed_params, kinds=(), max_resources=None,
            early_stopping=spec.early_stopping if native else None,
        )
        run = dataclasses.replace(self.run, continue_boosting=self.run.continue_boosting and native)
        rest = {name: value for name, value in params.items() if name != KIND}
        return TrialSetup(narrowed, run), rest, kind_budget(kind, spec.resource, budget, spec.max_resources)

    def narrow_trial(self, trial: Trial) -> tuple[TrialSetup, Trial]:
        """:meth:`narrow` for a trial: the kind's setup, and the trial with the kind's params and budget."""
        setup, params, budget = self.narrow(trial.params, trial.budget)
        if setup is self:
            return self, trial
        assert budget is not None
        return setup, dataclasses.replace(trial, params=params, budget=budget)


def make_setup(cfg: Config, split: Prepared, threads: int, fingerprint: str = "") -> TrialSetup:
    """The trial setup for ``cfg`` on a written split (its task, feature columns and fingerprint)."""
    kinds = cfg.model.kinds
    continuable = cfg.search.resource == "n_estimators" and any(REGISTRY[k].native_boosting for k in kinds)
    spec = TrialSpec(
        kind=kinds[0],
        task=split.task,
        fixed_params=cfg.model.params_of(kinds[0]),
        kinds=tuple(KindOption(k, cfg.model.params_of(k)) for k in kinds) if cfg.model.several else (),
        max_resources=cfg.search.max_resources if cfg.model.several else None,
        scoring=cfg.search.refit_metric,
        metrics=cfg.search.other_metrics,
        resource=cfg.search.resource,
        seed=cfg.base.seed,
        numeric=tuple(split.numeric),
        categorical=tuple(split.categorical),
        score_best_iteration=cfg.search.score_best_iteration,
        early_stopping=cfg.search.early_stopping if continuable else None,
        data_fingerprint=fingerprint,
    )
    return TrialSetup(spec, RunOptions(threads=threads, continue_boosting=cfg.execution.continue_boosting and continuable))


def lineage_key(params: dict[str, Any], setup: TrialSetup, schedule: tuple[Segment, ...] | None = None) -> str:
    """What names a configuration's live boosters across budgets: its params (and the schedule
    trained before them, population-based training) under this spec and thread count (a booster
    continued with other threads could grow other trees). A configuration of a search over several
    kinds is named as its kind alone (:meth:`TrialSetup.narrow`), as the trial that grows it sees it."""
    setup, params, _ = setup.narrow(params, None)
    # The split's fingerprint in clear too: a worker frees every booster grown on a split it forgets.
    fields: dict[str, Any] = {
        "data": setup.spec.data_fingerprint, "spec": setup.spec.digest, "threads": setup.run.threads, "params": params,
    }
    if schedule is not None:
        fields["schedule"] = [[s.rounds, s.params] for s in schedule]
    return json.dumps(fields, sort_keys=True, default=repr)


def frozen_params(cfg: Config) -> frozenset[str]:
    """The searched hyperparameters LightGBM fixes when it bins a fold
    (:func:`tunepipe.lgbm.fixed_at_binning`): pbt never perturbs them."""
    if cfg.model.several or cfg.model.kind not in REGISTRY or not REGISTRY[cfg.model.kind].native_boosting:
        return frozenset()
    return lgbm.fixed_at_binning(cfg.search.param_names, cfg.model.params)

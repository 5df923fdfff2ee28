"""Every check that needs params and data, in one place: run before Prefect starts and before any
output is written, so bad input stops a command in a second with one message, not a search later.

Each stage command checks what it reads (``run`` and ``serve`` check everything, from the data
file); the CLI reads the files and calls these pure functions. They raise
:class:`~tunepipe.errors.TunepipeError` (exit 2) and return the data's warnings.
"""

from __future__ import annotations

import math
import os
import re
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from tunepipe import data, lgbm
from tunepipe.config import Config, Distribution, Task
from tunepipe.errors import ConfigError
from tunepipe.models import REGISTRY, build_pipeline, estimator_class, estimator_name, resource_param, split_features
from tunepipe.scoring import frozen_params
from tunepipe.space import KIND

# Rows of the real data the estimator is fitted on to check parameter values: a few of each class,
# so every fit takes milliseconds and sees every class.
PROBE_ROWS = 30
# Boosting rounds / trees of a probe fit: whether a value is accepted does not depend on the count.
PROBE_ROUNDS = 3
# Seconds to wait for a Dask scheduler's TCP port before execution.dask_address is an error.
CONNECT_TIMEOUT = 5.0
# A library's message quoted in ours is cut here (some print whole parameter tables).
MAX_REASON = 300


def check_run(df: pd.DataFrame, cfg: Config) -> list[str]:
    """``tunepipe run`` (and ``serve``): every rule on the data file; returns the data's warnings."""
    task = data.validate(df, cfg, scorers=True)
    y = df[cfg.data.target]
    check_resources(cfg, data.n_training_rows(len(df), cfg.data.test_size), _n_classes(y, task))
    X = df.drop(columns=[cfg.data.target, *cfg.data.drop])
    check_params_fit(cfg, task, X, y, tuned=True)
    return data.quality_warnings(df, cfg, task)


def check_cluster(cfg: Config, timeout: float = CONNECT_TIMEOUT) -> None:
    """``execution.dask_address`` answers: a TCP connection to the scheduler opens within ``timeout``.

    Checked with the other checks, before anything is written: Dask itself waits 30 s and then
    fails with a long traceback, after the split is written.
    """
    address = cfg.execution.dask_address
    if cfg.execution.runner != "dask" or address is None:
        return
    parsed = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ConfigError(
            f"execution.dask_address is '{address}', but must name a host and a port, such as tcp://10.0.0.5:8786"
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__)
        raise ConfigError(
            f"execution.dask_address is '{address}', but no Dask scheduler answers there ({reason} within "
            f"{timeout:g} s); start one (`dask scheduler`), fix the address, or set execution.runner: threads"
        ) from None


def check_split(df: pd.DataFrame, cfg: Config) -> list[str]:
    """``tunepipe split``: the data rules the split reads (data, cv); returns the data's warnings."""
    task = data.validate(df, cfg, scorers=False)
    return data.quality_warnings(df, cfg, task)


def check_tune(split: data.Prepared, cfg: Config) -> None:
    """``tunepipe tune``: scorers, resources and parameter values against the written split."""
    data.check_scorers(cfg, split.y_train, split.task)
    check_resources(cfg, len(split.train), split.n_classes)
    check_params_fit(cfg, split.task, split.X_train, split.y_train, tuned=True)


def check_train(split: data.Prepared, cfg: Config, winner_params: dict[str, Any]) -> None:
    """``tunepipe train``: the fixed parameters, and the winner's, fit the estimator on the split."""
    check_params_fit(cfg, split.task, split.X_train, split.y_train, tuned=False, extra=winner_params)


def check_resources(cfg: Config, n_train: int, n_classes: int | None) -> None:
    """The search's resources resolve against the training rows (``n_samples``: max_resources <=
    training rows, min_resources <= max_resources), as the tune stage will resolve them."""
    # The search package owns these rules; building the search is how they are applied.
    from tunepipe.search import make_search  # noqa: PLC0415

    make_search(
        cfg.search.settings(), seed=cfg.base.seed, n_train=n_train, n_splits=cfg.cv.n_splits, n_classes=n_classes,
        frozen=frozen_params(cfg),
    )


def _n_classes(y: pd.Series, task: Task) -> int | None:
    return None if task == "regression" else int(y.nunique())


def check_params_fit(
    cfg: Config,
    task: Task,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    tuned: bool,
    extra: dict[str, Any] | None = None,
) -> None:
    """``model.params`` and (``tuned``) every value ``search.space`` can produce are accepted by the
    estimator: the real pipeline is fitted on a few rows of the real data, and the library's own
    error becomes a ConfigError naming the key and the value.

    Each dimension is tried at its low and high end (and each choice), the others at their middle.
    A value is blamed only if the defaults fit these rows, and the value still fails on all rows
    (so a value that needs more rows than the sample, such as ``max_samples: 100``, is not).
    """
    extra = dict(extra or {})
    if not cfg.model.several:
        _check_kind_fit(cfg, cfg.model.kind, task, X, y, tuned=tuned, extra=extra)  # type: ignore[arg-type]
        return
    # Several kinds: each kind's params and space on its own estimator (the winner's: its kind's).
    for kind in cfg.model.kinds:
        estimator_class(kind, task, listed=True)
    for kind in cfg.model.kinds:
        if KIND in extra and extra[KIND] != kind:
            continue
        own = {k: v for k, v in extra.items() if k != KIND}
        _check_kind_fit(cfg, kind, task, X, y, tuned=tuned, extra=own, where=f".{kind}")


def _check_kind_fit(
    cfg: Config, kind: str, task: Task, X: pd.DataFrame, y: pd.Series, *, tuned: bool, extra: dict[str, Any],
    where: str = "",
) -> None:
    """:func:`check_params_fit` for one model kind (``where``: ``.<kind>`` with several kinds)."""
    fixed = cfg.model.params_of(kind)
    space = cfg.search.space_of(kind) if tuned else {}
    if kind == "lightgbm":
        check_objective(fixed, space, task, where)
    probe = _Probe(cfg, kind, task, X, y)
    middle = {name: _middle(dist) for name, dist in space.items()}

    if (reason := probe.rejects({**fixed, **middle, **extra})) is None:
        pass
    elif probe.rejects({}) is not None:
        return  # even the defaults fail on these rows: nothing to learn about the params from them
    elif probe.rejects(middle) is None:
        for name, value in fixed.items():
            if (alone := probe.rejects({**middle, name: value})) is not None:
                raise ConfigError(
                    f"model.params{where}.{name} is {value!r}, but {probe.library} rejects it ({alone}); fix or remove it"
                )
        if extra and probe.rejects({**fixed, **middle}) is None:
            raise ConfigError(
                f"models/winner.json's params {extra} are rejected by {probe.library} with model.params{where} ({reason}); "
                "run the tune stage again (`dvc repro tune` or `tunepipe tune`)"
            )
        raise ConfigError(
            f"model.params{where} ({_shown(fixed)}) together are rejected by {probe.library} ({reason}); "
            f"fix model.params{where}"
        )
    else:
        for name, value in middle.items():
            if (alone := probe.rejects({**fixed, name: value})) is not None:
                raise ConfigError(_space_message(name, value, "its middle", probe.library, alone, space[name], where))
        raise ConfigError(
            f"search.space{where} at its middle ({_shown(middle)}) is rejected by {probe.library} ({reason}); "
            f"check the ranges of search.space{where}"
        )
    for name, dist in space.items():
        for value, end in _ends(dist):
            if (reason := probe.rejects({**fixed, **middle, name: value, **extra})) is not None:
                if probe.rejects({}) is not None:
                    return
                raise ConfigError(_space_message(name, value, end, probe.library, reason, dist, where))


def check_objective(fixed: dict[str, Any], space: dict[str, Distribution], task: Task, where: str = "") -> None:
    """A LightGBM objective set in ``model.params`` or ``search.space`` trains for ``data.task``.

    LightGBM fits a regression objective on 0/1 labels without a word, and its classifier then
    turns regression outputs into meaningless probabilities: a probe fit cannot catch that.
    """
    allowed = lgbm.OBJECTIVES[task]
    values = []
    if (found := lgbm.objective(fixed)) is not None:
        values.append((f"model.params{where}.{found[0]}", found[1]))
    if (in_space := lgbm.objective({k: d.choices for k, d in space.items() if d.choices is not None})) is not None:
        values += [(f"search.space{where}.{in_space[0]}", choice) for choice in in_space[1]]
    for key, value in values:
        if isinstance(value, str) and value not in allowed and any(value in names for names in lgbm.OBJECTIVES.values()):
            raise ConfigError(
                f"{key} is {value!r}, but data.task is {task} and LightGBM's {value!r} trains for another task; "
                f"use one of {', '.join(sorted(allowed))}, or remove it (LightGBM picks the task's own)"
            )


def _space_message(
    name: str, value: Any, end: str, library: str, reason: str, dist: Distribution, where: str = ""
) -> str:
    key = f"search.space{where}.{name}"
    fix = {
        "its low": f"raise {key}.low",
        "its high": f"lower {key}.high",
        "one of its choices": "remove that choice",
    }.get(end, f"change {key}")
    if _whole_float_range(dist) and _wants_int(reason):
        # {low: 1, high: 5} is a float range; a parameter that takes whole numbers needs type: int.
        fix = f"write {key} as {{low: {dist.low:g}, high: {dist.high:g}, type: int}}"
    return f"{key} can be {value!r} ({end}), but {library} rejects {name}={value!r} ({reason}); {fix}"


def _whole_float_range(dist: Distribution) -> bool:
    """A float range whose ends are whole numbers: likely meant as an integer range."""
    return (dist.choices is None and dist.type == "float" and dist.low is not None and dist.high is not None
            and float(dist.low).is_integer() and float(dist.high).is_integer())


def _wants_int(reason: str) -> bool:
    """The library's message says the parameter wants an integer (LightGBM, scikit-learn's checks)."""
    return re.search(r"\bint(eger)?\b", reason) is not None


def _shown(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _middle(dist: Distribution) -> Any:
    """A value in the middle of a dimension (geometric for log scales); a choice's first value."""
    if dist.choices is not None:
        return dist.choices[0]
    assert dist.low is not None and dist.high is not None
    mid = math.sqrt(dist.low * dist.high) if dist.log else (dist.low + dist.high) / 2
    return int(round(mid)) if dist.type == "int" else mid


def _ends(dist: Distribution) -> Iterator[tuple[Any, str]]:
    """The extreme values a dimension can produce: low and high, or each choice."""
    if dist.choices is not None:
        for choice in dist.choices:
            yield choice, "one of its choices"
        return
    assert dist.low is not None and dist.high is not None
    cast = int if dist.type == "int" else float
    yield cast(dist.low), "its low"
    yield cast(dist.high), "its high"


class _Probe:
    """Fits the estimator on a few preprocessed rows (then, to confirm a failure, on all rows).

    Preprocessing does not depend on the estimator's parameters, so it is fitted once per row set.
    """

    def __init__(self, cfg: Config, kind: str, task: Task, X: pd.DataFrame, y: pd.Series) -> None:
        self.kind, self.task, self.seed = kind, task, cfg.base.seed
        self.resource = resource_param(kind, cfg.search.resource)
        self.rounds_param = REGISTRY[kind].n_estimators_param
        self.library = estimator_name(kind)
        self.numeric, self.categorical = split_features(X)
        self.X, self.y = X, y
        self.rows = _sample(y, task)
        self._prepared: dict[bool, tuple[Any, pd.Series]] = {}
        self._seen: dict[str, str | None] = {}

    def rejects(self, params: dict[str, Any]) -> str | None:
        """The library's reason for rejecting ``params`` (None: accepted)."""
        key = repr(sorted(params.items(), key=lambda kv: kv[0]))
        if key not in self._seen:
            reason = self._fit(params, all_rows=False)
            if reason is not None:
                # Confirm on every row: some values are only wrong for a sample this small.
                reason = self._fit(params, all_rows=True)
            self._seen[key] = reason
        return self._seen[key]

    def _data(self, all_rows: bool) -> tuple[Any, pd.Series]:
        if all_rows not in self._prepared:
            X, y = (self.X, self.y) if all_rows else (self.X.loc[self.rows], self.y.loc[self.rows])
            prep = build_pipeline(self.kind, self.task, self.numeric, self.categorical, {}, seed=self.seed)[0]
            self._prepared[all_rows] = prep.fit_transform(X, y), y
        return self._prepared[all_rows]

    def _fit(self, params: dict[str, Any], all_rows: bool) -> str | None:
        params = dict(params)
        if self.resource is not None:
            params[self.resource] = PROBE_ROUNDS  # tunepipe sets it; only its speed matters here
        elif self.rounds_param is not None:
            rounds = params.get(self.rounds_param)
            if rounds is None or (isinstance(rounds, int) and not isinstance(rounds, bool) and rounds > PROBE_ROUNDS):
                params[self.rounds_param] = PROBE_ROUNDS
        X, y = self._data(all_rows)
        try:
            # No warning is silenced: none is expected from these fits (none seen for any model
            # kind and task), and one that comes is news (Python shows each once).
            with _native_stderr_silenced():
                build_pipeline(self.kind, self.task, self.numeric, self.categorical, params, seed=self.seed)[-1].fit(X, y)
        except Exception as exc:  # noqa: BLE001 - any rejection, in the library's words
            return _reason(exc)
        return None


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 to /dev/null meanwhile.

    LightGBM prints ``[LightGBM] [Fatal] ...`` to stderr from C++ before it raises; the probe turns
    the exception into one message of ours, so the raw line would only repeat it. Python's own
    ``sys.stderr`` is flushed first and is otherwise untouched.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 (an embedding host): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _sample(y: pd.Series, task: Task) -> pd.Index:
    """Row labels of a small sample: the first rows of each class (classification), else the first rows."""
    if task == "regression":
        return y.index[:PROBE_ROWS]
    per_class = max(2, math.ceil(PROBE_ROWS / max(int(y.nunique()), 1)))
    return y.groupby(y, sort=False, observed=True).head(per_class).index


def _reason(exc: Exception) -> str:
    """The library's message in one line, without LightGBM's source location."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"\s+at \S+, line \d+\s*\.?$", "", text)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."

"""The trial cache key: what determines a trial's scores, and nothing else; the code it hashes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_frame, setup_for, trial_at
from tunepipe.data import prepare
from tunepipe.trialcache import code_version, scoring_modules, trial_key


_trial, _setup = trial_at, setup_for


@pytest.fixture
def prepared(cfg: Any) -> Any:
    return prepare(make_frame(200), cfg)


def test_trial_key_ignores_number_candidate_rung_threads_and_param_order(prepared: Any) -> None:
    setup = _setup(prepared)
    key = trial_key(_trial(0, {"a": 1, "b": 0.5}, 0, 20), setup)
    assert key.startswith("trial-")
    assert trial_key(_trial(7, {"b": 0.5, "a": 1}, 3, 20), _setup(prepared, threads=4)) == key


@pytest.mark.parametrize(("change", "setting"), [
    ("params", {"a": 2, "b": 0.5}), ("resource level", 40), ("data", {"data_fingerprint": "f2"}), ("seed", {"seed": 1}),
    ("scoring", {"scoring": "accuracy"}), ("kind", {"kind": "random_forest"}),
    ("fixed params", {"fixed_params": {"max_bin": 63}}), ("resource", {"resource": "n_samples"}),
    ("best-iteration scoring", {"score_best_iteration": True}),
])
def test_trial_key_changes_with_what_changes_scores(prepared: Any, change: str, setting: Any) -> None:
    params, n, setup = {"a": 1, "b": 0.5}, 20, _setup(prepared, data_fingerprint="f1")
    key = trial_key(_trial(0, params, 0, n), setup)
    if change == "params":
        params = setting
    elif change == "resource level":
        n = setting
    else:
        setup = _setup(prepared, **{"data_fingerprint": "f1", **setting})
    assert trial_key(_trial(0, params, 0, n), setup) != key


def test_the_hashed_code_is_what_a_trial_imports() -> None:
    modules = scoring_modules()
    # What computes scores today: the evaluation, the models, the boosting engine. (The split and
    # its folds are data.py's, made before any trial and named by the fingerprint in the spec.)
    assert {"tunepipe.scoring.trial", "tunepipe.scoring.boosted", "tunepipe.scoring.fitted", "tunepipe.models",
            "tunepipe.lgbm", "tunepipe.results"} <= set(modules)
    # Imports for type hints only never run: the config (and the search it names) is not hashed.
    assert "tunepipe.config" not in modules
    # The racing rule decides where a raced trial stops, so it is hashed, with the two contract
    # modules it is written against; not the rest of the search, the reports or the flows:
    # editing them cannot change a trial's scores.
    assert {m for m in modules if m.startswith("tunepipe.search")} == {
        "tunepipe.search.racing", "tunepipe.search._types", "tunepipe.search.schedulers._base",
    }
    assert not any(m.startswith(("tunepipe.report", "tunepipe.io")) for m in modules)


def test_editing_any_hashed_module_changes_the_key() -> None:
    sources = {name: f"source of {name}" for name in scoring_modules()}
    base = code_version(sources)
    for name in sources:
        edited = {**sources, name: sources[name] + "\n# an edit"}
        assert code_version(edited) != base, name

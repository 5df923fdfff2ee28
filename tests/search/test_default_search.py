"""The shipped default search (params.yaml's search section as it is) learns: with racing on, TPE
proposes most configurations, through the real trial code on real LightGBM fits."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_frame
from tunepipe.config import parse_config
from tunepipe.data import folds_from_plan, prepare
from tunepipe.io import read_params
from tunepipe.models import default_values
from tunepipe.search import make_search
from tunepipe.scoring import score_trial, make_setup

SHIPPED = Path(__file__).resolve().parents[2] / "params.yaml"


def test_the_shipped_default_search_proposes_configurations_from_its_model(tmp_path: Path) -> None:
    raw = read_params(SHIPPED)
    # The bundled data is not needed: the same search on a small table, with fewer rounds (the
    # proposals depend on the observations, not on how long a trial boosts).
    raw["data"] |= {"path": "data.csv", "target": "y", "drop": ["row_id"], "task": "auto"}
    cfg = parse_config(raw, ["search.max_resources=60", "search.early_stopping=10", "search.scoring=roc_auc"])
    split = prepare(make_frame(600), cfg)
    folds = folds_from_plan(split.fold)
    search = make_search(
        cfg.search.settings(), seed=cfg.base.seed, n_train=len(split.train), n_splits=cfg.cv.n_splits,
        n_classes=split.n_classes, defaults=default_values("lightgbm", split.task, cfg.search.param_names, {}),
    )
    setup = make_setup(cfg, split, threads=1)
    while not search.done:
        for trial in search.ask():
            search.tell(score_trial(trial, split.X_train, split.y_train, folds, setup, len(split.train)))
    observations = search.observations
    assert cfg.search.strategy == "tpe" and cfg.search.racing and cfg.search.n_candidates == 40
    assert sum(o.status == "pruned" for o in observations) > 0  # racing stops trials ...
    by = [o.trial.proposed_by for o in observations]
    assert by[0] == "defaults" and by[1:11] == ["random"] * 10
    # ... and the model proposes every configuration once 10 observations are applied: with `window`
    # trials in flight, that is at most `window` configurations after the 10 startup draws.
    first = by.index("tpe")
    assert first <= 11 + cfg.search.window and by[first:] == ["tpe"] * (len(by) - first)

"""The bundled params.yaml and data set are valid, and the README's override example works."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunepipe import data, io
from tunepipe.config import parse_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("overrides", [[], ["search.n_candidates=27", "model.kind=random_forest"]])
def test_bundled_params_and_data_pass_every_rule(overrides: list[str]) -> None:
    cfg = parse_config(io.read_params(ROOT / "params.yaml"), overrides)
    df = io.read_table(cfg.data.path, ROOT)
    assert data.validate(df, cfg) == "binary"
    assert len(df) >= 20_000
    features = df.drop(columns=[cfg.data.target, *cfg.data.drop])
    assert features.isna().any().any(), "the bundled data must have missing values"
    assert any(not str(t).startswith(("int", "float")) for t in features.dtypes), "and categorical columns"

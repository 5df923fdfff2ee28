"""Scheduled runs as DVC experiments: names and the `dvc exp run` command line."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tunepipe.experiments import exp_run_args, experiment_name


@pytest.mark.parametrize(
    ("deployment", "run_name", "expected"),
    [
        ("nightly", "crimson-fox", "nightly-20261123-0300-crimson-fox"),
        # git ref rules: no spaces, ':' or '..' in an experiment name
        ("my tuning: v2", "a..b", "my-tuning-v2-20261123-0300-a-b"),
    ],
)
def test_experiment_name_is_a_valid_ref_with_the_scheduled_time(deployment: str, run_name: str, expected: str) -> None:
    when = datetime(2026, 11, 23, 3, 0, 41, tzinfo=timezone.utc)
    assert experiment_name(deployment, when, run_name) == expected


def test_exp_run_args_pass_each_override_as_dvc_set_param() -> None:
    assert exp_run_args("e1", ["search.n_candidates=27", "model.kind=random_forest"]) == [
        "exp", "run", "--name", "e1", "-S", "search.n_candidates=27", "-S", "model.kind=random_forest"]

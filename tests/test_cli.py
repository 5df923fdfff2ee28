"""Bad input: exit status 2, one message naming key, value, rule and fix, no traceback, no outputs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.conftest import make_frame
from tunepipe.cli import main

OUTPUTS = ["reports", "metrics", "models", "data/split"]


def _write(project: Path, raw: dict[str, Any], df: pd.DataFrame | None = None) -> None:
    (project / "params.yaml").write_text(yaml.safe_dump(raw))
    if df is not None:
        df.to_csv(project / "data.csv", index=False)


def _run(project: Path, *overrides: str) -> int:
    args = ["run", "--params", str(project / "params.yaml"), "--root", str(project)]
    for o in overrides:
        args += ["-S", o]
    return main(args)


def _regression_frame() -> pd.DataFrame:
    return make_frame(100, "regression")


@pytest.mark.parametrize(
    ("overrides", "frame", "match"),
    [
        (["search.n_candiates=3"], None, r"search.n_candiates is not a known key; did you mean 'n_candidates'\?"),
        (["cv.n_splits=five"], None, r"cv.n_splits is 'five', but input should be a valid integer"),
        (["search.factor=1"], None, r"search.factor is 1, but must be >= 2"),
        (["search.min_resources=100", "search.max_resources=10"], None, r"search.min_resources is 100, but must be <= search.max_resources \(10\)"),
        (["search.space={}"], None, r"search.space is empty, but must name at least one hyperparameter"),
        (["search.space.learning_rate.low=0.5"], None, r"search.space.learning_rate.low is 0.5, but must be < search.space.learning_rate.high"),
        (["search.space.learning_rate.low=0"], None, r"search.space.learning_rate.low is 0.0, but must be > 0 when log is true"),
        (["search.scoring=roc"], None, r"search.scoring is 'roc', but must be a scikit-learn scorer name"),
        (["search.scoring=r2"], None, r"search.scoring is 'r2', but it does not fit data.task binary"),
        (["data.path=nope.csv"], None, r"data.path is 'nope.csv', but no such file exists"),
        (["data.target=label"], None, r"data.target is 'label', but the data has no such column"),
        ([], "single_class", r"data.target 'y' has a single class \('yes'\), but classification needs at least 2"),
        (["cv.n_splits=200"], None, r"cv.n_splits=200 with data.test_size=0.25 needs at least 268 per class; lower cv.n_splits"),
        (["data.task=regression"], None, r"data.task is regression, but data.target 'y' is not numeric"),
    ],
)
def test_bad_input_exits_2_with_the_fix_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], overrides: list[str], frame: str | None, match: str
) -> None:
    if frame == "single_class":
        df = make_frame(100)
        df["y"] = "yes"
        df.to_csv(project / "data.csv", index=False)
    assert _run(project, *overrides) == 2
    err = capsys.readouterr().err
    assert err.startswith("tunepipe: error: ")
    assert re.search(match, err), err
    assert "Traceback" not in err
    for out in OUTPUTS:
        assert not (project / out).exists()


def test_bad_input_keeps_previous_outputs_untouched(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "metrics").mkdir()
    previous = project / "metrics" / "cv.json"
    previous.write_text('{"best_score": 0.9}')
    assert _run(project, "search.factor=1") == 2
    assert previous.read_text() == '{"best_score": 0.9}'


def test_missing_params_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--params", str(tmp_path / "params.yaml")]) == 2
    assert "params file" in capsys.readouterr().err


def test_real_process_exit_status_and_no_traceback(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tunepipe.cli", "run", "--params", str(project / "params.yaml"),
         "--root", str(project), "-S", "search.factor=1"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "tunepipe: error: search.factor is 1, but must be >= 2; each rung keeps 1/factor of the candidates (3 is usual)"
    )
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "api_url", "match"),
    [
        (["-S", "search.factor=1"], None, r"search.factor is 1, but must be >= 2"),
        (["--cron", "0 3 * *"], None, r"--cron is '0 3 \* \*', but must be a cron expression of five fields .* e.g. '0 3 \* \* \*'"),
        (["--interval", "0"], None, r"--interval is 0, but must be > 0 seconds, e.g. --interval 86400"),
        ([], None, r"PREFECT_API_URL is not set, but tunepipe serve needs a running Prefect server .* start one with `tunepipe server`"),
        ([], "http://127.0.0.1:9/api", r"PREFECT_API_URL is 'http://127.0.0.1:9/api', but no Prefect server answers there \(ConnectError\)"),
    ],
)
def test_serve_checks_params_schedule_and_server_first(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    args: list[str], api_url: str | None, match: str,
) -> None:
    if api_url:
        monkeypatch.setenv("PREFECT_API_URL", api_url)
    else:
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["serve", "--params", str(project / "params.yaml"), "--root", str(project), *args]) == 2
    err = capsys.readouterr().err
    assert re.search(match, err) and "Traceback" not in err, err


def test_cron_and_interval_exclude_each_other() -> None:
    from tunepipe.errors import ConfigError
    from tunepipe.experiments import check_schedule

    with pytest.raises(ConfigError, match=r"--cron is '0 3 \* \* \*' and --interval is 60, but a deployment takes one schedule"):
        check_schedule("0 3 * * *", 60)


def test_tunepipe_exp_drops_every_metric_but_the_kept_ones_and_no_param() -> None:
    """What `dvc exp show --drop EXP_DROP --keep EXP_KEEP` hides (DVC matches with re.match)."""
    from tunepipe.cli import EXP_DROP, EXP_KEEP

    hidden = ["roc_auc", "log_loss", "strategy", "data/split", "best_metrics.neg_log_loss", "defaults_metrics.roc_auc",
              "baseline_metrics.accuracy", "defaults_trial_metrics.roc_auc", "best_by_kind.random_forest"]
    shown = ["score", "gain", "baseline_score", "defaults_trial_score", "best_score", "n_trials", "search.strategy"]
    params = ["model.kind", "search.scoring", "search.refit", "search.space", "base.seed"]
    assert all(re.match(EXP_DROP, n) and not re.match(EXP_KEEP, n) for n in hidden)
    assert all(re.match(EXP_KEEP, n) for n in shown)
    assert not any(re.match(EXP_DROP, n) for n in params)

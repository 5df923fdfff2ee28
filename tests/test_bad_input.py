"""Bad input, as a user meets it: the real CLI exits 2 with one line that names the key, the value,
the rule and the fix, prints no traceback, and leaves every output as it was (byte for byte).

Each case runs ``tunepipe.cli.main`` in this process (bad input stops before Prefect starts, so a
case takes well under a second); a few run the installed command in a real process too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
import decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import BASE_RAW, make_frame
from tunepipe import io
from tunepipe.cli import main
from tunepipe.config import parse_config
from tunepipe.data import prepare
from tunepipe.models import build_pipeline

OUTPUTS = ["metrics", "models", "reports", "data/split"]
TUNEPIPE = Path(sys.executable).with_name("tunepipe")
# Overrides that keep the search space to one dimension, so a fixed param is not also tuned.
LR_ONLY = "search.space={learning_rate: {low: 0.01, high: 0.3, log: true}}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project after a run: data, params, and every output of every stage (a real split and models)."""
    df = make_frame(400, "binary")
    df.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(BASE_RAW))
    cfg = parse_config(BASE_RAW)
    split = prepare(df, cfg)
    io.write_split(split, tmp_path / io.SPLIT_DIR)
    model = build_pipeline("lightgbm", "binary", split.numeric, split.categorical, {"n_estimators": 3}, seed=7)
    model.fit(split.X_train, split.y_train)
    io.write_files(tmp_path, {
        io.TRIALS_CSV: io.csv_writer(pd.DataFrame({"candidate": [0], "mean_test_score": [0.8]})),
        io.PROGRESS_CSV: io.csv_writer(pd.DataFrame({"trial": [0], "best_so_far": [0.8]})),
        io.CV_JSON: io.json_writer({"scoring": "roc_auc", "best_score": 0.8, "best_candidate": 0}),
        io.WINNER_JSON: io.json_writer({"candidate": 0, "label": "c000 r1", "params": {"num_leaves": 7}, "n_resources": 3}),
        io.MODEL_FILE: io.joblib_writer(model),
        io.BASELINE_FILE: io.joblib_writer(model),
        io.DEFAULTS_TRIAL_FILE: io.joblib_writer(model),
        io.TEST_JSON: io.json_writer({"score": 0.8, "baseline_score": 0.79}),
        io.EVAL_DIR / "roc.csv": io.csv_writer(pd.DataFrame({"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})),
    })
    return tmp_path


def _outputs(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for out in OUTPUTS for p in sorted((root / out).rglob("*")) if p.is_file()
    }


def _parquet(df: pd.DataFrame) -> bytes:
    buffer = BytesIO()
    df.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _data(name: str, content: bytes | str) -> Callable[[Path], list[str]]:
    """Setup: write the data file ``name`` and point data.path at it."""
    def setup(root: Path) -> list[str]:
        (root / name).write_bytes(content.encode() if isinstance(content, str) else content)
        return [f"data.path={name}"]
    return setup


def _map_parquet() -> bytes:
    """The data set with a parquet map column (pandas reads a map as a list of key-value pairs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(make_frame(400), preserve_index=False)
    odd = pa.array([[("k", 1)]] * 400, type=pa.map_(pa.string(), pa.int64()))
    buffer = BytesIO()
    pq.write_table(table.append_column("odd", odd), buffer)
    return buffer.getvalue()


def _frame(change: Callable[[pd.DataFrame], pd.DataFrame], task: str = "binary") -> Callable[[Path], list[str]]:
    """Setup: the data set, changed, as data.csv."""
    def setup(root: Path) -> list[str]:
        change(make_frame(400, task)).to_csv(root / "data.csv", index=False)
        return []
    return setup


def _params_file(text: str) -> Callable[[Path], list[str]]:
    def setup(root: Path) -> list[str]:
        (root / "params.yaml").write_text(text)
        return []
    return setup


def _remove(rel: str) -> Callable[[Path], list[str]]:
    def setup(root: Path) -> list[str]:
        target = root / rel
        if target.is_dir():
            for p in sorted(target.rglob("*"), reverse=True):
                p.unlink() if p.is_file() else p.rmdir()
            target.rmdir()
        else:
            target.unlink()
        return []
    return setup


def _truncate(rel: str) -> Callable[[Path], list[str]]:
    def setup(root: Path) -> list[str]:
        data = (root / rel).read_bytes()
        (root / rel).write_bytes(data[: len(data) // 2])
        return []
    return setup


def _infinite_target(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[[5, 17], "y"] = np.inf
    return df


def _with(**columns: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(**columns)
    return change


PARQUET = _parquet(make_frame(50))
NONE: Callable[[Path], list[str]] | None = None

# (id, command, setup, overrides, expected message: a regex searched in the one error line)
CASES: list[tuple[str, str, Callable[[Path], list[str]] | None, list[str], str]] = [
    # --- params: the schema
    ("unknown key", "run", NONE, ["search.n_candiates=3"],
     r"search.n_candiates is not a known key; did you mean 'n_candidates'\? \(known keys in section search: .*\); fix or remove it"),
    ("wrong type", "run", NONE, ["cv.n_splits=five"], r"cv.n_splits is 'five', but input should be a valid integer; fix cv.n_splits in .*params.yaml"),
    ("factor below 2", "run", NONE, ["search.factor=1"], r"search.factor is 1, but must be >= 2; each rung keeps 1/factor"),
    ("min over max resources", "run", NONE, ["search.min_resources=100", "search.max_resources=10"],
     r"search.min_resources is 100, but must be <= search.max_resources \(10\)"),
    ("empty space", "run", NONE, ["search.space={}"], r"search.space is empty, but must name at least one hyperparameter"),
    ("section not a mapping", "run", NONE, ["search=5"], r"search is 5, but must be a section \(a mapping of keys\)"),
    ("unknown scorer", "run", NONE, ["search.scoring=auc"], r"search.scoring is 'auc', but must be a scikit-learn scorer name; did you mean 'roc_auc'\?"),
    ("metrics as a string", "run", NONE, ["evaluate.metrics=roc_auc"],
     r"evaluate.metrics is 'roc_auc', but must be auto or a list of scorer names; write \[roc_auc\]"),
    ("unknown metric", "run", NONE, ["evaluate.metrics=[roc]"], r"evaluate.metrics lists 'roc', but every entry must be a scikit-learn scorer name"),
    ("dask address without dask", "run", NONE, ["execution.dask_address=tcp://10.0.0.5:8786"],
     r"execution.dask_address is 'tcp://10.0.0.5:8786', but execution.runner is 'threads'; set execution.runner: dask"),
    # --- params: strategy pbt
    ("pbt interval 0", "run", NONE, ["search.strategy=pbt", "search.pbt_interval=0"], r"search.pbt_interval is 0, but must be >= 1"),
    ("pbt interval a word", "run", NONE, ["search.strategy=pbt", "search.pbt_interval=often"],
     r"search.pbt_interval is 'often', but input should be a valid integer"),
    ("pbt interval not below max resources", "run", NONE, ["search.strategy=pbt", "search.pbt_interval=45"],
     r"search.pbt_interval is 45, but must be < search.max_resources \(45\): members are compared and replaced between steps "
     r"of that many rounds, so one step would be no population-based training; lower it \(e.g. 4\)"),
    ("pbt on a forest", "run", NONE, ["search.strategy=pbt", "model.kind=random_forest", "search.space=null"],
     r"model.kind is random_forest, but strategy pbt changes a LightGBM booster's parameters between boosting rounds; "
     r"use model.kind: lightgbm, or another strategy"),
    ("pbt on rows", "run", NONE, ["search.strategy=pbt", "search.resource=n_samples", "search.max_resources=null"],
     r"search.resource is n_samples, but strategy pbt trains its population in steps of boosting rounds; "
     r"set search.resource: n_estimators"),
    ("pbt space it cannot change", "run", NONE,
     ["search.strategy=pbt", "search.pbt_interval=9", "search.space={max_bin: {choices: [63, 255]}, min_child_samples: {choices: [5, 10]}}"],
     r"search.space names only \['max_bin', 'min_child_samples'\], which LightGBM fixes when it bins the data, but "
     r"strategy pbt perturbs hyperparameters between boosting rounds; add one it can change"),
    # --- params: several model kinds in one search
    ("unknown kind in the list", "run", NONE, ["model.kind=[lightgbm, random_forrest]", "search.space=null"],
     r"model.kind lists 'random_forrest', but each kind must be one of: .*; did you mean 'random_forest'\?; "
     r"fix it or remove it from the list"),
    ("a kind listed twice", "run", NONE, ["model.kind=[lightgbm, lightgbm]"],
     r"model.kind lists lightgbm twice, but each kind is searched once; remove one"),
    ("a space for a kind not listed", "run", NONE,
     ["model.kind=[lightgbm, random_forest]", "search.space={extra_trees: {max_features: {low: 0.2, high: 0.9}}}"],
     r"search.space.extra_trees is set, but model.kind \[lightgbm, random_forest\] does not list extra_trees; "
     r"add extra_trees to model.kind, or remove search.space.extra_trees"),
    ("one space for several kinds", "run", NONE, ["model.kind=[lightgbm, random_forest]", LR_ONLY],
     r"search.space is one mapping of hyperparameters, but model.kind lists several kinds \[lightgbm, random_forest\], "
     r"each with its own space; write it per kind \(search.space.lightgbm: \{...\}\), or null for each kind's default space"),
    ("a space per kind for one kind", "run", NONE, ["search.space={random_forest: {max_features: {low: 0.2, high: 0.9}}}"],
     r"search.space.random_forest is a space for model kind random_forest, but model.kind is one kind \(lightgbm\); "
     r"list the kinds in model.kind"),
    ("flat params for several kinds", "run", NONE, ["model.kind=[lightgbm, random_forest]", "search.space=null",
                                                    "model.params={max_bin: 63}"],
     r"model.params.max_bin is set, but with several kinds model.params maps each kind to its parameters; "
     r"write each kind's parameters under its name, e.g. model.params.lightgbm.max_bin: value"),
    ("a kind's param on another kind", "run", NONE, ["model.kind=[lightgbm, random_forest]", "search.space=null",
                                                    "model.params={random_forest: {num_leaves: 15}}"],
     r"model.params.random_forest.num_leaves is not a parameter of RandomForestClassifier / RandomForestRegressor"),
    ("a kind's space rejected by its estimator", "run", NONE,
     ["model.kind=[lightgbm, random_forest]", "search.space={random_forest: {min_samples_leaf: {low: -3, high: 5, type: int}}}"],
     r"search.space.random_forest.min_samples_leaf can be -3 \(its low\), but RandomForestClassifier / RandomForestRegressor rejects "
     r"min_samples_leaf=-3 .*; raise search.space.random_forest.min_samples_leaf.low"),
    ("several kinds with cmaes", "run", NONE, ["model.kind=[lightgbm, random_forest]", "search.space=null",
                                              "search.strategy=cmaes"],
     r"search.strategy is cmaes, but model.kind lists several kinds \[lightgbm, random_forest\] and cmaes searches one "
     r"kind's space; use one of random, grid, halving, hyperband, asha, tpe, bohb, or one model.kind"),
    ("several kinds with pbt", "run", NONE, ["model.kind=[lightgbm, random_forest]", "search.space=null",
                                            "search.strategy=pbt"],
     r"search.strategy is pbt, but model.kind lists several kinds"),
    ("a classifier-only kind for regression", "run", NONE,
     ["model.kind=[lightgbm, logistic_regression]", "search.space=null", "data.task=regression", "data.target=x1",
      "search.scoring=r2", "evaluate.metrics=[r2]"],
     r"model.kind lists 'logistic_regression', but it has no regressor for data.task regression; remove it from the "
     r"list \(kinds with one: lightgbm, random_forest, extra_trees, hist_gradient_boosting, ridge\)"),
    # --- params: several scorers
    ("refit not among scoring", "run", NONE, ["search.scoring=[roc_auc, neg_log_loss]", "search.refit=accuracy"],
     r"search.refit is 'accuracy', but must be one of search.scoring \(\[roc_auc, neg_log_loss\]\): the refit metric "
     r"picks the winner among the metrics computed; add 'accuracy' to search.scoring, or set search.refit to one of them"),
    ("refit another than the one scorer", "run", NONE, ["search.refit=accuracy"],
     r"search.refit is 'accuracy', but must be one of search.scoring \('roc_auc'\)"),
    ("a scorer listed twice", "run", NONE, ["search.scoring=[roc_auc, roc_auc]"],
     r"search.scoring lists roc_auc twice, but each scorer is computed once; remove one"),
    ("an unknown scorer in the list", "run", NONE, ["search.scoring=[roc_auc, logloss]"],
     r"search.scoring lists 'logloss', but every entry must be a scikit-learn scorer name; did you mean"),
    ("no scorer", "run", NONE, ["search.scoring=[]"], r"search.scoring is \[\], but must name a scorer or list several"),
    ("a listed scorer of another task", "run", NONE, ["search.scoring=[roc_auc, r2]"],
     r"search.scoring lists 'r2', but it does not fit data.task binary \(it is a regression metric\)"),
    # --- params: -S syntax
    ("dask scheduler unreachable", "run", NONE, ["execution.runner=dask", "execution.dask_address=tcp://127.0.0.1:9"],
     r"execution.dask_address is 'tcp://127.0.0.1:9', but no Dask scheduler answers there \(Connection refused within 5 s\); "
     r"start one \(`dask scheduler`\), fix the address, or set execution.runner: threads"),
    ("tune: dask scheduler unreachable", "tune", NONE, ["execution.runner=dask", "execution.dask_address=tcp://127.0.0.1:9"],
     r"execution.dask_address is 'tcp://127.0.0.1:9', but no Dask scheduler answers there"),
    ("override without =", "run", NONE, ["search.factor"], r"override 'search.factor' is not of the form key=value"),
    ("override YAML unclosed", "run", NONE, ["search.space={learning_rate: {low: 0.1"],
     r"override 'search.space=\{learning_rate: \{low: 0.1' has a value that is not valid YAML \(expected ',' or '\}', but got "
     r"'<stream end>' at character 26 of the value\); close every bracket and quote"),
    ("override below a scalar", "run", NONE, ["search.factor.x=1"], r"search.factor is 3, not a section"),
    # --- params: the model
    ("unknown kind", "run", NONE, ["model.kind=lightgmb"], r"model.kind is 'lightgmb', but must be one of: .*; did you mean 'lightgbm'\?"),
    ("unknown param", "run", NONE, ["model.params={n_jobz: 1}"], r"model.params.n_jobz is not a parameter of LightGBM; did you mean 'n_jobs'\?"),
    ("space of another kind", "run", NONE, ["model.kind=random_forest"],
     r"search.space.learning_rate is not a parameter of RandomForestClassifier / RandomForestRegressor"),
    ("fixed and tuned", "run", NONE, ["model.params={num_leaves: 15}"],
     r"model.params.num_leaves is fixed at 15, but search.space.num_leaves tunes it, so one would silently override the other"),
    ("fixed alias of a tuned one", "run", NONE, ["model.params={max_leaves: 15}"],
     r"model.params.max_leaves \(LightGBM's alias of num_leaves\) is fixed at 15, but search.space.num_leaves tunes the same parameter"),
    ("fixed resource", "run", NONE, ["model.params={n_estimators: 5}"],
     r"model.params.n_estimators is 5, but search.resource n_estimators sets n_estimators itself"),
    ("fixed resource alias", "run", NONE, ["model.params={num_boost_round: 5}"],
     r"model.params.num_boost_round \(LightGBM's alias of n_estimators\) is 5, but search.resource n_estimators sets n_estimators itself"),
    ("fixed seed", "run", NONE, ["model.params={seed: 3}"], r"model.params.seed \(LightGBM's alias of random_state\) is 3, but tunepipe sets random_state from base.seed"),
    ("fixed threads", "run", NONE, ["model.params={n_jobs: 4}"], r"model.params.n_jobs is 4, but tunepipe sets n_jobs from execution.threads_per_trial"),
    ("alias twice", "run", NONE, ["search.space.num_leaf={low: 4, high: 8, type: int}"],
     r"search.space.num_leaf and search.space.num_leaves are aliases of one LightGBM parameter \(num_leaves\)"),
    ("fixed value LightGBM rejects", "run", NONE, [LR_ONLY, "model.params={num_leaves: -3}"],
     r"model.params.num_leaves is -3, but LightGBM rejects it \(Check failed: \(num_leaves\) > \(1\)\); fix or remove it"),
    ("native value LightGBM rejects", "run", NONE, ["model.params={max_bin: 1}"], r"model.params.max_bin is 1, but LightGBM rejects it"),
    ("objective of another task", "run", NONE, ["model.params={objective: regression}"],
     r"model.params.objective is 'regression', but data.task is binary and LightGBM's 'regression' trains for another task"),
    ("space low LightGBM rejects", "run", NONE, ["search.space.num_leaves={low: 1, high: 31, type: int}"],
     r"search.space.num_leaves can be 1 \(its low\), but LightGBM rejects num_leaves=1 .*; raise search.space.num_leaves.low"),
    ("choice LightGBM rejects", "run", NONE, ["search.space.min_child_samples={choices: [5, -1]}"],
     r"search.space.min_child_samples can be -1 \(one of its choices\), but LightGBM rejects"),
    ("value scikit-learn rejects", "run", NONE, ["model.kind=random_forest", "search.space=null", "model.params={criterion: ginni}"],
     r"model.params.criterion is 'ginni', but RandomForestClassifier / RandomForestRegressor rejects it \(The 'criterion' parameter"),
    # --- params + data: resources against the training rows (400 rows, test_size 0.25: 300)
    ("max resources over training rows", "run", NONE, ["search.resource=n_samples", "search.max_resources=10000000"],
     r"search.max_resources is 10000000, but the training set has only 300 rows; lower it or set it to null"),
    ("min resources over training rows", "run", NONE,
     ["search.resource=n_samples", "search.max_resources=null", "search.min_resources=100000"],
     r"search.min_resources is 100000, but must be <= search.max_resources \(300\)"),
    ("scorer of another task", "run", NONE, ["search.scoring=r2"], r"search.scoring is 'r2', but it does not fit data.task binary \(it is a regression metric\)"),
    ("too many folds", "run", NONE, ["cv.n_splits=200"], r"cv.n_splits=200 with data.test_size=0.25 needs at least 268 per class; lower cv.n_splits"),
    # --- the params file and the folder
    ("params file empty", "run", _params_file(""), [], r"params file '.*params.yaml' is empty, but must hold the params sections"),
    ("params file a list", "run", _params_file("- data\n- search\n"), [], r"params file '.*params.yaml' holds a list, but must be a mapping of sections"),
    ("params file not YAML", "run", _params_file("search: [unclosed"), [], r"params file '.*params.yaml' is not valid YAML: .* at line 1, column 18; fix that line"),
    ("params file missing", "run", _remove("params.yaml"), [], r"params file '.*params.yaml' does not exist; run from the project folder or pass --params PATH"),
    # --- the data file
    ("no data file", "run", NONE, ["data.path=nope.csv"], r"data.path is 'nope.csv', but no such file exists"),
    ("empty file", "run", _data("empty.csv", b""), [], r"data.path is 'empty.csv', but the file is empty"),
    ("header only", "run", _data("header.csv", "x1,x2,y\n"), [], r"data.path is 'header.csv', but the file has no data rows \(only the column names: x1, x2, y\)"),
    ("corrupt parquet", "run", _data("bad.parquet", PARQUET[:200]), [], r"data.path is 'bad.parquet', but the parquet file is corrupt or truncated"),
    ("parquet named csv", "run", _data("data2.csv", PARQUET), [], r"data.path is 'data2.csv', but the file is parquet, not CSV; rename it to .parquet"),
    ("csv named parquet", "run", _data("data2.parquet", "x1,y\n1,a\n"), [], r"data.path is 'data2.parquet', but the file is text \(CSV\?\), not parquet; rename it to .csv"),
    ("not UTF-8", "run", _data("latin.csv", "x1,city,y\n1,K\u00f6ln,a\n".encode("latin-1")), [],
     r"data.path is 'latin.csv', but the file is not UTF-8 text \(byte 0xf6 on line 2\); save it as UTF-8"),
    ("ragged row", "run", _data("ragged.csv", "x1,x2,y\n1,2,a\n1,2,3,b\n"), [],
     r"data.path is 'ragged.csv', but line 3 of the file has 4 fields where the header has 3; fix that line"),
    ("trailing commas", "run", _data("trailing.csv", "x1,x2,y\n1,2,a,\n3,4,b,\n"), [],
     r"data.path is 'trailing.csv', but its rows have one field more than the header \(3 names\)"),
    ("duplicate columns", "run", _data("dup.csv", "x1,x1,y\n1,2,a\n3,4,b\n"), [],
     r"data.path is 'dup.csv', but 2 columns are named 'x1' \(columns 1 and 2\); column names must be unique"),
    ("semicolons", "run", _data("semi.csv", "x1;y\n1;a\n"), [], r"the file separates its columns with semicolons, not commas"),
    ("a workbook", "run", _data("book.csv", b"PK\x03\x04\x14\x00\x06\x00"), [], r"the file is a zip archive \(an Excel workbook\?\), not CSV text"),
    ("unknown extension", "run", _data("data.xlsx", b"x"), [], r"data.path is 'data.xlsx', but must end in .csv or .parquet"),
    # --- the data's content
    ("infinite regression target", "run", _frame(_infinite_target, "regression"), ["search.scoring=r2"],
     r"data.target 'y' has 2 infinite values \(rows 5, 17, counting data rows from 0\), but a target must be a finite number"),
    ("missing target", "run", _frame(_with(y=[None] + ["yes", "no"] * 199 + ["no"])), [],
     r"data.target 'y' has 1 missing values \(row 0, counting data rows from 0\), but every row needs a target"),
    ("single class", "run", _frame(_with(y="yes")), [], r"data.target 'y' has a single class \('yes'\), but classification needs at least 2"),
    ("no such target", "run", NONE, ["data.target=label"], r"data.target is 'label', but the data has no such column"),
    ("target dropped", "run", NONE, ["data.drop=[y]"], r"data.drop lists the target 'y', but must not"),
    ("regression on text", "run", NONE, ["data.task=regression"], r"data.task is regression, but data.target 'y' is not numeric"),
    # --- parquet columns no estimator takes (each named, with what to do)
    *[(f"parquet {what} column", "run", _data("nested.parquet", _parquet(make_frame(400).assign(odd=[value] * 400))), [],
       rf"data column 'odd' holds {held}, but every column must hold plain values .*; drop it with data.drop: \[odd\], or {fix}")
      for what, value, held, fix in [
          ("list", [1, 2], r"lists \(a parquet list or map column\)", "flatten it"),
          ("struct", {"a": 1, "b": "x"}, r"structs or maps \(a parquet struct or map column\)", "flatten it"),
          ("binary", b"\x00\x01", "binary values", "decode it"),
          ("decimal", decimal.Decimal("1.25"), "decimals", "cast it to float"),
      ]],
    ("parquet map column", "run", _data("map.parquet", _map_parquet()), [], r"data column 'odd' holds lists"),
    # --- stage commands, on the outputs of the stages before them
    ("split: ragged row", "split", _data("ragged.csv", "x1,x2,y\n1,2,a\n1,2,3,b\n"), [], r"line 3 of the file has 4 fields"),
    ("tune: fixed value rejected", "tune", NONE, [LR_ONLY, "model.params={num_leaves: -3}"], r"model.params.num_leaves is -3, but LightGBM rejects it"),
    ("tune: resources over the split", "tune", NONE, ["search.resource=n_samples", "search.max_resources=301"],
     r"search.max_resources is 301, but the training set has only 300 rows"),
    ("tune: scorer of another task", "tune", NONE, ["search.scoring=r2"], r"search.scoring is 'r2', but it does not fit data.task binary"),
    ("tune: no split", "tune", _remove("data/split"), [], r"data/split/meta.json does not exist, but is written by the split stage; run `dvc repro split`"),
    ("tune: corrupt split", "tune", _truncate("data/split/train.parquet"), [],
     r"data/split cannot be read \(.*\), but is written by the split stage; run it again \(`dvc repro split` or `tunepipe split`\)"),
    ("train: no winner", "train", _remove("models/winner.json"), [], r"models/winner.json does not exist, but is written by the tune stage"),
    ("train: fixed value rejected", "train", NONE, [LR_ONLY, "model.params={max_bin: 1}"], r"model.params.max_bin is 1, but LightGBM rejects it"),
    ("evaluate: metric of another task", "evaluate", NONE, ["evaluate.metrics=[r2]"], r"evaluate.metrics is 'r2', but it does not fit data.task binary"),
    ("evaluate: no model", "evaluate", _remove("models/model.joblib"), [], r"models/model.joblib does not exist, but is written by the train stage"),
]


@pytest.mark.parametrize(("command", "setup", "overrides", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line_and_leaves_outputs_as_they_were(
    project: Path, capsys: pytest.CaptureFixture[str],
    command: str, setup: Callable[[Path], list[str]] | None, overrides: list[str], match: str,
) -> None:
    extra = setup(project) if setup else []
    before = _outputs(project)
    args = [command, "--params", str(project / "params.yaml"), "--root", str(project)]
    for override in [*extra, *overrides]:
        args += ["-S", override]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunepipe: error: "), err
    assert re.search(match, lines[0]), lines[0]
    assert len(lines[0]) < 600, lines[0]  # one short message, not a dump
    assert "Traceback" not in err
    assert _outputs(project) == before


def test_the_table_covers_every_stage_command() -> None:
    assert {c[1] for c in CASES} == {"run", "split", "tune", "train", "evaluate"}
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--root", "/nonexistent/project"], r"^--root is '/nonexistent/project', but no such folder exists; pass the project folder"),
        (["--root", "params.yaml"], r"^--root is 'params.yaml', but that is a file; pass the project folder"),
    ],
)
def test_root_that_is_not_a_folder(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                   args: list[str], match: str) -> None:
    monkeypatch.chdir(project)
    before = _outputs(project)
    assert main(["run", *args]) == 2
    err = capsys.readouterr().err
    assert re.search(match, err.removeprefix("tunepipe: error: ")), err
    assert _outputs(project) == before


def test_a_project_locked_by_another_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hold = ("import sys, time\nfrom tunepipe.lock import ProjectLock\nlock = ProjectLock(sys.argv[1], ['tunepipe', 'run'])\nlock.acquire()\n"
            "print('held', flush=True)\ntime.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(project)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = _outputs(project)
        assert main(["train", "--params", str(project / "params.yaml"), "--root", str(project)]) == 2
    finally:
        holder.kill()
        holder.wait(timeout=30)
    err = capsys.readouterr().err
    assert re.fullmatch(rf"tunepipe: error: another tunepipe command is running in this project \(.*\): pid {holder.pid}, "
                        r"`tunepipe run`, since .*then run this again\n", err), err
    assert _outputs(project) == before


# The issue's own reproductions, through the installed command in a real process.
PROCESS_CASES = [
    (["search.space={learning_rate: {low: 0.1"], r"override 'search.space=\{learning_rate: \{low: 0.1' has a value that is not valid YAML"),
    ([LR_ONLY, "model.params={num_leaves: -3}"], r"model.params.num_leaves is -3, but LightGBM rejects it"),
    (["search.resource=n_samples", "search.max_resources=10000000"], r"search.max_resources is 10000000, but the training set has only 300 rows"),
    (["data.path=header.csv"], r"data.path is 'header.csv', but the file has no data rows"),
]


@pytest.mark.parametrize(("overrides", "match"), PROCESS_CASES)
def test_real_process(project: Path, overrides: list[str], match: str) -> None:
    (project / "header.csv").write_text("x1,x2,y\n")
    before = _outputs(project)
    args = [str(TUNEPIPE), "run"]
    for override in overrides:
        args += ["-S", override]
    proc = subprocess.run(args, cwd=project, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert re.fullmatch(rf"tunepipe: error: .*{match}.*\n", proc.stderr), proc.stderr
    assert _outputs(project) == before


def test_valid_input_passes_the_same_checks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The cases fail for their reason: the project's own params pass every check (with a warning)."""
    from tunepipe.cli import load_and_check

    df = pd.read_csv(project / "data.csv").assign(serial=lambda d: np.arange(len(d)) + 1)
    df.to_csv(project / "data.csv", index=False)
    cfg = load_and_check(str(project / "params.yaml"), ["model.params={max_bin: 63}"], str(project), "run")
    assert cfg.model.params == {"max_bin": 63}
    assert capsys.readouterr().err == (
        "tunepipe: warning: column 'serial' has a different whole number in every row (an id?), but is used as a "
        "feature; if it is an identifier, add it to data.drop\n"
    )
    assert json.loads((project / "models/winner.json").read_text())["params"] == {"num_leaves": 7}
    for command in ("tune", "train", "evaluate"):
        load_and_check(str(project / "params.yaml"), [], str(project), command)

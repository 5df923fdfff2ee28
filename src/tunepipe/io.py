"""All file reading and writing. Called from flows/ and the CLI; the core never touches files.

Writes are atomic (temporary file + rename) so an interrupted run never leaves a half-written output.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml

from tunepipe.data import Prepared, fingerprint, folds_from_plan
from tunepipe.errors import ConfigError, DataError

SPLIT_DIR = Path("data/split")
TRIALS_CSV = Path("reports/trials.csv")
CV_JSON = Path("metrics/cv.json")
TEST_JSON = Path("metrics/test.json")
MODEL_FILE = Path("models/model.joblib")


def read_params(path: str | Path) -> Any:
    """Parse ``params.yaml``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"params file '{p}' does not exist; run from the project folder or pass --params PATH")
    try:
        return yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"params file '{p}' is not valid YAML: {exc}") from None


def read_table(path: str | Path, root: str | Path = ".") -> pd.DataFrame:
    """Read the data set (``.csv``, ``.parquet`` / ``.pq``); a relative ``path`` is under ``root``."""
    p = Path(root) / path
    if not p.is_file():
        raise DataError(f"data.path is '{path}', but no such file exists ({p.resolve()}); fix data.path in params.yaml")
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if suffix in (".csv", ".txt"):
        return pd.read_csv(p)
    raise DataError(f"data.path is '{path}', but must end in .csv or .parquet; convert the file or rename it")


@dataclass(frozen=True)
class SplitRef:
    """A reference to a written split: what trial tasks receive instead of DataFrames."""

    path: str
    fingerprint: str


def write_split(prepared: Prepared, out_dir: str | Path = SPLIT_DIR) -> SplitRef:
    """Write train / holdout / fold plan / metadata; return a reference to them."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _atomic(out / "train.parquet", lambda f: prepared.train.to_parquet(f, index=False))
    _atomic(out / "holdout.parquet", lambda f: prepared.holdout.to_parquet(f, index=False))
    _atomic(out / "folds.npy", lambda f: np.save(f, prepared.fold))
    meta = {
        "task": prepared.task,
        "target": prepared.target,
        "numeric": prepared.numeric,
        "categorical": prepared.categorical,
        "fingerprint": hashlib.sha256(
            (fingerprint(prepared.train) + fingerprint(prepared.holdout)).encode() + prepared.fold.tobytes()
        ).hexdigest()[:16],
    }
    _atomic(out / "meta.json", lambda f: f.write(json.dumps(meta, indent=2).encode()))
    return SplitRef(str(out.resolve()), meta["fingerprint"])


@lru_cache(maxsize=4)
def load_split(ref: SplitRef) -> Prepared:
    """Load a written split once per process (the fingerprint keys the cache)."""
    d = Path(ref.path)
    meta = json.loads((d / "meta.json").read_text())
    train = pd.read_parquet(d / "train.parquet")
    holdout = pd.read_parquet(d / "holdout.parquet")
    fold = np.load(d / "folds.npy")
    return Prepared(train, holdout, fold, meta["task"], meta["target"], meta["numeric"], meta["categorical"])


@lru_cache(maxsize=4)
def load_folds(ref: SplitRef) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train_idx, test_idx) pairs of a written split, computed once per process."""
    return folds_from_plan(load_split(ref).fold)


def write_outputs(
    root: str | Path,
    trials: pd.DataFrame,
    cv: dict[str, Any],
    test: dict[str, Any],
    model: Any,
) -> list[Path]:
    """Write the run's outputs under ``root``.

    Every file is written to a temporary file first and only then are all renamed into place, so
    a failure while writing leaves the previous outputs as they were.
    """
    root = Path(root)
    writers = [
        (TRIALS_CSV, lambda f: f.write(trials.to_csv(index=False).encode())),
        (CV_JSON, lambda f: f.write(json.dumps(cv, indent=2, default=_jsonable).encode() + b"\n")),
        (TEST_JSON, lambda f: f.write(json.dumps(test, indent=2).encode() + b"\n")),
        (MODEL_FILE, lambda f: joblib.dump(model, f)),
    ]
    staged: list[tuple[str, Path]] = []
    try:
        for rel, write in writers:
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            staged.append((_write_temp(path, write), path))
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    return [path for _, path in staged]


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def _write_temp(path: Path, write: Any) -> str:
    """Write via ``write(binary_file)`` into a temporary file beside ``path``; return its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _atomic(path: Path, write: Any) -> None:
    """Write ``path`` whole or not at all (temporary file, then rename)."""
    os.replace(_write_temp(path, write), path)

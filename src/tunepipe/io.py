"""All file reading and writing. Called from flows/ and the CLI; the core never touches files.

Writes are atomic (temporary file + rename) so an interrupted run never leaves a half-written output.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from collections.abc import Callable
from typing import Any, BinaryIO

import joblib
import numpy as np
import pandas as pd
import yaml

from tunepipe import interrupt
from tunepipe.config import yaml_error_text
from tunepipe.data import Prepared, fingerprint
from tunepipe.errors import ConfigError, DataError
from tunepipe.precision import SIGNIFICANT_DIGITS, round_floats
from tunepipe.results import Observation, Trial

SPLIT_DIR = Path("data/split")
# Where each stage writes; dvc.yaml names the same paths (tests/dvc checks that they agree).
TRIALS_CSV = Path("reports/trials.csv")
PROGRESS_CSV = Path("reports/progress.csv")
IMPORTANCE_CSV = Path("reports/importance.csv")
PARALLEL_CSV = Path("reports/parallel.csv")
CV_JSON = Path("metrics/cv.json")
WINNER_JSON = Path("models/winner.json")
MODEL_FILE = Path("models/model.joblib")
BASELINE_FILE = Path("models/baseline.joblib")
# The defaults' trial (trial 0) refit as it was scored: the defaults at their early-stopped round count.
DEFAULTS_TRIAL_FILE = Path("models/defaults_trial.joblib")
TEST_JSON = Path("metrics/test.json")
EVAL_DIR = Path("reports/eval")
# Which run produced MODEL_FILE: written by the train stage, not a DVC output (provenance.py says why).
MODEL_RECORD = Path("models/model.json")


# The sections of params.yaml, for messages about a params file that is not a mapping of them.
_SECTIONS = "base, data, cv, search, model, execution, evaluate"


def read_params(path: str | Path) -> dict[str, Any]:
    """Parse a params file: a YAML mapping of sections (``params.yaml``)."""
    p = Path(path)
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise ConfigError(f"params file '{p}' {what}; run from the project folder or pass --params PATH")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"params file '{p}' is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"params file '{p}' is not valid YAML: {yaml_error_text(exc)}; fix that line") from None
    if raw is None:
        raise ConfigError(
            f"params file '{p}' is empty, but must hold the params sections ({_SECTIONS}; data and search at "
            "least); start from the project's params.yaml"
        )
    if not isinstance(raw, dict):
        raise ConfigError(
            f"params file '{p}' holds a {_yaml_kind(raw)}, but must be a mapping of sections ({_SECTIONS}), "
            "one `section:` per line with its keys indented below; start from the project's params.yaml"
        )
    return raw


def _yaml_kind(value: Any) -> str:
    """A YAML value's kind, in YAML's words."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return f"plain string ({value[:40]!r})"
    return f"single value ({value!r})"


# First bytes of the formats a data file is sometimes mistaken for (read_table names them).
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"  # also .xlsx workbooks
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_SUFFIXES = (".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".txt")


def read_table(path: str | Path, root: str | Path = ".") -> pd.DataFrame:
    """Read the data set (``.csv``, ``.parquet`` / ``.pq``); a relative ``path`` is under ``root``.

    Every way a file can fail to be a table (missing, empty, header only, another format under
    this name, corrupt, not UTF-8, a ragged row, duplicate column names) is a DataError that names
    ``data.path``, says what is wrong and how to fix it.
    """
    p = Path(root) / path
    where = f"data.path is '{path}'"
    if p.is_dir():
        raise DataError(f"{where}, but that is a folder ({p.resolve()}); point data.path at a .csv or .parquet file")
    if not p.is_file():
        raise DataError(f"{where}, but no such file exists ({p.resolve()}); fix data.path in params.yaml")
    suffix = p.suffix.lower()
    if suffix not in _PARQUET_SUFFIXES + _CSV_SUFFIXES:
        raise DataError(f"{where}, but must end in .csv or .parquet; convert the file or rename it")
    try:
        with p.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise DataError(f"{where}, but the file cannot be read ({exc.strerror}); check its permissions") from None
    if not head:
        raise DataError(f"{where}, but the file is empty; point data.path at the data, or write the data file again")
    if suffix in _PARQUET_SUFFIXES:
        df = _read_parquet(p, where, head)
    else:
        df = _read_csv(p, where, head)
    if len(df) == 0:
        raise DataError(
            f"{where}, but the file has no data rows (only the column names: {_names(df.columns)}); "
            "point data.path at the data, or write the data file again"
        )
    return df


def _names(columns: Any, limit: int = 8) -> str:
    names = [str(c) for c in columns]
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _read_parquet(p: Path, where: str, head: bytes) -> pd.DataFrame:
    import pyarrow as pa  # noqa: PLC0415 - pandas' parquet engine, for its error types
    import pyarrow.parquet as pq  # noqa: PLC0415

    if not head.startswith(_PARQUET_MAGIC):
        if _looks_like_text(p):
            raise DataError(
                f"{where}, but the file is text (CSV?), not parquet; rename it to .csv and set data.path to match"
            )
        raise DataError(f"{where}, but the file is not parquet (it does not start with PAR1); export the data as parquet or CSV")
    try:
        names = pq.read_schema(p).names
        _check_unique(names, where)
        return pd.read_parquet(p)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0]
        raise DataError(
            f"{where}, but the parquet file is corrupt or truncated ({reason}); write it again from its source"
        ) from None


def _read_csv(p: Path, where: str, head: bytes) -> pd.DataFrame:
    if head.startswith(_PARQUET_MAGIC):
        raise DataError(f"{where}, but the file is parquet, not CSV; rename it to .parquet and set data.path to match")
    if head.startswith(_ZIP_MAGIC):
        raise DataError(
            f"{where}, but the file is a zip archive (an Excel workbook?), not CSV text; export the sheet as CSV (UTF-8)"
        )
    if head.startswith(_GZIP_MAGIC):
        raise DataError(f"{where}, but the file is gzip-compressed; decompress it (gunzip) and point data.path at the .csv")
    try:
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
        with p.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
        _check_unique(header, where)
        df = pd.read_csv(p, encoding="utf-8-sig")
    except UnicodeDecodeError:
        # No fallback encoding: Latin-1 decodes any bytes, so a guess would turn a wrong encoding
        # into wrong category names silently.
        raw = p.read_bytes()
        try:
            raw.decode("utf-8-sig")
            position = 0
        except UnicodeDecodeError as exc:
            position = exc.start
        line = raw[:position].count(b"\n") + 1
        raise DataError(
            f"{where}, but the file is not UTF-8 text (byte 0x{raw[position]:02x} on line {line}); save it as UTF-8, "
            "e.g. pd.read_csv(path, encoding='cp1252').to_csv(path, index=False) for a Windows file"
        ) from None
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = match.groups()
            raise DataError(
                f"{where}, but line {line} of the file has {saw} fields where the header has {expected}; fix that "
                "line (a stray comma? quote values that contain commas)"
            ) from None
        raise DataError(f"{where}, but the file is not valid CSV ({str(exc).strip().splitlines()[0]}); fix the file") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{where}, but the file is empty; point data.path at the data, or write the data file again") from None
    if not df.index.equals(pd.RangeIndex(len(df))):
        # pandas reads rows that all have one field more than the header as an unnamed index column.
        raise DataError(
            f"{where}, but its rows have one field more than the header ({len(df.columns)} names); add the missing "
            "name to the header line, or remove the extra (trailing?) comma from every row"
        )
    if len(df.columns) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs")):
            if sep in str(df.columns[0]):
                raise DataError(
                    f"{where}, but the file separates its columns with {name}, not commas; save it as comma-separated CSV"
                )
    return df


def _check_unique(names: list[str], where: str) -> None:
    """Column names are unique (pandas would rename a repeated ``x`` to ``x.1`` and use both)."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        seen.setdefault(str(name), []).append(i)
    repeated = {name: cols for name, cols in seen.items() if len(cols) > 1}
    if repeated:
        name, cols = next(iter(repeated.items()))
        numbers = ", ".join(map(str, cols[:-1])) + f" and {cols[-1]}"
        raise DataError(
            f"{where}, but {len(cols)} columns are named '{name}' (columns {numbers})"
            f"{' and other names repeat too' if len(repeated) > 1 else ''}; column names must be unique: rename or remove the copies"
        )


def _looks_like_text(p: Path) -> bool:
    """The file's first KiB decodes as UTF-8 text without control characters (a CSV, say)."""
    with p.open("rb") as f:
        sample = f.read(1024)
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


@dataclass(frozen=True)
class SplitRef:
    """A reference to a written split: what trial tasks receive instead of DataFrames."""

    path: str
    fingerprint: str


def write_split(prepared: Prepared, out_dir: str | Path = SPLIT_DIR, warnings: list[str] | None = None) -> SplitRef:
    """Write train / holdout / fold plan / metadata (all or nothing); return a reference to them.

    ``warnings``: what the data checks found odd about the data (``data.quality_warnings``),
    kept with the split so that the run's summary can repeat them.
    """
    out = Path(out_dir)
    meta = {
        "task": prepared.task,
        "target": prepared.target,
        "numeric": prepared.numeric,
        "categorical": prepared.categorical,
        "fingerprint": hashlib.sha256(
            (fingerprint(prepared.train) + fingerprint(prepared.holdout)).encode() + prepared.fold.tobytes()
        ).hexdigest()[:16],
        "warnings": list(warnings or []),
    }
    write_files(out, {
        Path("train.parquet"): lambda f: prepared.train.to_parquet(f, index=False),
        Path("holdout.parquet"): lambda f: prepared.holdout.to_parquet(f, index=False),
        Path("folds.npy"): lambda f: np.save(f, prepared.fold),
        # Last: a split with meta.json is complete (read_split_ref checks for it).
        Path("meta.json"): json_writer(meta),
    })
    return SplitRef(str(out.resolve()), meta["fingerprint"])


def read_summary(root: str | Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str]]:
    """What a finished run's summary is made of: ``metrics/cv.json``, ``metrics/test.json``, the
    winner's params (``models/winner.json``) and the data's warnings kept with the split."""
    meta = read_json(root, SPLIT_DIR / "meta.json", "split")
    winner = read_json(root, WINNER_JSON, "tune")
    return (read_json(root, CV_JSON, "tune"), read_json(root, TEST_JSON, "evaluate"), winner["params"],
            list(meta.get("warnings", [])))


# What the summary points a user to, in the order they would look.
SUMMARY_OUTPUTS = ("metrics/", "models/model.joblib", "reports/")


def read_split_ref(root: str | Path) -> SplitRef:
    """The reference to the split the split stage wrote under ``root``."""
    out = Path(root) / SPLIT_DIR
    meta = read_json(root, SPLIT_DIR / "meta.json", "split")
    return SplitRef(str(out.resolve()), meta["fingerprint"])


# The files of a split, as write_split writes them.
SPLIT_FILES = ("train.parquet", "holdout.parquet", "folds.npy", "meta.json")


def split_files(ref: SplitRef) -> dict[str, bytes]:
    """The split's files as bytes, to ship to processes that do not share this file system."""
    return {name: (Path(ref.path) / name).read_bytes() for name in SPLIT_FILES}


def read_split(ref: SplitRef) -> Prepared:
    """The split, read from disk (a process that runs trials keeps it: ``execution.load_split``)."""
    return parse_split(split_files(ref))


def parse_split(files: dict[str, bytes]) -> Prepared:
    """A split from its files' bytes (:func:`split_files`, or as shipped to a cluster worker).

    This process's loaded copies (one per split, whoever reads it) are kept by
    :func:`tunepipe.execution.load_split`.
    """
    meta = json.loads(files["meta.json"])
    train = pd.read_parquet(BytesIO(files["train.parquet"]))
    holdout = pd.read_parquet(BytesIO(files["holdout.parquet"]))
    fold = np.load(BytesIO(files["folds.npy"]))
    return Prepared(train, holdout, fold, meta["task"], meta["target"], meta["numeric"], meta["categorical"])


def write_files(root: str | Path, writers: dict[Path, Callable[[BinaryIO], Any]]) -> list[Path]:
    """Write a stage's outputs under ``root``, all or nothing.

    Every file is written to a temporary file first and only then are all renamed into place, so
    a failure while writing leaves the previous outputs as they were.
    """
    root = Path(root)
    staged: list[tuple[str, Path]] = []
    # Ctrl-C never cuts the write in half, and no write starts after it (tunepipe.interrupt).
    with interrupt.commit():
        try:
            for rel, write in writers.items():
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


def replace_outputs(
    root: str | Path, writers: dict[Path, Callable[[BinaryIO], Any]], folders: list[Path]
) -> list[Path]:
    """Write a stage's outputs like :func:`write_files`, each of ``folders`` replaced whole.

    A folder holds exactly the files this call writes into it: a file an earlier run left there
    (another task's plot after the data changed) is gone, so no reader mistakes it for a result
    of this run. Each folder is written beside itself first and swapped in by two renames after
    every file was written; a failure before that leaves the previous outputs as they were.
    """
    with interrupt.commit():
        return _replace_outputs(Path(root), writers, folders)


def _replace_outputs(root: Path, writers: dict[Path, Callable[[BinaryIO], Any]], folders: list[Path]) -> list[Path]:
    staged: list[tuple[Path, Path]] = []  # (new folder, final folder)
    try:
        for folder in folders:
            final = root / folder
            final.parent.mkdir(parents=True, exist_ok=True)
            new = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
            staged.append((new, final))
            write_files(new, {rel.relative_to(folder): w for rel, w in writers.items() if rel.is_relative_to(folder)})
        rest = {rel: w for rel, w in writers.items() if not any(rel.is_relative_to(f) for f in folders)}
        write_files(root, rest)
    except BaseException:
        for new, _ in staged:
            shutil.rmtree(new, ignore_errors=True)
        raise
    for new, final in staged:
        os.chmod(new, 0o755)  # mkdtemp's 0700 would hide the outputs from other users
        old = final.with_name(f".{final.name}.old.tmp")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(new, final)
        shutil.rmtree(old, ignore_errors=True)
    return [root / rel for rel in writers]


def csv_writer(frame: pd.DataFrame) -> Callable[[BinaryIO], Any]:
    """A writer for :func:`write_files` that writes ``frame`` as CSV without its index, floats at
    fixed precision (:mod:`tunepipe.precision`)."""
    return lambda f: f.write(frame.to_csv(index=False, float_format=f"%.{SIGNIFICANT_DIGITS}g").encode())


def json_writer(obj: Any) -> Callable[[BinaryIO], Any]:
    """A writer for :func:`write_files` that writes ``obj`` as indented JSON, floats at fixed
    precision (:mod:`tunepipe.precision`)."""
    return lambda f: f.write(json.dumps(round_floats(obj), indent=2, default=_jsonable).encode() + b"\n")


def joblib_writer(obj: Any) -> Callable[[BinaryIO], Any]:
    """A writer for :func:`write_files` that pickles ``obj`` with joblib."""
    return lambda f: joblib.dump(obj, f)


def write_search_outputs(
    root: str | Path, trials: pd.DataFrame, progress: pd.DataFrame, cv: dict[str, Any], winner: dict[str, Any],
    importance: pd.DataFrame, parallel: pd.DataFrame,
) -> list[Path]:
    """The tune stage's outputs, all or nothing: trials table, progress curve, CV metrics, the winner
    to refit, hyperparameter importance and parallel-coordinates data (tunepipe.importance)."""
    return write_files(root, {
        TRIALS_CSV: csv_writer(trials),
        PROGRESS_CSV: csv_writer(progress),
        CV_JSON: json_writer(cv),
        WINNER_JSON: json_writer(winner),
        IMPORTANCE_CSV: csv_writer(importance),
        PARALLEL_CSV: csv_writer(parallel),
    })


# Seconds each trial's folds took to fit: execution facts, which differ at every run, so not a DVC
# output (it would change dvc.lock) and not in git: beside the trial cache, for benchmarks.
TIMINGS_CSV = Path(".tunepipe/timings.csv")


def write_timings(root: str | Path, timings: pd.DataFrame) -> Path:
    """The last search's fit seconds per trial (:data:`TIMINGS_CSV`)."""
    return write_files(root, {TIMINGS_CSV: csv_writer(timings)})[0]


def read_json(root: str | Path, rel: Path, stage: str) -> Any:
    """Read a JSON output of an earlier stage; a missing one names the stage to run first."""
    path = Path(root) / rel
    if not path.is_file():
        raise DataError(f"{rel} does not exist, but is written by the {stage} stage; run `dvc repro {stage}` (or `tunepipe {stage}`) first")
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise DataError(
            f"{rel} cannot be read ({str(exc).splitlines()[0]}), but is written by the {stage} stage; run it again "
            f"(`dvc repro {stage}` or `tunepipe {stage}`)"
        ) from None


def load_model(root: str | Path, rel: Path) -> Any:
    """Load a model written by the train stage."""
    path = Path(root) / rel
    if not path.is_file():
        raise DataError(f"{rel} does not exist, but is written by the train stage; run `dvc repro train` (or `tunepipe train`) first")
    return joblib.load(path)


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


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# What a commit alone does not say about a run: uncommitted changes to these (relative to the project).
RUN_INPUTS = ("params.yaml", "dvc.yaml", "src", "flows")


def run_context(root: str | Path) -> dict[str, Any]:
    """Where a run happens: its git commit, whether params or code differ from it, the DVC experiment."""
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    changes = git("status", "--porcelain", "--untracked-files=no", "--", *RUN_INPUTS) if commit else None
    return {
        "git_commit": commit,
        "git_dirty": bool(changes) if changes is not None else None,
        "dvc_experiment": os.environ.get("DVC_EXP_NAME"),
    }


def read_model_record(root: str | Path) -> dict[str, Any] | None:
    """The provenance record beside the model, or None if there is none (or it is unreadable)."""
    try:
        return json.loads((Path(root) / MODEL_RECORD).read_text())
    except (OSError, ValueError):
        return None


def read_new_data(path: str | Path) -> pd.DataFrame:
    """Rows to predict (``tunepipe predict``): ``.csv`` or ``.parquet`` / ``.pq``."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"the data to predict, '{path}', does not exist ({p.resolve()}); give the path of a .csv or .parquet file")
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".txt", ".parquet", ".pq"):
        raise DataError(f"the data to predict, '{path}', must end in .csv or .parquet; convert the file or rename it")
    try:
        return pd.read_parquet(p) if suffix in (".parquet", ".pq") else pd.read_csv(p)
    except Exception as exc:  # noqa: BLE001 - pandas and pyarrow raise many types for a bad file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"the data to predict, '{path}', cannot be read as {suffix[1:]} ({detail}); check the file") from None


def write_predictions(frame: pd.DataFrame, output: str) -> None:
    """Write predictions as CSV to ``output`` (atomically), or to standard output for ``-``."""
    if output == "-":
        frame.to_csv(sys.stdout, index=False)
        return
    out = Path(output)
    if not out.parent.is_dir():
        raise DataError(f"-o is '{output}', but its folder {out.parent.resolve()} does not exist; create it or pick another path")
    write_files(out.parent, {Path(out.name): csv_writer(frame)})

# The trial cache: one JSON file per trial key under execution.cache_dir. Data, never code: a file
# written by anyone who can write there is parsed as numbers and strings, and one that does not
# parse is a cache miss (the trial runs again), never a crash.
TRIAL_CACHE_VERSION = 1


def write_trial_result(cache_dir: str | Path, key: str, observation: Observation) -> None:
    """Store a finished trial's observation under its key (atomic: a killed run leaves no half file)."""
    directory = Path(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    o = observation
    record = {
        "version": TRIAL_CACHE_VERSION,
        "key": key,
        "fold_scores": [None if math.isnan(s) else s for s in o.fold_scores],
        "best_budget": o.best_budget,
        "status": o.status,
        "error": o.error,
        "fit_times": list(o.fit_times),
        "score_times": list(o.score_times),
        "metrics": {name: [None if math.isnan(s) else s for s in values] for name, values in o.metrics.items()},
    }
    write_files(directory, {Path(f"{key}.json"): lambda f: f.write(json.dumps(record).encode())})


def read_trial_result(cache_dir: str | Path, key: str, trial: Trial) -> Observation | None:
    """The cached observation of ``key`` for ``trial``, or None (no file, or one that does not parse)."""
    path = Path(cache_dir) / f"{key}.json"
    try:
        record = json.loads(path.read_text())
        if record["version"] != TRIAL_CACHE_VERSION or record["key"] != key:
            return None
        scores = tuple(math.nan if s is None else float(s) for s in record["fold_scores"])
        best = record["best_budget"]
        status = record["status"]
        if status not in ("ok", "failed", "pruned") or not (best is None or isinstance(best, int)):
            return None
        return Observation(
            trial, scores, best_budget=best, status=status, error=str(record["error"]),
            fit_times=tuple(float(t) for t in record["fit_times"]),
            score_times=tuple(float(t) for t in record["score_times"]),
            metrics={str(name): tuple(math.nan if s is None else float(s) for s in values)
                     for name, values in record.get("metrics", {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None

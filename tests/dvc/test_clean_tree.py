"""Reproducing a committed run leaves the repository clean: DVC-tracked outputs are deterministic."""

from __future__ import annotations

import shutil

from tests.dvc.conftest import Repo


def test_a_forced_repro_of_the_committed_run_leaves_git_status_clean(repo: Repo) -> None:
    lock = (repo.path / "dvc.lock").read_text()
    # Every stage again, every trial computed again (no trial cache), in a fresh Prefect home.
    shutil.rmtree(repo.path / ".tunepipe", ignore_errors=True)
    repo.dvc("repro", "--force")
    assert repo.git("status", "--porcelain") == ""
    assert (repo.path / "dvc.lock").read_text() == lock  # every output's hash as committed
    assert "Data and pipelines are up to date" in repo.dvc("status").stdout

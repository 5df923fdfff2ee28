"""The project lock: one command per project at a time, held by real processes, released when
they end however they end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunepipe.errors import TunepipeError
from tunepipe.lock import HOLDER_FILE, LOCK_FILE, ProjectLock, ProjectLocked

HOLD = textwrap.dedent(
    """
    import sys, time
    from tunepipe.lock import ProjectLock
    lock = ProjectLock(sys.argv[1], command=["tunepipe", "run", "-S", "base.seed=7"])
    lock.acquire()
    print("held", flush=True)
    time.sleep(120)
    """
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the lock on ``tmp_path`` until the test ends (or kills it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait(timeout=30)


def test_a_second_holder_is_refused_with_who_holds_it_and_what_to_do(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(ProjectLocked) as info:
        ProjectLock(tmp_path, command=["tunepipe", "tune"]).acquire()
    message = str(info.value)
    assert message.startswith(f"another tunepipe command is running in this project ({tmp_path.resolve()}): pid {holder.pid}, ")
    assert "`tunepipe run -S base.seed=7`, since 20" in message  # the holder's own command line and start time
    assert " s ago); two runs in one project would mix their outputs; wait for it to finish, or check that process " \
        f"(`ps -p {holder.pid}`) and stop it if it is stuck, then run this again" in message
    assert "\n" not in message


def test_the_lock_is_free_again_when_its_holder_is_killed(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    stale = json.loads((tmp_path / HOLDER_FILE).read_text())
    assert stale["pid"] == holder.pid
    holder.send_signal(signal.SIGKILL)  # no cleanup runs: the holder's file stays behind
    holder.wait(timeout=30)
    assert (tmp_path / HOLDER_FILE).exists()
    with ProjectLock(tmp_path, command=["tunepipe", "run"]):
        assert json.loads((tmp_path / HOLDER_FILE).read_text())["pid"] == os.getpid()
    assert not (tmp_path / HOLDER_FILE).exists()  # a clean release removes its own file
    assert (tmp_path / LOCK_FILE).exists()  # the lock file stays (unlinking it would race)


def test_a_dead_runs_holder_file_is_not_named_as_the_holder(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    """Between taking the lock and writing its file, a holder is unnamed; a dead run's file is not it."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    info = json.loads((tmp_path / HOLDER_FILE).read_text())
    (tmp_path / HOLDER_FILE).write_text(json.dumps({**info, "pid": int(dead.stdout)}))
    with pytest.raises(ProjectLocked, match=r"^another tunepipe command is running in this project \(.*; it holds "
                       r"\.tunepipe/lock\), and two runs in one project would mix their outputs; wait for it to finish"):
        ProjectLock(tmp_path).acquire()


def test_release_then_acquire_in_turn(tmp_path: Path) -> None:
    """Stage commands under `dvc repro` take the lock one after the other in new processes."""
    code = textwrap.dedent(
        """
        import json, os, sys
        from tunepipe.lock import ProjectLock
        with ProjectLock(sys.argv[1], ["tunepipe", sys.argv[2]]):
            held = json.load(open(os.path.join(sys.argv[1], ".tunepipe", "lock.json")))
            print(held["pid"] == os.getpid(), held["command"])
        """
    )
    for stage in ("split", "tune", "train", "evaluate"):
        proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), stage], capture_output=True, text=True, timeout=60)
        assert proc.stdout == f"True tunepipe {stage}\n", proc.stderr
    assert not (tmp_path / HOLDER_FILE).exists()


def test_the_lock_lives_under_the_git_ignored_tunepipe_folder(tmp_path: Path) -> None:
    with ProjectLock(tmp_path):
        assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
            ".tunepipe", ".tunepipe/lock", ".tunepipe/lock.json"]
    root = Path(__file__).resolve().parents[1]
    assert ".tunepipe/" in (root / ".gitignore").read_text().splitlines()


def test_a_project_where_the_lock_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / ".tunepipe").write_text("a file where the folder should be")
    with pytest.raises(TunepipeError, match=r"^the project lock .*\.tunepipe/lock cannot be created \(File exists\); "
                       r"run in a project folder you can write to$"):
        ProjectLock(tmp_path).acquire()

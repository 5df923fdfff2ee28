"""One run per project at a time: an exclusive lock on the project folder for every command that
writes its outputs (``tunepipe run`` and each stage command).

Two runs in one folder would mix their outputs: one refits its winner on the split the other has
just rewritten. The lock is ``filelock``'s (``flock(2)`` on ``.tunepipe/lock``), which the
operating system releases when the process ends, however it ends: a killed run never blocks the
next. Taking it never waits, so it cannot deadlock with DVC's own repo lock (``.dvc/tmp/lock``),
which ``dvc repro`` holds while it runs the stage commands that take ours one after the other.
Who holds it (pid, command line, since when) is written beside it, for the second run's message.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from tunepipe.errors import TunepipeError

LOCK_DIR = Path(".tunepipe")
LOCK_FILE = LOCK_DIR / "lock"
HOLDER_FILE = LOCK_DIR / "lock.json"
# A contender that finds the lock taken reads the holder's file; the holder writes it just after
# taking the lock, so a missing or stale one is read again for this long.
HOLDER_WAIT_SECONDS = 1.0


class ProjectLocked(TunepipeError):
    """Another tunepipe command holds the project's lock."""


class ProjectLock:
    """The project's exclusive lock, as a context manager: ``with ProjectLock(root): ...``.

    Raises :class:`ProjectLocked` at once (no waiting) when another process holds it.
    """

    def __init__(self, root: str | Path, command: list[str] | None = None) -> None:
        self.root = Path(root)
        self.command = command if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
        self._lock = FileLock(self.root / LOCK_FILE, timeout=0)

    def acquire(self) -> None:
        try:
            (self.root / LOCK_DIR).mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout:
            raise ProjectLocked(self._held_message()) from None
        except OSError as exc:
            raise TunepipeError(
                f"the project lock {self.root / LOCK_FILE} cannot be created ({exc.strerror}); "
                "run in a project folder you can write to"
            ) from None
        self._write_holder()

    def release(self) -> None:
        if not self._lock.is_locked:
            return
        holder = self.root / HOLDER_FILE
        if (_read_holder(holder) or {}).get("pid") == os.getpid():
            holder.unlink(missing_ok=True)
        self._lock.release()

    def __enter__(self) -> ProjectLock:
        self.acquire()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()

    def _write_holder(self) -> None:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": shlex.join(self.command),
            "since": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        path = self.root / HOLDER_FILE
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info) + "\n")
        os.replace(tmp, path)  # whole or absent for a reader

    def _held_message(self) -> str:
        """Who holds the lock, and what to do; the holder's file is read until it names a live process."""
        deadline = time.monotonic() + HOLDER_WAIT_SECONDS
        info = _read_holder(self.root / HOLDER_FILE)
        while not _is_current(info) and time.monotonic() < deadline:
            time.sleep(0.05)
            info = _read_holder(self.root / HOLDER_FILE)
        where = f"{self.root.resolve()}"
        if not _is_current(info):
            info = None  # a dead run's file, and the new holder has not written its own yet
        if info is None:
            return (
                f"another tunepipe command is running in this project ({where}; it holds {LOCK_FILE}), and two runs in "
                "one project would mix their outputs; wait for it to finish, then run this again"
            )
        pid, since = info.get("pid"), info.get("since", "?")
        host = info.get("host")
        on = f" on {host}" if host and host != socket.gethostname() else ""
        return (
            f"another tunepipe command is running in this project ({where}): pid {pid}{on}, "
            f"`{info.get('command', '?')}`, since {since}{_ago(since)}; two runs in one project would mix their "
            f"outputs; wait for it to finish, or check that process (`ps -p {pid}`) and stop it if it is stuck, "
            "then run this again"
        )


def _read_holder(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _is_current(info: dict[str, Any] | None) -> bool:
    """The holder's file names a process that is alive (on this host); else it is a dead run's."""
    if info is None:
        return False
    if info.get("host") != socket.gethostname():
        return True  # cannot check a process on another machine (a shared folder): trust the file
    try:
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, TypeError, ValueError):
        return True  # alive but another user's, or an unreadable pid: nothing better to say
    return True


def _ago(since: str) -> str:
    """`` (12 min ago)`` for an ISO time, or ``""``."""
    try:
        seconds = (datetime.now().astimezone() - datetime.fromisoformat(since)).total_seconds()
    except (TypeError, ValueError):
        return ""
    if seconds < 120:
        return f" ({max(int(seconds), 0)} s ago)"
    if seconds < 2 * 3600:
        return f" ({int(seconds // 60)} min ago)"
    return f" ({seconds / 3600:.1f} h ago)"

"""Ctrl-C (SIGINT): stop a run within a moment, keep every finished trial, write nothing more.

On the first signal a watcher thread waits for any write of outputs in progress to finish (a write
is all or nothing, :func:`commit`), takes the commit lock so that no other write starts, prints
one line (what was kept, how to resume) and ends the process with status 130, as a shell does
after Ctrl-C. Running trials are abandoned, not waited for: a LightGBM fit cannot be cancelled
from Python, and waiting for it is what made Ctrl-C take minutes. Every finished trial is already
in the trial cache (each is written there as it finishes), so the next run resumes from them.

The process ends through ``os._exit``: Python's own shutdown would join the worker threads, i.e.
wait for the running fits. The operating system releases the project lock.

SIGTERM is left to Prefect: while a flow runs, Prefect takes it over as its runner's request to
cancel the flow run (it restores the previous handler only after its own teardown).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

EXIT_STATUS = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C

_STOP = threading.Event()
# Held while outputs are written (re-entrant: replace_outputs writes through write_files); the
# watcher takes it for good before the process ends, so no write is cut in half or starts later.
_COMMIT = threading.RLock()


class Interrupted(Exception):
    """A write of outputs was asked for after Ctrl-C: it does not start."""


@contextlib.contextmanager
def commit() -> Iterator[None]:
    """Around a write of outputs: refused after a stop was asked for, never cut by one."""
    with _COMMIT:
        if _STOP.is_set():
            raise Interrupted("stopped by a signal: no output is written")
        yield


def requested() -> bool:
    """Whether a stop was asked for."""
    return _STOP.is_set()


def install(message: Callable[[], str]) -> None:
    """Stop the process on SIGINT as the module says; ``message()`` gives its last line.

    Only from the main thread (where Python runs signal handlers).
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        stop(message, EXIT_STATUS)  # a second Ctrl-C: the watcher is already ending the process

    signal.signal(signal.SIGINT, handler)


def stop(message: Callable[[], str], status: int) -> None:
    """End the process as on Ctrl-C, with exit ``status``: after the write in progress, none later,
    ``message()`` as the last line. A second call changes nothing."""
    if _STOP.is_set():
        return
    _STOP.set()
    threading.Thread(target=_end, args=(message, status), name="tunepipe-stop", daemon=True).start()


def _end(message: Callable[[], str], status: int) -> None:
    started = time.monotonic()
    _COMMIT.acquire()  # after the write in progress, if any; none starts after this
    try:
        line = message()
    except Exception as exc:  # noqa: BLE001 - the line is a courtesy; the exit must happen
        line = f"tunepipe: interrupted ({type(exc).__name__} while counting what was kept)"
    waited = time.monotonic() - started
    print(line + (f" (waited {waited:.1f} s for a write to finish)" if waited > 0.5 else ""), file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(status)

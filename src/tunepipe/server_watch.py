"""A run whose Prefect server stops answering ends in bounded time, with one line, nothing lost.

The project's own server is supervised and started again within seconds (prefect_home.supervise);
a user's own ``PREFECT_API_URL`` is not ours to restart. Either way, once the API has not answered
its health check for :data:`LOST_AFTER` seconds (``TUNEPIPE_SERVER_LOST_SECONDS``) the run stops as on Ctrl-C (tunepipe.interrupt):
no output is written after that, every finished trial is already in the trial cache, and the
process ends with status 1 and a line that says so. Without this, Prefect's client waits on a
dead connection for many minutes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import httpx

# Long enough for the supervised server's restart (a few seconds) and a busy server's slow answer;
# TUNEPIPE_SERVER_LOST_SECONDS changes it.
LOST_AFTER = 60.0
LOST_VARIABLE = "TUNEPIPE_SERVER_LOST_SECONDS"
# Between health checks, and the timeout of each.
CHECK_EVERY = 5.0


def answers(api_url: str, timeout: float = CHECK_EVERY) -> bool:
    """Whether the Prefect API at ``api_url`` answers its health check now."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def lost_after(environ: dict[str, str]) -> float:
    """Seconds without an answer after which the server counts as lost (:data:`LOST_VARIABLE`)."""
    try:
        return max(CHECK_EVERY, float(environ.get(LOST_VARIABLE, LOST_AFTER)))
    except ValueError:
        return LOST_AFTER


def watch(api_url: str, on_lost: Callable[[float], None], lost_after: float = LOST_AFTER) -> threading.Thread:
    """Check ``api_url`` every few seconds in a daemon thread; call ``on_lost(seconds)`` once it
    has not answered for ``lost_after`` seconds (then stop watching)."""

    def loop() -> None:
        last = time.monotonic()
        while True:
            if answers(api_url):
                last = time.monotonic()
            elif time.monotonic() - last >= lost_after:
                on_lost(time.monotonic() - last)
                return
            time.sleep(CHECK_EVERY)

    thread = threading.Thread(target=loop, name="tunepipe-server-watch", daemon=True)
    thread.start()
    return thread

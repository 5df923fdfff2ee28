"""Thread budget: concurrent trials x threads per trial must not exceed the machine's cores."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from threadpoolctl import ThreadpoolController


def available_cores() -> int:
    """Cores this process may use (respects CPU affinity / container limits where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def plan_threads(workers: int | str, threads_per_trial: int | str, cores: int | None = None) -> tuple[int, int]:
    """Resolve ``execution.workers`` / ``execution.threads_per_trial`` (``auto`` or int).

    ``auto`` for both runs one single-threaded trial per core: trials are many and small, and
    parallel trials scale better than threads inside one model. With one side fixed, the other
    takes what is left. Both fixed are taken as given (a warning if they oversubscribe).
    """
    cores = cores or available_cores()
    if workers == "auto" and threads_per_trial == "auto":
        return cores, 1
    if workers == "auto":
        t = int(threads_per_trial)
        return max(1, cores // t), t
    if threads_per_trial == "auto":
        w = int(workers)
        return w, max(1, cores // w)
    w, t = int(workers), int(threads_per_trial)
    if w * t > cores:
        warnings.warn(
            f"execution.workers ({w}) x execution.threads_per_trial ({t}) = {w * t} exceeds the {cores} cores; "
            "runs will be slower than with a product <= cores",
            stacklevel=2,
        )
    return w, t


@lru_cache(maxsize=1)
def _native_pools() -> ThreadpoolController:
    """The process's native thread pools (OpenMP, BLAS), found once: a fresh
    ``threadpool_limits`` looks them up again at every call (4 ms, per fold)."""
    return ThreadpoolController()


@contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """Cap every native thread pool (OpenMP, BLAS) at ``threads`` in the calling thread.

    OpenMP's limit is per thread, so it is set in the thread that fits, not in the one that
    hands the fit out.
    """
    with _native_pools().limit(limits=threads):
        yield

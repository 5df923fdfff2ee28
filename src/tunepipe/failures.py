"""Why a trial failed, which decides what happens to it.

- ``model``: the estimator rejected its parameters or the data (a ``ValueError`` from LightGBM or
  scikit-learn, ...). Deterministic: the trial is recorded as failed, with the message, and cached
  (the same params would fail again).
- ``resource``: memory or the operating system ran out (``MemoryError``, ``OSError``, LightGBM's
  allocation errors). Not the trial's fault: the trial task is retried and never cached; if it
  keeps failing, the run stops with a message saying what to lower.
- ``bug``: a programming error raised in tunepipe's own code (``AttributeError``, ``TypeError``,
  ...). Surfaced, not hidden as a failed trial: the run stops, names the trial and asks for a report.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Literal

Kind = Literal["model", "resource", "bug"]

_PACKAGE = Path(__file__).resolve().parent
# LightGBM reports a failed allocation as a LightGBMError with the C++ message in it.
_RESOURCE_TEXT = ("out of memory", "bad_alloc", "bad allocation", "cannot allocate memory")
# Errors that in our own code mean a mistake in it; a ValueError there is a message we raise on purpose.
_BUG_TYPES = (
    AssertionError, AttributeError, NameError, TypeError, KeyError, IndexError, ZeroDivisionError, RecursionError,
)


class TrialResourceError(RuntimeError):
    """A trial ran out of memory or hit an operating-system error: retry it, never cache it."""


class TrialBugError(RuntimeError):
    """A trial failed in tunepipe's own code: a bug to report, not a failed configuration."""


def kind_of(exc: BaseException) -> Kind:
    """Whether ``exc``, raised while evaluating a trial, is the model's answer, a resource or a bug."""
    if isinstance(exc, (MemoryError, OSError)) or any(t in str(exc).lower() for t in _RESOURCE_TEXT):
        return "resource"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and isinstance(exc, _BUG_TYPES) and _is_ours(frames[-1].filename):
        return "bug"
    return "model"


def _is_ours(filename: str) -> bool:
    """Whether a traceback frame's file is one of tunepipe's modules."""
    try:
        return Path(filename).resolve().is_relative_to(_PACKAGE)
    except OSError:
        return False

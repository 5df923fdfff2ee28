"""The one exception type a user sees: a problem with their params or data, with the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Placeholder validators put in their messages; replaced by the dotted key of the failing field.
KEY = "{key}"


class TunepipeError(Exception):
    """A user-facing error: the message names the key, the value, the rule and the fix.

    The CLI prints the message without a traceback and exits with status 2.
    """


class ConfigError(TunepipeError):
    """``params.yaml`` or a ``-S`` override is invalid."""


class DataError(TunepipeError):
    """The data set does not fit the params (missing file, column, too few rows, ...)."""


class SearchError(TunepipeError):
    """The search could not produce a result (e.g. every trial failed)."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest option, or ``""`` if none is close."""
    options = [str(o) for o in options]
    # A difference of case alone is the likeliest typo, and difflib scores short names poorly.
    same_but_case = [o for o in options if o.lower() == word.lower()]
    matches = same_but_case or difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""

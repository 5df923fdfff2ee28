"""How many digits the outputs DVC tracks keep, and why.

Reproducing a committed run on another machine must leave ``git status`` clean. Two CPUs may
disagree in the last bit of a float (numpy's SIMD exp / log, a sum's order), and a last-bit change
would change a file's hash. Every float written to a DVC-tracked output is therefore rounded to
:data:`SIGNIFICANT_DIGITS` significant digits: a difference of about 1e-16 then flips a written
digit only for a value within 1e-16 of a rounding boundary (about one number in a million), while
10 digits keep far more than any score's cross-validation noise (about 1e-3).
"""

from __future__ import annotations

import math
from typing import Any

SIGNIFICANT_DIGITS = 10


def rounded(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """A float to ``digits`` significant digits (NaN, infinities, 0 and non-floats as they are)."""
    if not isinstance(value, float) or not math.isfinite(value) or value == 0.0:
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def round_floats(obj: Any) -> Any:
    """``obj`` (nested dicts, lists, tuples) with every float :func:`rounded`."""
    if isinstance(obj, dict):
        return {k: round_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(round_floats(v) for v in obj)
    return rounded(obj)

"""tunepipe: hyperparameter tuning for tabular ML with Prefect fan-out and DVC-versioned runs."""

from __future__ import annotations

__version__ = "0.1.0"

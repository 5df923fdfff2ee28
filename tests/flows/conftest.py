"""Real flows under a real local Prefect server: the run's shared one, or one started for this session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from tests.conftest import SHARED_API_URL


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    """The run's shared server (tests/conftest.py, with pytest-xdist), else a temporary one."""
    url = os.environ.get(SHARED_API_URL)
    if url:
        with temporary_settings({PREFECT_API_URL: url}):
            yield
        return
    with prefect_test_harness(server_startup_timeout=120):
        yield

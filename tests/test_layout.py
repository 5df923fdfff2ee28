"""The layout's rules that a reader relies on: no import cycle, search/ free of config and Prefect."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every absolute module imported by ``path``, ``TYPE_CHECKING`` blocks and function bodies included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """tunepipe's and flows' modules -> the modules of theirs they import (a package is its __init__)."""
    paths = [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] in ("tunepipe", "flows")]
    modules = {_module(p): p for p in paths}

    def own(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    return {
        name: {dep for d in _imports(path) if (dep := own(d)) is not None and dep != name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles a depth-first walk meets (empty when the graph has none)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    found: list[list[str]] = []

    def walk(node: str) -> None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                found.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                walk(dep)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return found


def test_cycles_finds_a_hand_made_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert "tunepipe.config" in graph and "tunepipe.search.strategies" in graph["tunepipe.config"]
    assert cycles(graph) == []


def test_search_reads_no_config_and_no_prefect():
    """search/ takes plain values (SearchSettings) and never executes: no config, Prefect or io import."""
    for path in (SRC / "tunepipe" / "search").rglob("*.py"):
        imported = _imports(path)
        banned = {m for m in imported if m.split(".")[0] == "prefect" or m in ("tunepipe.config", "tunepipe.io")}
        assert not banned, f"{path.relative_to(SRC)} imports {sorted(banned)}"


def test_the_readmes_layout_names_every_module():
    """The README's layout block says each file's one job: a module it does not name is a gap."""
    readme = (SRC.parent / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```")[1]
    words = set(re.findall(r"\w+\.py", block))
    missing = [
        str(path.relative_to(SRC)) for path in sorted((SRC / "tunepipe").rglob("*.py"))
        if path.name not in words and path.name != "__init__.py" and "samplers" not in path.parts
        and "schedulers" not in path.parts  # listed by folder: one module per algorithm
    ]
    assert missing == []

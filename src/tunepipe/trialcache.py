"""The trial cache key: what determines a trial's scores, and nothing else."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from collections.abc import Iterator
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from tunepipe.results import Trial
from tunepipe.scoring.spec import TrialSetup

# The libraries whose version can change a trial's scores.
KEY_LIBRARIES = ("lightgbm", "scikit-learn", "numpy", "pandas", "scipy")
# Where a trial's evaluation starts: the modules it imports, transitively, are what it runs. The
# racing rule too: a raced trial calls it (through the Race it carries) to decide where it stops.
TRIAL_MODULES = ("tunepipe.scoring", "tunepipe.search.racing")


def scoring_modules(roots: tuple[str, ...] = TRIAL_MODULES) -> list[str]:
    """Every tunepipe module a trial runs: ``root`` and what it imports, transitively (sorted).

    Read from the sources' import statements, so a module that starts to matter to a trial's
    scores (say, a new LightGBM engine imported by tunepipe.scoring) is hashed without anyone listing it.
    """
    package = Path(sys.modules["tunepipe"].__file__).parent  # type: ignore[arg-type]
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_path(package, name)
        if path is None:
            continue
        seen.add(name)
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            todo += [n for n in names if n == "tunepipe" or n.startswith("tunepipe.")]
    return sorted(seen)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (imports for type hints never
    run, so they cannot change a score)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                todo += child.orelse
            else:
                todo.append(child)


def _module_path(package: Path, name: str) -> Path | None:
    """The source file of tunepipe module ``name`` (None if it is not a module of the package)."""
    parts = name.split(".")[1:]
    if not parts:
        return None
    candidate = package.joinpath(*parts)
    for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if path.is_file():
            return path
    return None


def code_version(sources: dict[str, str]) -> str:
    """A hash of library versions and of the given module sources (name -> text)."""
    parts = [f"python {sys.version_info[:2]}"] + [f"{lib} {version(lib)}" for lib in KEY_LIBRARIES]
    parts += [f"{name}\n{text}" for name, text in sorted(sources.items())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def _installed_code_version() -> str:
    package = Path(sys.modules["tunepipe"].__file__).parent  # type: ignore[arg-type]
    sources = {}
    for name in scoring_modules():
        path = _module_path(package, name)
        assert path is not None
        sources[name] = path.read_text()
    return code_version(sources)


def trial_key(trial: Trial, setup: TrialSetup) -> str:
    """The trial cache key.

    Made of the trial spec's digest (the split's fingerprint, data and fold plan; the model kind,
    task, fixed params, scorer, resource, seed and feature columns; best-iteration scoring and
    early stopping), the configuration's params and budget, its race and ceiling, its schedule (population-based
    training), and the library
    and code versions. Not the trial's number, candidate, bracket or rung, nor how it runs (threads,
    fold workers, continued boosting): the same params at the same budget give the same scores in
    any search that asks for them (so another strategy or a larger search reuses every trial
    already run), with any number of threads.
    """
    fields = {
        "spec": setup.spec.digest,
        "params": trial.params, "budget": trial.budget, "race": trial.race, "ceiling": trial.ceiling,
        "code": _installed_code_version(),
    }
    if trial.schedule is not None:  # only then: every other trial keeps the key it had
        fields["schedule"] = [[s.rounds, s.params] for s in trial.schedule]
    # sort_keys: the key must not depend on the order params.yaml lists the space in.
    text = json.dumps(fields, sort_keys=True, default=repr)
    return f"trial-{hashlib.sha256(text.encode()).hexdigest()[:32]}"

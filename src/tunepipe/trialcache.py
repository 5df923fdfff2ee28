"""The trial cache key: what determines a trial's scores, and nothing else."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from tunepipe.results import Trial
from tunepipe.trial import TrialSetup

# The libraries whose version can change a trial's scores.
KEY_LIBRARIES = ("lightgbm", "scikit-learn", "numpy", "pandas", "scipy")
# Where a trial's evaluation starts: the modules it imports, transitively, are what it runs. The
# racing rule too: a raced trial calls it (through the Race it carries) to decide where it stops.
TRIAL_MODULES = ("tunepipe.trial", "tunepipe.search.racing")


def scoring_modules(roots: tuple[str, ...] = TRIAL_MODULES) -> list[str]:
    """Every tunepipe module a trial runs: ``root`` and what it imports, transitively (sorted).

    Read from the sources' import statements, so a module that starts to matter to a trial's
    scores (say, a new LightGBM engine imported by trial.py) is hashed without anyone listing it.
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
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            todo += [n for n in names if n == "tunepipe" or n.startswith("tunepipe.")]
    return sorted(seen)


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


def trial_key(trial: Trial, data_fingerprint: str, setup: TrialSetup) -> str:
    """The trial cache key.

    Made of the split's fingerprint (data and fold plan), the model kind, task, fixed params,
    scorer, resource, seed and feature columns, the configuration's params and budget, and the
    library and code versions. Not the trial's number, candidate, bracket or rung, nor the thread
    count: the same params at the same budget give the same scores in any search that asks for
    them (so another strategy or a larger search reuses every trial already run), with any number
    of threads.
    """
    fields = {
        "data": data_fingerprint,
        "kind": setup.kind, "task": setup.task, "fixed": setup.fixed_params, "scoring": setup.scoring,
        "resource": setup.resource, "seed": setup.seed, "numeric": setup.numeric,
        "categorical": setup.categorical,
        "best_iteration": setup.score_best_iteration and setup.native_boosting and setup.resource == "n_estimators",
        "early_stopping": setup.early_stopping,
        "params": trial.params, "budget": trial.budget, "race": trial.race, "ceiling": trial.ceiling,
        "code": _installed_code_version(),
    }
    # sort_keys: the key must not depend on the order params.yaml lists the space in.
    text = json.dumps(fields, sort_keys=True, default=repr)
    return f"trial-{hashlib.sha256(text.encode()).hexdigest()[:32]}"

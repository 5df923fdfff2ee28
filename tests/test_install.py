"""The installation itself: `tunepipe --version`, and an editable install without setuptools' warning."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import tunepipe

ROOT = Path(__file__).resolve().parent.parent


def test_version_prints_the_package_version() -> None:
    tunepipe_bin = Path(sys.executable).with_name("tunepipe")
    proc = subprocess.run([str(tunepipe_bin), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"tunepipe {tunepipe.__version__}"
    # One source of the version: pyproject.toml reads it from tunepipe.__version__.
    assert importlib.metadata.version("tunepipe") == tunepipe.__version__


def test_editable_install_is_a_plain_path_entry() -> None:
    """Every package under one folder (src/, flows through a symlink): setuptools writes a .pth with
    that folder instead of an import hook, and prints no "Editable installation" warning."""
    dist = importlib.metadata.distribution("tunepipe")
    pth = [f for f in dist.files or [] if f.name.startswith("__editable__") and f.suffix == ".pth"]
    if not pth:  # a regular (non-editable) install has nothing to check here
        return
    entries = Path(str(dist.locate_file(pth[0]))).read_text().split()
    assert entries == [str(ROOT / "src")]
    assert (ROOT / "src" / "flows").resolve() == ROOT / "flows"

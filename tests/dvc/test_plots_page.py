"""`dvc plots show` as a person sees it: the page in a real headless Chromium, offline, every plot drawn.

Needs Debian's chromium and chromium-driver (`make browser` installs them; `make test` runs it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.dvc.conftest import Repo
from tunepipe.config import parse_config
from tunepipe.io import read_params
from tunepipe.importance import parallel_coordinates, param_importances

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# The plots of dvc.yaml and the DOM elements of the marks each one draws (vega's SVG renderer).
PLOTS = {
    "Score against budget": "g.mark-symbol path",
    "Best score so far": "g.mark-line path",
    "Hyperparameter importance": "g.mark-rect path",
    "Score against each hyperparameter": "g.mark-line path",
    "ROC curve (binary, holdout)": "g.mark-line path",
    "Confusion matrix (multiclass, holdout)": "g.mark-rect path",
    "Predicted vs actual (regression, holdout)": "g.mark-symbol path",
}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    assert CHROMIUM and DRIVER, "chromium and chromedriver are not installed: run `make browser` (Debian packages)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1400,2400"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _show(repo: Repo, browser: webdriver.Chrome, allowed: str = "^$") -> dict[str, list]:
    """`dvc plots show`, the page opened offline; per plot: [svg views, marks drawn, texts drawn].

    A console warning that matches ``allowed`` is not a failure.
    """
    repo.dvc("plots", "show")
    page = repo.path / "dvc_plots/index.html"
    html = page.read_text()
    # Nothing to fetch: no script, stylesheet or image from the network.
    assert not re.search(r"""(src|href)\s*=\s*["']https?:""", html)

    browser.get(page.as_uri())
    results = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; Promise.all(window.tunepipePlots).then(done);"
    )
    assert results and all(r["ok"] for r in results), results
    drawn = browser.execute_script(
        "const out = {}; for (const [name, sel] of Object.entries(arguments[0])) {"
        "  const div = document.getElementById(name.replace(/[^A-Za-z0-9]/g, '_'));"
        "  out[name] = div ? [div.querySelectorAll('svg.marks').length, div.querySelectorAll(sel).length,"
        "                     Array.from(div.querySelectorAll('g.mark-text text'), t => t.textContent)] : null; }"
        "return out;", PLOTS,
    )
    # No console errors, and no warnings from Vega (a warning is a channel or field it dropped).
    messages = [e for e in browser.get_log("browser")
                if e["level"] in ("SEVERE", "WARNING") and not re.search(allowed, e["message"])]
    assert messages == [], [m["message"] for m in messages]
    assert all(v is not None and v[0] == 1 for v in drawn.values()), drawn
    return drawn


def test_every_plot_draws_offline_in_a_browser(repo: Repo, browser: webdriver.Chrome) -> None:
    # The other tasks' holdout plots, so that every template is drawn on one page.
    eval_dir = repo.path / "reports/eval"
    pd.DataFrame({"actual": ["a", "b", "c", "a"], "predicted": ["a", "c", "c", "b"]}).to_csv(eval_dir / "confusion.csv", index=False)
    pd.DataFrame({"actual": [1.0, 2.0, 3.5, 5.0], "predicted": [1.2, 2.5, 3.0, 4.6]}).to_csv(eval_dir / "predictions.csv", index=False)
    try:
        drawn = _show(repo, browser)
        assert all(v[1] > 0 for v in drawn.values()), drawn
        assert not any("not enough trials" in text for v in drawn.values() for text in v[2]), drawn
    finally:
        repo.reset()


def test_a_plot_with_too_few_trials_says_so_on_the_page(repo: Repo, browser: webdriver.Chrome) -> None:
    """Importance and parallel coordinates need 10 fully scored trials at one budget: with 3, each
    draws its note, and nothing else of them is drawn."""
    few = pd.read_csv(repo.path / "reports/trials.csv").head(3)
    space = parse_config(read_params(repo.path / "params.yaml")).search.flat_space
    param_importances(few, space, seed=0).to_csv(repo.path / "reports/importance.csv", index=False)
    parallel_coordinates(few, space).to_csv(repo.path / "reports/parallel.csv", index=False)
    try:
        # Vega says a scale that got no data has an infinite extent: true of the marks not drawn.
        drawn = _show(repo, browser, allowed=r'"WARN" "Infinite extent for field \\"(share|share_start|share_end|score)\\"')
        for name in ("Hyperparameter importance", "Score against each hyperparameter"):
            views, marks, texts = drawn[name]
            notes = [t for t in texts if t.startswith("not enough trials: at most")]
            assert marks == 0 and len(notes) == 1, drawn[name]
        assert drawn["Best score so far"][1] > 0, drawn  # the other plots still draw
    finally:
        repo.reset()


def test_score_against_budget_draws_a_line_per_configuration(repo: Repo, browser: webdriver.Chrome) -> None:
    """A pbt run's members are lines across steps (one path each, through every step); the
    defaults' single trial is a path of one point."""
    rows = [(-1, 30, 0.80, None)]
    rows += [(m, b, 0.70 + 0.01 * m + b / 1000, None) for m in (0, 1) for b in (10, 20, 30)]
    rows += [(2, 10, 0.60, None), (2, 20, 0.73, 0), (2, 30, 0.74, None)]  # copies member 0 at step 1: a jump
    trials = pd.DataFrame(rows, columns=["candidate", "n_resources", "mean_test_score", "parent"])
    trials.insert(0, "trial", range(len(trials)))
    trials.to_csv(repo.path / "reports/trials.csv", index=False)
    try:
        _show(repo, browser)
        paths = browser.execute_script(
            "const div = document.getElementById('Score_against_budget');"
            "return Array.from(div.querySelectorAll('g.mark-line path'), p => p.getAttribute('d'));"
        )
        assert len(paths) == 4, paths
        assert sorted(p.count("L") for p in paths) == [0, 2, 2, 2], paths
    finally:
        repo.reset()

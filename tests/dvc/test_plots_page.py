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


def test_every_plot_draws_offline_in_a_browser(repo: Repo, browser: webdriver.Chrome) -> None:
    # The other tasks' holdout plots, so that every template is drawn on one page.
    eval_dir = repo.path / "reports/eval"
    pd.DataFrame({"actual": ["a", "b", "c", "a"], "predicted": ["a", "c", "c", "b"]}).to_csv(eval_dir / "confusion.csv", index=False)
    pd.DataFrame({"actual": [1.0, 2.0, 3.5, 5.0], "predicted": [1.2, 2.5, 3.0, 4.6]}).to_csv(eval_dir / "predictions.csv", index=False)
    try:
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
            "  out[name] = div ? [div.querySelectorAll('svg.marks').length, div.querySelectorAll(sel).length] : null; }"
            "return out;", PLOTS,
        )
        assert all(v is not None and v[0] == 1 and v[1] > 0 for v in drawn.values()), drawn
        # No console errors, and no warnings from Vega (a warning is a channel or field it dropped).
        messages = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert messages == [], [m["message"] for m in messages]
    finally:
        repo.reset()

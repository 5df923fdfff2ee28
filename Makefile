# The two commands of the README: `make run` and `make test`. Each sets up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# No network here and no reason to phone home. (Prefect's home is the project's .prefect/ whatever
# the folder a command starts in: tunepipe sets it, src/tunepipe/prefect_home.py.)
export PREFECT_SERVER_ANALYTICS_ENABLED := false
# dvc.yaml's stage commands call `tunepipe`, from the venv.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Debian's packages for the test that opens the plots page in a real headless browser.
BROWSER_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install browser plots-page clean

# The pipeline through DVC: a first run is cached, and a second does only what changed.
run: $(VENV)/.installed
	$(BIN)/dvc repro
	@$(BIN)/tunepipe summary

# Four workers on two cores: most of a test's time is spent waiting on a Prefect server, a dvc or
# tunepipe process, or a browser. worksteal spreads the long end-to-end tests, which start first
# (tests/conftest.py). Measured: 441 s of pytest (worksteal) vs 557 s (loadgroup), 954 s serial.
test: $(VENV)/.installed browser
	$(BIN)/pytest -n 4 --dist worksteal

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Headless Chromium and its WebDriver (tests/dvc/test_plots_page.py), installed when missing.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES); }

# Rebuild .dvc/plots/offline.html (DVC's plots page with Vega inlined) from the npm registry.
plots-page: $(VENV)/.installed
	rm -rf .plots-page && mkdir .plots-page
	cd .plots-page && npm pack --silent vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0
	$(BIN)/python tools/plots_page.py .plots-page
	rm -rf .plots-page

clean:
	rm -rf $(VENV) .prefect .tunepipe data/split reports/eval models/*.joblib models/model.json dvc_plots

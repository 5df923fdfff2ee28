# The two commands of the README: `make run` and `make test`. Each sets up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# No network here and no reason to phone home; a project-local Prefect home keeps runs out of ~/.prefect.
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
# dvc.yaml's stage commands call `tunepipe`, from the venv.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test install clean

# The pipeline through DVC: a first run is cached, and a second does only what changed.
run: $(VENV)/.installed
	$(BIN)/dvc repro
	$(BIN)/dvc metrics show

test: $(VENV)/.installed
	$(BIN)/pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .prefect .tunepipe data/split reports/eval models/*.joblib dvc_plots

# leadflow: `make demo` and `make test` work from a fresh clone (Python 3.11+, Node 20+).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TZ := UTC
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: install demo test pytest synth lint layers bench clean browser checkov

install: $(STAMP) node_modules/.installed

# A first run installs for a few minutes: say so, and show each package as pip reaches it.
$(STAMP): pyproject.toml
	@echo "==> setting up .venv and the Python dependencies (first run: about 2-3 minutes)"
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	set -o pipefail; $(BIN)/pip install -e '.[dev]' | grep --line-buffered -E '^(Collecting|Successfully installed)' \
		| sed -u -e 's/^Collecting /  fetching /' -e 's/ (from .*//'
	@echo "==> installed"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(STAMP)
	$(BIN)/leadflow demo

# Side by side: pip, npm, checkov's pip and apt first (they mostly wait on the network), then lint
# beside the tests (mypy's cold run, ~60 s of CPU, fills the cores the tests leave idle).
# Two workers on two cores (pytest-xdist): whole test files per worker, the CDK synth's files together
# (tests/conftest.py). Run one file with `$(BIN)/pytest tests/test_x.py`.
test:
	@$(MAKE) --no-print-directory -j 4 install browser checkov
	@$(MAKE) --no-print-directory -j 2 lint pytest

pytest: install browser checkov
	$(BIN)/pytest -n auto --dist loadfile

# checkov in its own virtualenv: its pins (boto3 1.35, packaging 23) cannot share the dev venv.
checkov: .venv-checkov/.installed

.venv-checkov/.installed: requirements-checkov.txt
	test -d .venv-checkov || $(PYTHON) -m venv .venv-checkov
	@echo "installing checkov (its own virtualenv)..."
	.venv-checkov/bin/pip install -q -r requirements-checkov.txt
	touch $@

# Headless Chromium for the report's layout tests (Debian's package; they skip without it).
browser:
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium could not be installed: the report layout tests will skip"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/leadflow lint

layers: $(STAMP)
	$(BIN)/python -m infra.layers

# The shipped sample (placeholder domains) synthesizes for inspection; your own settings need no flag.
synth: install layers
	npx cdk synth -q -c leadflow:allowPlaceholders=true

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-checkov node_modules cdk.out build out .pytest_cache .mypy_cache .ruff_cache

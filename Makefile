# Two commands do everything (see README.md):
#   make demo   set up, then run every chapter's scripts into ./demo-store
#   make test   set up, then run the whole test suite
# Setting up is idempotent: the venv is rebuilt only when the pins change.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=

.PHONY: setup system-deps data demo test bench test-newest lint format requirements clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.10 needed, found " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Debian packages the server chapters (12-14) need: PostgreSQL for the remote
# backend store, Chromium for the UI test. Needs root (CI runs as root).
system-deps:
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql chromium

# Download and verify the wine data once (a no-op when the cache is good).
data: setup
	$(BIN)/python -m winelab fetch

demo: data
	$(BIN)/python -m winelab.demo $(DEMO_ARGS)

test: data
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# Time every script against the import floor, then the test suite (README: Speed and robustness).
bench: data
	$(BIN)/python -m winelab.bench $(BENCH_ARGS)

# The suite on the newest release of every dependency, in its own .venv-newest (rebuilt each time).
test-newest: data
	$(BIN)/python -m winelab.newest -- $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src examples tests
	$(BIN)/ruff format --check src examples tests

format: setup
	$(BIN)/ruff format src examples tests
	$(BIN)/ruff check --fix src examples tests

# Re-pin requirements.txt after editing requirements.in.
requirements: setup
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in

clean:
	rm -rf $(VENV) .venv-newest demo-store .pytest_cache

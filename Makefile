# Two commands do everything (see README.md):
#   make demo   set up, then run every chapter's scripts into ./demo-store
#   make test   set up, then run the whole test suite
# Setting up is idempotent: the venv is rebuilt only when the pins change.

PYTHON ?= python3
VENV ?= .venv
# Supported Pythons: requirements.txt is one lock for all of them (make requirements).
PY_MIN := 3.10
PY_MAX := 3.13
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
# make test-pythons: versions (found as pythonX.Y on PATH or under pyenv) or interpreter paths
PYTHONS ?= $(PY_MIN) $(PY_MAX)
PYTHONS_TESTS ?= $(sort $(wildcard tests/test_0[1-6]_*.py))
# on SQLite only: make test runs the three-store matrix (mlruns, SQLite, a server) on .venv's Python
PYTHONS_PYTEST_ARGS ?= -n auto -k 'not mlruns and not server'
# left out of those venvs: chapter 21's Spark (430 MB, ~20 s of uv per venv), which chapters 01-06 never use
PYTHONS_WITHOUT ?= pyspark|py4j
REQUIREMENTS_ARGS ?=
# uv builds the test-pythons venvs when this is an executable (it comes with requirements.txt), else pip
UV ?= $(BIN)/uv

.PHONY: setup system-deps data demo ui screenshots test bench test-newest test-pythons lint format requirements clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; low, high = [tuple(map(int, v.split("."))) for v in ("$(PY_MIN)", "$(PY_MAX)")]; \
	found = "Python %s (%s)" % (sys.version.split()[0], sys.executable); \
	sys.version_info[:2] > high and sys.stderr.write("warning: %s is newer than the tested $(PY_MIN) to $(PY_MAX); carrying on\n" % found); \
	sys.exit("error: Python $(PY_MIN) to $(PY_MAX) needed, found %s; install one (python.org, your package manager, or pyenv install $(PY_MAX)), then: make setup PYTHON=python$(PY_MAX)" % found if sys.version_info[:2] < low else None)'
	$(PYTHON) -m venv $(VENV)
	@# uv (pinned in requirements.txt) installs the rest in a quarter of pip's time; pip if uv fails
	@# (e.g. a package index that only pip's own configuration knows)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$$(grep -m1 '^uv==' requirements.txt)"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.txt \
	|| { echo "uv could not install requirements.txt; trying pip" >&2; \
	     $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Debian packages the server chapters (12-15) and chapter 21 need: PostgreSQL for the remote
# backend store, Chromium for the UI test, Java 17 for Spark. Needs root (CI runs as root).
system-deps:
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql chromium openjdk-17-jre-headless

# Download and verify the wine data once (a no-op when the cache is good). The scripts read it
# through their --data option's default, $$WINE_QUALITY_CSV (the demo and the tests set it).
data: setup
	@path=$$($(BIN)/python -m winelab fetch) && echo "wine data, sha256 verified: $$path" \
	&& echo '  scripts read it once you: export WINE_QUALITY_CSV="$$(python -m winelab where)"'

demo: data
	$(BIN)/python -m tools.demo $(DEMO_ARGS)

# Browse what make demo recorded: the MLflow UI on the demo store, on 127.0.0.1 only.
UI_PORT ?= 5000
ui: setup
	@test -f demo-store/mlflow.db || { echo "error: no demo store in demo-store/: run make demo first" >&2; exit 1; }
	@$(BIN)/python -c 'import socket, sys; \
	sys.exit(socket.socket().connect_ex(("127.0.0.1", $(UI_PORT))) == 0 \
	and "error: port $(UI_PORT) on 127.0.0.1 is taken; pick another: make ui UI_PORT=5001")'
	@echo "MLflow UI on the demo store: http://127.0.0.1:$(UI_PORT)  (Ctrl-C stops it)"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/demo-store/mlflow.db --host 127.0.0.1 --port $(UI_PORT)

# The pictures of the UI in docs/teaching.md (docs/screenshots/), from the demo store, in headless Chromium.
screenshots: setup
	$(BIN)/python -m tools.screenshots --store demo-store --out docs/screenshots

test: data
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# Time every script against the import floor, then the test suite (docs/testing.md).
bench: data
	$(BIN)/python -m tools.bench $(BENCH_ARGS)

# The suite on the newest release of every dependency, in its own .venv-newest (rebuilt each time).
test-newest: data
	$(BIN)/python -m tools.newest -- $(PYTEST_ARGS)

# The chapter 01-06 tests on each Python of PYTHONS (default: the lowest and highest
# supported; .venv's Python is make test's), each in its own $(VENV)-pyX.Y built with uv
# (pip without it) and rebuilt when the pins change. Prints build and test seconds per
# Python. A Python not found is skipped with a line saying so, an error when CI=true.
test-pythons: data
	@root=$${PYENV_ROOT:-$$HOME/.pyenv}; failed=0; summary=; \
	for want in $(PYTHONS); do \
	  python=; \
	  for candidate in $$want python$$want $$(ls -d $$root/versions/$$want.* 2>/dev/null | sort -rV | sed 's|$$|/bin/python|'); do \
	    if "$$candidate" -c '' >/dev/null 2>&1; then python=$$candidate; break; fi; \
	  done; \
	  if [ -z "$$python" ]; then \
	    case $$want in \
	      [0-9]*) missing="Python $$want: not found as python$$want on PATH or under $$root/versions (install it, e.g. pyenv install $$want)" ;; \
	      *) missing="$$want: no such interpreter (give a version like $(PY_MAX) or a path to a python)" ;; \
	    esac; \
	    if [ "$$CI" = true ]; then \
	      echo "error: $$missing; CI tests every supported Python" >&2; failed=1; summary="$$summary  $$want: MISSING\n"; \
	    else \
	      echo "skipping $$missing"; summary="$$summary  $$want: skipped, not installed\n"; \
	    fi; \
	    continue; \
	  fi; \
	  version=$$("$$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  venv=$(VENV)-py$$version; start=$$(date +%s); \
	  if [ ! -f $$venv/.installed ] || [ requirements.txt -nt $$venv/.installed ] || [ pyproject.toml -nt $$venv/.installed ] \
	      || ! $$venv/bin/python -c '' >/dev/null 2>&1; then \
	    echo "Python $$version ($$python): building $$venv"; \
	    rm -rf $$venv; \
	    if [ -x "$(UV)" ]; then \
	      $(UV) venv --quiet --python "$$python" $$venv \
	      && grep -v -E '^($(PYTHONS_WITHOUT))==' requirements.txt > $$venv/requirements.txt \
	      && $(UV) pip install --quiet --compile-bytecode --python $$venv/bin/python -r $$venv/requirements.txt \
	      && $(UV) pip install --quiet --python $$venv/bin/python --no-deps -e .; \
	    else \
	      "$$python" -m venv $$venv \
	      && grep -v -E '^($(PYTHONS_WITHOUT))==' requirements.txt > $$venv/requirements.txt \
	      && $$venv/bin/python -m pip install --quiet --disable-pip-version-check -r $$venv/requirements.txt \
	      && $$venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .; \
	    fi && touch $$venv/.installed \
	    || { echo "error: could not build $$venv for Python $$version" >&2; failed=1; summary="$$summary  Python $$version: venv build FAILED\n"; continue; }; \
	  fi; \
	  built=$$(( $$(date +%s) - start )); start=$$(date +%s); \
	  echo "Python $$version: $$venv ready in $$built s; pytest $(PYTHONS_PYTEST_ARGS) $(PYTHONS_TESTS)"; \
	  if VIRTUAL_ENV=$(CURDIR)/$$venv PATH=$(CURDIR)/$$venv/bin:$$PATH $$venv/bin/python -m pytest $(PYTHONS_PYTEST_ARGS) $(PYTHONS_TESTS); \
	  then result=passed; else result="FAILED (pytest exit $$?)"; failed=1; fi; \
	  summary="$$summary  Python $$("$$python" -c 'import sys; print(sys.version.split()[0])'): venv $$built s, tests $$result in $$(( $$(date +%s) - start )) s\n"; \
	done; \
	printf "test-pythons:\n$$summary"; exit $$failed

lint: setup
	$(BIN)/ruff check src tools examples tests
	$(BIN)/ruff format --check src tools examples tests

format: setup
	$(BIN)/ruff format src tools examples tests
	$(BIN)/ruff check --fix src tools examples tests

# Re-pin requirements.txt after editing requirements.in: one universal lock for Python
# $(PY_MIN) and newer (environment markers where a pin differs by Python), keeping the
# current pins where it can; REQUIREMENTS_ARGS=--upgrade moves everything to the newest.
requirements: setup
	$(UV) pip compile --quiet --universal --python-version $(PY_MIN) requirements.in -o requirements.txt $(REQUIREMENTS_ARGS)

clean:
	rm -rf $(VENV) $(VENV)-py3.* .venv-newest demo-store .pytest_cache

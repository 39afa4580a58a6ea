# One command each: `make demo` runs the sync on embedded defaults, `make test` runs every test.
# Both set up what they need on a fresh clone: the venv and its pinned packages, and (for the
# tests, when run as root) Virtuoso from Debian's packages.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: check test demo setup system-deps clean

# Tests run in TEST_WORKERS processes (most of their time is waiting on servers, not the CPU);
# each process starts its own servers and Prefect home. TEST_WORKERS=0 runs them in this one.
TEST_WORKERS ?= 4

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	@bash scripts/ensure-system-deps.sh

# The fast gate (under a minute once the venv exists): lint, the layering contracts, types (mypy
# on kimaisync/, set up in pyproject.toml), and every test that starts no server (tests marked
# slow are left to `make test`).
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)

test: $(STAMP) system-deps
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

demo: $(STAMP)
	$(VENV)/bin/kimai-sync demo

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache

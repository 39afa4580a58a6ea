# One command each: `make demo` runs the sync on embedded defaults, `make test` runs every test.
# Both set up what they need on a fresh clone: the venv and its pinned packages, and (for the
# tests, when run as root) Virtuoso from Debian's packages.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo setup system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	@bash scripts/ensure-system-deps.sh

test: $(STAMP) system-deps
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	$(VENV)/bin/kimai-sync demo

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

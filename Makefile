# The two set-up commands: `make demo` and `make test`. Everything installs from PyPI and Debian.
PYTHON := $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install browser test test-fast test-postgres fuzz lint bench demo clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m django compilemessages --ignore '.venv' -v 0 2>/dev/null || true
	touch $@

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: chromium could not be installed; browser tests will fail"; }

lint: install
	$(BIN)/ruff check escalade tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The whole suite on the embedded SQLite database (plus lint).
test: install browser lint
	$(BIN)/pytest

# Core only: no database, no browser (seconds).
test-fast: install
	$(BIN)/pytest tests/core -p no:django

# The database-backed suite against PostgreSQL.
test-postgres: install browser
	ESCALADE_TEST_DATABASE_URL=$${ESCALADE_TEST_DATABASE_URL:-$(PG_URL)} $(BIN)/pytest -m "not browser" tests --ignore=tests/core

# The larger fuzzing campaign (`make test` runs the same tests, bounded): schemathesis over every
# operation and role with a stateful phase, the API's bodies, `escalade evaluate` input, the policy loader.
FUZZ_EXAMPLES ?= 200
fuzz: install
	ESCALADE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ESCALADE_FUZZ_STEPS=30 $(BIN)/pytest -rA \
	  tests/api/test_schemathesis.py tests/api/test_fuzz.py tests/evaluate/test_fuzz.py tests/core/test_policy_fuzz.py

bench: install
	$(BIN)/python benchmarks/bench_calendar.py
	$(BIN)/python benchmarks/bench_evaluate.py

# The development profile (known secret key, plain HTTP on loopback): never for production.
demo: export ESCALADE_DEV = 1
demo: install
	$(BIN)/escalade migrate --no-input
	$(BIN)/escalade demo
	$(BIN)/escalade serve --with-worker

clean:
	rm -rf $(VENV) data artifacts .mypy_cache .ruff_cache

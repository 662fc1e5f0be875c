# The two set-up commands: `make demo` and `make test`. Everything installs from PyPI and Debian.
PYTHON := $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: messages-fr install browser dovecot pango axe rt wrk test test-fast test-postgres fuzz lint bench bench-full demo clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m django compilemessages --ignore '.venv' -v 0 2>/dev/null || true
	touch $@

# French is the source language: its catalogue maps each text to itself, made from the English one
# after each makemessages (a French look-up that missed every catalogue cost 4 times a hit).
messages-fr:
	scripts/french-catalogue

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: chromium could not be installed; browser tests will fail"; }

# The mail tests start their own IMAP server: Debian's dovecot (never the system's running one).
dovecot:
	@test -x /usr/sbin/dovecot || { \
	  echo "Installing Debian's dovecot-imapd for the mail tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null) \
	  || echo "warning: dovecot-imapd could not be installed; the IMAP tests will fail"; }

# The procedure as a PDF (weasyprint) draws its text with Debian's Pango.
pango:
	@ldconfig -p | grep -q libpangoft2-1.0 || { \
	  echo "Installing Debian's Pango for the PDF of the procedure"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null) \
	  || echo "warning: Pango could not be installed; the PDF test will fail"; }

# The helpdesk sync tests start their own Request Tracker 5 (Debian's, its SQLite backend and
# standalone server; about 5 minutes to install the first time), never the system's.
rt:
	@test -x /usr/share/request-tracker5/libexec/rt-server || { \
	  echo "Installing Debian's request-tracker5 for the helpdesk sync tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	     request-tracker5 rt5-db-sqlite rt5-standalone >/dev/null) \
	  || echo "warning: request-tracker5 could not be installed; the helpdesk sync tests will fail"; }

# The browser tests inject axe-core (the accessibility engine, from the npm registry) into each page.
AXE_VERSION := 4.14.1
AXE := $(VENV)/axe/axe-core-$(AXE_VERSION)/axe.min.js
axe: $(AXE)
$(AXE):
	@command -v npm >/dev/null || { echo "Installing Debian's npm for axe-core"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null) || true; }
	mkdir -p $(VENV)/axe/axe-core-$(AXE_VERSION)
	cd $(VENV)/axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
	  tar -xzf axe-core-$(AXE_VERSION).tgz -C axe-core-$(AXE_VERSION) --strip-components=1 package/axe.min.js && \
	  rm axe-core-$(AXE_VERSION).tgz

lint: install
	$(BIN)/ruff check escalade tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The whole suite on the embedded SQLite database (plus lint).
test: install browser dovecot pango axe rt lint
	$(BIN)/pytest --durations=15

# Core only: no database, no browser (seconds).
test-fast: install
	$(BIN)/pytest tests/core -p no:django

# The database-backed suite against PostgreSQL.
test-postgres: install browser dovecot pango axe rt
	ESCALADE_TEST_DATABASE_URL=$${ESCALADE_TEST_DATABASE_URL:-$(PG_URL)} $(BIN)/pytest -m "not browser" tests --ignore=tests/core --durations=15

# The larger fuzzing campaign (`make test` runs the same tests, bounded): schemathesis over every
# operation and role with a stateful phase, the API's bodies, `escalade evaluate` input, the policy loader.
FUZZ_EXAMPLES ?= 200
fuzz: install
	ESCALADE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ESCALADE_FUZZ_STEPS=30 $(BIN)/pytest -rA \
	  tests/api/test_schemathesis.py tests/api/test_fuzz.py tests/evaluate/test_fuzz.py tests/core/test_policy_fuzz.py

# One script per measure of docs/performance.md, each printing its table (sizes, the baseline of the
# same run, the ratio, the goal). `bench` runs them at a reduced size (under 10 minutes), `bench-full`
# at the issue's: 1,000,000 incidents on PostgreSQL (BENCH_DB, erased). Results: docs/performance.md.
# A script that misses its goal exits non-zero; `-` lets the next one run all the same.
BENCH_DB ?= postgresql://postgres@127.0.0.1:5432/escalade_bench
bench: install wrk
	-$(BIN)/python benchmarks/bench_calendar.py
	-$(BIN)/python benchmarks/bench_evaluate.py --n 200000
	-$(BIN)/python benchmarks/bench_api.py --incidents 100000 --seconds 5 --database-url $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_pages.py --incidents 100000 --open 2000 --database-url $(BENCH_DB) --reuse  # bench_api's data
	-$(BIN)/python benchmarks/bench_dashboard.py --open 2000 20000
	-$(BIN)/python benchmarks/bench_import.py --n 10000 --postgres $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_burst.py --crossings 1000 --workers 1 2 --database-url $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_burst.py --crossings 1000 --database-url sqlite
	-$(BIN)/python benchmarks/bench_mail.py --messages 1000
	-$(BIN)/python benchmarks/bench_policy.py --n 2000 20000

bench-full: install wrk
	-$(BIN)/python benchmarks/bench_calendar.py
	-$(BIN)/python benchmarks/bench_evaluate.py
	-$(BIN)/python benchmarks/bench_api.py --incidents 1000000 --database-url $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_pages.py --incidents 1000000 --open 20000 --database-url $(BENCH_DB) --reuse
	-$(BIN)/python benchmarks/bench_pages.py --incidents 1000000 --open 20000 --customers 32 --database-url $(BENCH_DB)  # the issue's portal: 31,000 incidents a customer
	-$(BIN)/python benchmarks/bench_dashboard.py --open 20000 200000 --database-url $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_import.py --n 100000 --postgres $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_burst.py --crossings 1000 10000 --workers 1 2 --database-url $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_burst.py --crossings 1000 10000 --database-url sqlite
	-$(BIN)/python benchmarks/bench_worker.py --open 1000000 --database-url $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_mail.py --messages 1000 --database-url $(BENCH_DB)
	-$(BIN)/python benchmarks/bench_policy.py

# The load generator of bench_api.py (Debian's package; never a downloaded binary).
wrk:
	@command -v wrk >/dev/null || { echo "Installing Debian's wrk for the benchmarks"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
	  || echo "warning: wrk could not be installed; bench_api.py will stop"; }

# The development profile (known secret key, plain HTTP on loopback): never for production.
# `make demo PORT=8765` serves on another port.
PORT ?= 8000
demo: export ESCALADE_DEV = 1
demo: install
	$(BIN)/escalade migrate --no-input
	$(BIN)/escalade demo --port $(PORT)
	$(BIN)/escalade serve --with-worker --port $(PORT)

clean:
	rm -rf $(VENV) data artifacts .mypy_cache .ruff_cache

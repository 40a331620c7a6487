# The README's commands. Every target sets up what it needs, so each works on a fresh clone.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
PYDEPS := $(VENV)/.installed
NODE   := node_modules/.installed
ASSETS := src/talking/static/talking.css

.PHONY: help install run test bench lint browser clean

help: ## Show the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(PYDEPS) $(NODE) $(ASSETS) browser ## Set up: venv, Python and npm packages, compiled assets

$(PYDEPS): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

$(NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(ASSETS): $(PYDEPS) $(NODE) scripts/build_assets.py $(shell find src/talking/assets -type f 2>/dev/null)
	$(PY) scripts/build_assets.py

# Browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "Install Debian's chromium (sudo apt-get install chromium) to run the browser tests"; fi; }
	@# WeasyPrint (the packs' PDFs) needs Debian's pango.
	@ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0; \
	  else echo "Install Debian's pango (sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0) for the packs' PDFs"; fi; }

run: install ## Set up, migrate, load the demo survey if the database is empty, and serve on :8000
	$(BIN)/talking db upgrade
	$(BIN)/talking demo --if-empty
	$(BIN)/talking serve

test: install ## Set up and run the whole test suite (SQLite, PostgreSQL, browser)
	$(PY) -m pytest

bench: install ## Run the benchmarks and print their figures
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/ingest.py --database postgres
	$(PY) benchmarks/writer.py
	$(PY) benchmarks/flow.py
	$(PY) benchmarks/flow.py --workers 2
	$(PY) benchmarks/report.py
	$(PY) benchmarks/maps.py
	$(PY) benchmarks/packs.py
	$(PY) benchmarks/concurrency.py
	$(PY) benchmarks/concurrency.py --database postgres
	$(PY) benchmarks/rate_limits.py
	$(PY) benchmarks/panel.py
	$(PY) benchmarks/mail.py
	$(PY) benchmarks/crime.py
	$(PY) benchmarks/results.py

lint: install ## ruff on the code, import-linter on the layers, hadolint on the Containerfile
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src analysis tests benchmarks scripts
	$(BIN)/lint-imports
	$(BIN)/hadolint Containerfile

clean: ## Remove what install made (keeps var/, your data)
	rm -rf $(VENV) node_modules src/talking/static/*.css src/talking/static/*.js src/talking/static/images

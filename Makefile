# voucherd: `make run` serves the product on SQLite; `make test` runs the whole test suite.
# Dependencies come from lock files (exact versions, hashes checked), installed by uv:
# requirements.lock for running, requirements-dev.lock (a superset) for tests and checks,
# requirements-uv.lock for uv itself (installed with the venv's pip). `make lock` renews them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_INSTALL := $(UV) pip install --quiet --python $(BIN)/python
RUN_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8080
UV_VERSION := 0.13.9
export VOUCHERD_DATABASE_URL ?= sqlite:///./voucherd.db

.PHONY: help install install-dev run test test-crash lint typecheck check bench lock clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): requirements-uv.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.lock
	touch $@

# voucherd itself goes in editable, without dependencies: the lock file brought them all.
$(RUN_STAMP): requirements.lock pyproject.toml | $(UV)
	$(UV_INSTALL) --require-hashes -r requirements.lock
	$(UV_INSTALL) --no-deps -e .
	touch $@

$(DEV_STAMP): requirements-dev.lock pyproject.toml | $(UV)
	$(UV_INSTALL) --require-hashes -r requirements-dev.lock
	$(UV_INSTALL) --no-deps -e .
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP) ## Create .venv with voucherd and its runtime dependencies

install-dev: $(DEV_STAMP) ## Create .venv with the dev dependencies too (tests, linters)

run: $(RUN_STAMP) ## Migrate ./voucherd.db, create a demo client if none (./voucherd-demo.env), serve on :8080
	$(BIN)/voucherd bootstrap --url http://$(HOST):$(PORT)
	$(BIN)/voucherd serve --host $(HOST) --port $(PORT)

# The PostgreSQL half runs on VOUCHERD_TEST_DATABASE_URL; unset (a new clone), on a fresh
# database voucherd_test of the local server when one answers on 127.0.0.1:5432.
TEST_PG_DB := voucherd_test
test: $(DEV_STAMP) ## Run the test suite but the crash test, on SQLite and (when it answers) PostgreSQL
	@if [ -z "$$VOUCHERD_TEST_DATABASE_URL" ] && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
	  psql -h 127.0.0.1 -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
	    -c "DROP DATABASE IF EXISTS $(TEST_PG_DB) WITH (FORCE)" -c "CREATE DATABASE $(TEST_PG_DB)" \
	  && export VOUCHERD_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$(TEST_PG_DB)"; \
	fi; \
	$(BIN)/pytest -m "not crash" $(PYTEST_ARGS)

test-crash: $(DEV_STAMP) ## SIGKILL a loaded server 5 times on SQLite and a private PostgreSQL (slow)
	$(BIN)/pytest -m crash

lint: $(DEV_STAMP) ## ruff check, ruff format --check, import contracts (lint-imports)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP) ## mypy --strict
	$(BIN)/mypy

check: lint typecheck test ## Everything CI runs: lint, format check, contracts, types, tests

bench: $(DEV_STAMP) ## Benchmarks against raw PostgreSQL (see docs/benchmarks.md)
	bash bench/run.sh

COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "make lock"

lock: | $(UV) ## Renew the lock files (uv pip compile from pyproject.toml, PyPI, with hashes)
	$(COMPILE) pyproject.toml -o requirements.lock
	$(COMPILE) pyproject.toml --extra dev -o requirements-dev.lock
	echo "uv==$(UV_VERSION)" | $(COMPILE) - -o requirements-uv.lock

clean: ## Remove the virtualenv, local databases and the demo credentials
	rm -rf $(VENV) voucherd.db voucherd.db-wal voucherd.db-shm voucherd-demo.env \
	    .pytest_cache .mypy_cache

# voucherd: `make run` serves the product on SQLite; `make test` runs the whole test suite.
# Dependencies come from the lock files (exact versions, hashes checked): requirements.lock for
# running, requirements-dev.lock (a superset) for tests and checks. `make lock` renews both.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
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

# voucherd itself goes in editable, without dependencies: the lock file brought them all.
$(RUN_STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): requirements-dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP) ## Create .venv with voucherd and its runtime dependencies

install-dev: $(DEV_STAMP) ## Create .venv with the dev dependencies too (tests, linters)

run: $(RUN_STAMP) ## Migrate ./voucherd.db, create a demo client if none (./voucherd-demo.env), serve on :8080
	$(BIN)/voucherd bootstrap --url http://$(HOST):$(PORT)
	$(BIN)/voucherd serve --host $(HOST) --port $(PORT)

test: $(DEV_STAMP) ## Run the test suite but the crash test (PostgreSQL half needs VOUCHERD_TEST_DATABASE_URL)
	$(BIN)/pytest -m "not crash"

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

lock: $(BIN)/python ## Renew both lock files from pyproject.toml (uv, from PyPI, with hashes)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	    --generate-hashes --custom-compile-command "make lock" -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	    --generate-hashes --custom-compile-command "make lock" --extra dev -o requirements-dev.lock

clean: ## Remove the virtualenv, local databases and the demo credentials
	rm -rf $(VENV) voucherd.db voucherd.db-wal voucherd.db-shm voucherd-demo.env \
	    .pytest_cache .mypy_cache

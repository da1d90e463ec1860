# voucherd: `make run` serves the product on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export VOUCHERD_DATABASE_URL ?= sqlite:///./voucherd.db

.PHONY: help install run test test-crash lint typecheck check bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install voucherd with dev dependencies

run: $(STAMP) ## Migrate ./voucherd.db, create a demo client if none, serve on :8080
	$(BIN)/voucherd bootstrap
	$(BIN)/voucherd serve --host 127.0.0.1 --port 8080

test: $(STAMP) ## Run the test suite but the crash test (PostgreSQL half needs VOUCHERD_TEST_DATABASE_URL)
	$(BIN)/pytest -m "not crash"

test-crash: $(STAMP) ## SIGKILL a loaded server 5 times on SQLite and a private PostgreSQL (slow)
	$(BIN)/pytest -m crash

lint: $(STAMP) ## ruff check, ruff format --check, import contracts (lint-imports)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

check: lint typecheck test ## Everything CI runs: lint, format check, contracts, types, tests

bench: $(STAMP) ## Benchmarks against raw PostgreSQL (see docs/benchmarks.md)
	bash bench/run.sh

clean: ## Remove the virtualenv and local databases
	rm -rf $(VENV) voucherd.db voucherd.db-wal voucherd.db-shm .pytest_cache .mypy_cache

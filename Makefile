# libris: `make run` serves, `make test` tests. Without DATABASE_URL both start a
# project-local PostgreSQL (scripts/pg.sh); with it set, they use that database.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
PG := scripts/pg.sh

.PHONY: run test browser db-start db-stop docs fmt lint bench-kosync bench-ingest bench-calibre bench-reading bench-opds bench-web bench-webdav bench-mixed bench-hardcover reliability schemathesis fuzz deps test-packaging

deps:
	@scripts/deps.sh

run: deps
	@url="$$DATABASE_URL"; \
	if [ -z "$$url" ]; then url=$$($(PG) start run libris) || exit 1; fi; \
	cargo build --release --locked && \
	DATABASE_URL="$$url" exec target/release/libris serve

# scripts/test-tools.sh installs what the tests run besides cargo (the OPDS validators' tools;
# Chromium, chromedriver and axe-core for tests/browser) and names the python to use.
test: deps
	@url="$$DATABASE_URL"; \
	if [ -z "$$url" ]; then url=$$($(PG) start test) || exit 1; fi; \
	python=$$(scripts/test-tools.sh) || exit 1; \
	DATABASE_URL="$$url" LIBRIS_TEST_PYTHON="$$python" LIBRIS_REQUIRE_BROWSER=1 LIBRIS_REQUIRE_TOOLS=1 cargo test --locked

# The container packaging end to end (scripts/test-packaging.sh; root, rootful Podman, which
# scripts/podman-setup.sh installs): builds Containerfile and packaging/postgres.Containerfile,
# runs compose.yaml through a first start, a book, a KoSync report, OPDS and a restart, and
# packaging/libris.service under systemd in a container. Not part of `make test`.
test-packaging:
	@scripts/test-packaging.sh

# The browser tests alone (tests/browser: headless Chromium; docs/testing.md). Screenshots go
# to target/screenshots/.
browser: deps
	@url="$$DATABASE_URL"; \
	if [ -z "$$url" ]; then url=$$($(PG) start test) || exit 1; fi; \
	scripts/test-tools.sh browser || exit 1; \
	DATABASE_URL="$$url" LIBRIS_REQUIRE_BROWSER=1 cargo test --locked --test browser

# The project-local cluster of `make run` (the tests' own starts with `make test`).
db-start:
	@$(PG) start run libris

db-stop:
	@$(PG) stop run; $(PG) stop test; $(PG) stop bench

# Rewrites docs/database.md from the live schema.
docs: deps
	@url="$$DATABASE_URL"; \
	if [ -z "$$url" ]; then url=$$($(PG) start test) || exit 1; fi; \
	DATABASE_URL="$$url" LIBRIS_UPDATE_DOCS=1 cargo test --locked --test it -- schema::docs_database_md_is_current

fmt:
	cargo fmt

lint:
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	cargo clippy --locked --test reliability -- -D warnings

bench-kosync: deps
	@scripts/bench-kosync.sh

bench-ingest: deps
	@scripts/bench-ingest.sh

# `libris import` of a generated calibre library, without and with cover.jpg files.
bench-calibre: deps
	@scripts/bench-calibre.sh

bench-reading: deps
	@scripts/bench-reading.sh

bench-opds: deps
	@scripts/bench-opds.sh

# The web app's pages, signed in, on the library of bench-opds (scripts/bench-web.sh).
bench-web: deps
	@scripts/bench-web.sh

# KOReader's statistics sync: a statistics.sqlite3 of 200,000 page events uploaded and
# ingested over WebDAV, then PROPFIND and GET at 16 connections (scripts/bench-webdav.sh).
bench-webdav: deps
	@scripts/bench-webdav.sh

# KoSync PUT p99 alone and beside 32 connections of cold OPDS searches (scripts/bench-opds.sh).
bench-mixed: deps
	@scripts/bench-opds.sh mixed

# Faults, hostile input and abuse, with a table of figures; exits non-zero when one is off.
# With DATABASE_URL unset it uses (and restarts) the project-local test cluster. Then the REST
# API against its OpenAPI document (make schemathesis).
reliability: deps
	@scripts/test-tools.sh reliability
	@url="$$DATABASE_URL"; cluster=; \
	if [ -z "$$url" ]; then url=$$($(PG) start test) || exit 1; cluster=test; fi; \
	DATABASE_URL="$$url" RELIABILITY_CLUSTER="$$cluster" cargo test --release --locked --test reliability -- --nocapture
	@scripts/schemathesis.sh

# cargo-fuzz targets (nightly; fuzz/ is its own workspace): each runs FUZZ_SECONDS, seeded from
# fixtures/, after replaying fuzz/regressions/; a table of executions and coverage; exits
# non-zero when one crashed. No database needed.
FUZZ_SECONDS ?= 120
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

bench-hardcover: deps
	@scripts/bench-hardcover.sh

# The REST API against its own OpenAPI document (schemathesis, pinned, in target/): valid and
# invalid data for every operation; no 5xx, every response as documented. Its own cluster.
schemathesis: deps
	@scripts/schemathesis.sh

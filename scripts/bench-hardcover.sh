#!/usr/bin/env bash
# make bench-hardcover: a reader's Hardcover sync over BENCH_BOOKS (5,000) books with ISBNs
# against the local fake Hardcover of the tests (release build, production durability):
# a first run, a run with nothing new, a run after 100 books moved. See the bench test in
# tests/it/hardcover.rs. Each run is in a database of its own, cloned from a template.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(scripts/pg.sh start bench libris_bench)
trap 'scripts/pg.sh stop bench' EXIT
DATABASE_URL=$base RUST_LOG=warn cargo test --release --locked --test it \
    -- --ignored --exact hardcover::bench_hardcover_sync --nocapture 2>&1 \
    | sed -n '/^Hardcover sync/,/^$/p;/^|/p'

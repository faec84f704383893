#!/usr/bin/env bash
# make bench-reading: 1,000,000 history rows (1,000 readers x 1,000 books) rebuilt into
# aggregates (rows/s), then the sweep over 1,000,000 aggregates (seconds). Production
# durability (fsync on).
set -euo pipefail
cd "$(dirname "$0")/.."
readers=${BENCH_READERS:-1000}
books=${BENCH_BOOKS:-1000}
cargo build --release --locked
bin=$PWD/target/release/libris

scripts/pg.sh wipe bench
url=$(scripts/pg.sh start bench libris_bench)
trap 'scripts/pg.sh stop bench' EXIT
export DATABASE_URL="$url" RUST_LOG=warn
$bin migrate
echo "loading $((readers * books)) history rows..."
# Every reader read every book 20 days ago, to 40 %: all reading until the window shrinks.
psql -X "$url" -q <<SQL
INSERT INTO api_keys (key_prefix, key_hash, label)
    SELECT 'bench', md5(g::text) || md5((-g)::text), 'reader ' || g FROM generate_series(1, $readers) g;
INSERT INTO books (title, status) SELECT 'Book ' || g, 'organized' FROM generate_series(1, $books) g;
INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress, percentage, "timestamp")
    SELECT b.id, k.id, 'doc-' || b.title, 'bench', 'p', 0.4,
           extract(epoch FROM now() - interval '20 days')::bigint - (random() * 3600)::int
    FROM api_keys k CROSS JOIN books b;
VACUUM ANALYZE;
CHECKPOINT;
SQL
rows=$(psql -X "$url" -qAt -c "SELECT count(*) FROM reading_progress_history")

seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$@"; }
start=$(date +%s.%N)
$bin aggregates rebuild >/dev/null
rebuild=$(seconds "$start" "$(date +%s.%N)")
aggregates=$(psql -X "$url" -qAt -c "SELECT count(*) FROM reading_aggregate WHERE derived_status = 'reading'")
start=$(date +%s.%N)
again=$($bin aggregates rebuild)
rebuild_again=$(seconds "$start" "$(date +%s.%N)")

psql -X "$url" -q -c "INSERT INTO app_settings (key, value) VALUES ('reading.paused_after_days', '10')" -c "VACUUM ANALYZE reading_aggregate" -c CHECKPOINT
start=$(date +%s.%N)
swept=$($bin aggregates sweep)
sweep=$(seconds "$start" "$(date +%s.%N)")
paused=$(psql -X "$url" -qAt -c "SELECT count(*) FROM reading_aggregate WHERE status = 'paused'")
[ "$paused" = "$aggregates" ] || { echo "bench-reading: $paused of $aggregates paused" >&2; exit 1; }

printf '\n%-36s %s\n' "history rows" "$rows ($readers readers x $books books)"
printf '%-36s %s s, %s rows/s (%s aggregates)\n' "rebuild from scratch" "$rebuild" \
    "$(python3 -c "print(f'{$rows / $rebuild:,.0f}')")" "$aggregates"
printf '%-36s %s s (%s)\n' "rebuild again (nothing changes)" "$rebuild_again" "$again"
printf '%-36s %s s (%s)\n' "sweep over the aggregates" "$sweep" "$swept"

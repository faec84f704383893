#!/usr/bin/env bash
# make bench-reading: the aggregate rebuild and the sweep over 1,000,000 history rows of
# 1,000 readers and 1,000 books, in two shapes:
#   pairs:   every reader read every book once (1,000,000 aggregates: the write-bound worst
#            case), last reads spread over 60 days, one in ten finished;
#   history: every reader read 50 books with 20 reports each, finishing half of them
#            (50,000 aggregates: what a real history looks like, many reports per book).
# Production durability (fsync on). BENCH_READERS and BENCH_BOOKS shrink it for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
readers=${BENCH_READERS:-1000}
books=${BENCH_BOOKS:-1000}
cargo build --release --locked
bin=$PWD/target/release/libris

scripts/pg.sh wipe bench
base=$(scripts/pg.sh start bench libris_bench)
trap 'scripts/pg.sh stop bench' EXIT
export RUST_LOG=warn

seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$@"; }
rate() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$@"; }
timed() { # command... → prints "seconds|output"
    local start out
    start=$(date +%s.%N)
    out=$("$@")
    echo "$(seconds "$start" "$(date +%s.%N)")|$out"
}
q() { psql -X "$DATABASE_URL" -qAt "$@"; }

# prepare DB HISTORY_SELECT: a migrated database holding the readers, the books and history.
prepare() {
    export DATABASE_URL=${base/libris_bench/$1}
    psql -X "$base" -qc "CREATE DATABASE $1"
    $bin migrate
    echo "loading $1..." >&2
    q <<SQL
INSERT INTO api_keys (key_prefix, key_hash, label)
    SELECT 'bench', md5(g::text) || md5((-g)::text), 'reader ' || g FROM generate_series(1, $readers) g;
INSERT INTO books (title, status) SELECT 'Book ' || g, 'organized' FROM generate_series(1, $books) g;
CREATE TEMP TABLE k AS SELECT id, row_number() OVER (ORDER BY id) AS n FROM api_keys;
CREATE TEMP TABLE b AS SELECT id, row_number() OVER (ORDER BY id) AS n, title FROM books;
INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress, percentage, "timestamp")
$2;
VACUUM ANALYZE;
CHECKPOINT;
SQL
}

prepare pairs "SELECT b.id, k.id, 'doc-' || b.title, 'bench', 'p',
        CASE WHEN (k.n + b.n) % 10 = 0 THEN 1.0 ELSE 0.4 END,
        extract(epoch FROM now())::bigint - ((k.n * 7919 + b.n * 104729) % (60 * 86400))
    FROM k CROSS JOIN b"
rows=$(q -c "SELECT count(*) FROM reading_progress_history")
IFS='|' read -r rebuild _ < <(timed $bin aggregates rebuild)
aggregates=$(q -c "SELECT count(*) FROM reading_aggregate")
IFS='|' read -r again again_out < <(timed $bin aggregates rebuild)
q -c "VACUUM ANALYZE reading_aggregate" -c CHECKPOINT
IFS='|' read -r idle idle_out < <(timed $bin aggregates sweep)
# The window shrinks by a day: a day's worth of readers pass it (what daily sweeps meet).
q -c "INSERT INTO app_settings (key, value) VALUES ('reading.paused_after_days', '29')" -c CHECKPOINT
IFS='|' read -r day day_out < <(timed $bin aggregates sweep)
# The window shrinks to a day: nearly every reading aggregate is paused in one sweep.
q -c "UPDATE app_settings SET value = '1' WHERE key = 'reading.paused_after_days'" -c CHECKPOINT
swept_at=$(date +%s)
IFS='|' read -r mass mass_out < <(timed $bin aggregates sweep)
left=$(q -c "SELECT count(*) FROM reading_aggregate WHERE derived_status = 'reading'
    AND last_read_at < to_timestamp($swept_at) - interval '1 day'")
[ "$left" = 0 ] || { echo "bench-reading: $left aggregates left unpaused" >&2; exit 1; }

prepare history "SELECT b.id, k.id, 'doc-' || b.title, 'bench', 'p', r.n / 20.0 * CASE WHEN (k.n + b.n) % 40 = 0 THEN 1 ELSE 0.5 END,
        extract(epoch FROM now())::bigint - ((k.n * 7919 + b.n * 104729) % (700 * 86400)) + r.n * 3600
    FROM k JOIN b ON (b.n + k.n) % 20 = 0 CROSS JOIN generate_series(1, 20) r(n)"
history_rows=$(q -c "SELECT count(*) FROM reading_progress_history")
IFS='|' read -r history _ < <(timed $bin aggregates rebuild)
history_aggregates=$(q -c "SELECT count(*) FROM reading_aggregate")
IFS='|' read -r history_again _ < <(timed $bin aggregates rebuild)

printf '\n%-44s %s\n' "pairs: history rows" "$rows ($readers readers x $books books, one report each)"
printf '%-44s %s s, %s rows/s (%s aggregates written)\n' "  rebuild from scratch" "$rebuild" "$(rate "$rows" "$rebuild")" "$aggregates"
printf '%-44s %s s, %s rows/s (%s)\n' "  rebuild again (nothing changes)" "$again" "$(rate "$rows" "$again")" "$again_out"
printf '%-44s %s s (%s)\n' "  sweep, nothing due" "$idle" "$idle_out"
printf '%-44s %s s (%s)\n' "  sweep, a day's readers pass the window" "$day" "$day_out"
printf '%-44s %s s (%s)\n' "  sweep, the window shrinks to one day" "$mass" "$mass_out"
printf '%-44s %s\n' "history: history rows" "$history_rows (each reader: $((books / 20)) books, 20 reports each, half finished)"
printf '%-44s %s s, %s rows/s (%s aggregates written)\n' "  rebuild from scratch" "$history" "$(rate "$history_rows" "$history")" "$history_aggregates"
printf '%-44s %s s, %s rows/s\n' "  rebuild again (nothing changes)" "$history_again" "$(rate "$history_rows" "$history_again")"

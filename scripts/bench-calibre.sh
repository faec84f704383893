#!/usr/bin/env bash
# make bench-calibre: `libris import --approve` of a generated calibre-shaped library
# (BENCH_BOOKS books, each an EPUB and a PDF with calibre's metadata.opf; metadata.db at the
# top) into a cluster with production durability: once without cover.jpg files, once with
# (600×900 JPEGs, each decoded and thumbnailed). Prints books/s and files/s of each.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${BENCH_BOOKS:-2000}
. scripts/bench/lib.sh
[ -x /usr/bin/time ] || need /usr/bin/time time
cargo build --release --locked
bin=$PWD/target/release/libris
work=$(mktemp -d /tmp/libris-bench-calibre.XXXXXX)
trap 'rm -rf "$work"; scripts/pg.sh stop bench' EXIT

printf '\n%-28s %8s %8s %10s %10s %10s\n' "calibre library" books files seconds "books/s" "peak MB"
for kind in without-covers with-covers; do
    flag=; [ "$kind" = without-covers ] && flag=--no-covers
    scripts/pg.sh wipe bench
    url=$(scripts/pg.sh start bench libris_bench)
    export DATABASE_URL="$url"
    $bin bench-calibre --count "$count" $flag "$work/$kind"
    $bin migrate >/dev/null
    psql -X "$url" -q -c CHECKPOINT
    start=$(date +%s.%N)
    RUST_LOG=warn LIBRIS_DATA_DIR="$work/data-$kind" \
        /usr/bin/time -f '%M' -o "$work/rss" $bin import --approve "$work/$kind" >"$work/out"
    end=$(date +%s.%N)
    books=$(awk '{print $1; exit}' "$work/out")
    [ "$books" = "$count" ] || { echo "bench-calibre: expected $count books, got: $(cat "$work/out")" >&2; exit 1; }
    files=$(psql -X "$url" -tAc "SELECT count(*) FROM book_files")
    covers=$(psql -X "$url" -tAc "SELECT count(*) FROM books WHERE cover_path IS NOT NULL")
    [ "$kind" = without-covers ] || [ "$covers" = "$count" ] || { echo "bench-calibre: $covers covers of $count" >&2; exit 1; }
    python3 - "$kind" "$books" "$files" "$start" "$end" "$(cat "$work/rss")" <<'PY'
import sys
kind, books, files, start, end, rss = sys.argv[1:]
secs = float(end) - float(start)
print(f"{kind:<28} {books:>8} {files:>8} {secs:>10.1f} {int(books) / secs:>10.1f} {int(rss) / 1024:>10.1f}")
PY
    scripts/pg.sh stop bench
done

#!/usr/bin/env bash
# make bench-ingest: `libris import` of generated EPUBs (about 200 KB each, with covers) into a
# cluster with production durability, then a 1 GB upload to a running server; prints books/s
# and peak RSS of each.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${BENCH_BOOKS:-2000}
. scripts/bench/lib.sh
[ -x /usr/bin/time ] || need /usr/bin/time time
cargo build --release --locked
bin=$PWD/target/release/libris

scripts/pg.sh wipe bench
url=$(scripts/pg.sh start bench libris_bench)
export DATABASE_URL="$url" RUST_LOG=warn
work=$(mktemp -d /tmp/libris-bench-ingest.XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
    scripts/pg.sh stop bench
}
trap cleanup EXIT

echo "generating $count EPUBs..."
$bin bench-epubs --count "$count" "$work/books"
size=$(du -sm "$work/books" | cut -f1)
$bin migrate
psql -X "$url" -q -c CHECKPOINT

echo "importing..."
start=$(date +%s.%N)
LIBRIS_DATA_DIR="$work/data" /usr/bin/time -f '%M' -o "$work/rss" $bin import "$work/books" >"$work/import.out"
end=$(date +%s.%N)
added=$(awk '{print $1; exit}' "$work/import.out")
[ "$added" = "$count" ] || { echo "bench-ingest: expected $count books, got: $(cat "$work/import.out")" >&2; exit 1; }
covers=$(find "$work/data/covers" -name '*.thumb.jpg' | wc -l)
import_rss=$(awk '{printf "%.1f", $1 / 1024}' "$work/rss")
rate=$(python3 -c "print(f'{$count / ($end - $start):.1f}')")
secs=$(python3 -c "print(f'{$end - $start:.1f}')")

echo "uploading 1 GB..."
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LIBRIS_DATA_DIR="$work/data" LIBRIS_MAX_UPLOAD_MB=2048 $bin serve --bind "127.0.0.1:$port" &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthcheck" >/dev/null && break; sleep 0.1; done
token=$(LIBRIS_DATA_DIR="$work/data" $bin setup-token)
key=$(curl -sf -X POST "$base/api/auth/setup" -d "{\"setup_token\": \"$token\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
# A plain-text book: the pipeline reads it whole only to hash it.
head -c 1073741824 < <(yes 'The sea was calm that night and the lamp burned until dawn.') >"$work/big.txt"
rss() { awk -v f="$1" '$1 == f":" {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }
before=$(rss VmRSS)
status=$(curl -s -o "$work/upload.json" -w '%{http_code}' -H "Authorization: Bearer $key" -F "file=@$work/big.txt" "$base/api/uploads")
peak=$(rss VmHWM)
[ "$status" = 201 ] || { echo "bench-ingest: upload answered $status: $(cat "$work/upload.json")" >&2; exit 1; }
growth=$(python3 -c "print(f'{$peak - $before:.1f}')")

printf '\n%-44s %s\n' "books imported" "$count ($size MB, $covers covers and thumbnails)"
printf '%-44s %s s, %s books/s\n' "import time" "$secs" "$rate"
printf '%-44s %s MB\n' "import peak RSS" "$import_rss"
printf '%-44s %s MB before, %s MB peak (+%s MB)\n' "server RSS around a 1 GB upload" "$before" "$peak" "$growth"

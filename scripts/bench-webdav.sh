#!/usr/bin/env bash
# make bench-webdav: KOReader's statistics sync against the release build. A statistics.sqlite3
# of $BENCH_EVENTS page events (default 200,000; 400 books) made with the Statistics plugin's
# own schema is uploaded over WebDAV with a device password and ingested: seconds and the
# server's peak RSS (targets <= 5 s, <= 150 MB); the same file again (nothing new). Then 16
# connections for $BENCH_DURATION s (default 10) each doing PROPFIND (Depth 1) of a folder of
# 40 files, and GET of a 64 KiB file: req/s, p50, p99.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${BENCH_EVENTS:-200000}
duration=${BENCH_DURATION:-10}
. scripts/bench/lib.sh
need wrk wrk
cargo build --release --locked
bin=$PWD/target/release/libris

scripts/pg.sh wipe bench
url=$(scripts/pg.sh start bench libris_bench)
export DATABASE_URL="$url" RUST_LOG=warn
data=$(mktemp -d /tmp/libris-bench-webdav.XXXXXX)
export LIBRIS_DATA_DIR=$data
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$data"
    scripts/pg.sh stop bench
}
trap cleanup EXIT
$bin migrate
made=$($bin keys create --label bench --admin 2>/dev/null)
key_id=$(awk '/^id:/ {print $2}' <<<"$made")
api_key=$(awk '/^key:/ {print $2}' <<<"$made")
$bin credentials set opds --key-id "$key_id" --username bench --password 'bench password' >/dev/null

# The plugin's schema (plugins/statistics.koplugin/main.lua, 20221111), 400 books, each with
# its share of page turns a minute apart.
stats=$data/statistics.sqlite3
python3 - "$stats" "$events" <<'PY'
import sqlite3, sys, hashlib
path, events = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(path)
c.executescript("""
CREATE TABLE book (id integer PRIMARY KEY autoincrement, title text, authors text, notes integer, last_open integer, highlights integer, pages integer, series text, language text, md5 text, total_read_time integer, total_read_pages integer);
CREATE UNIQUE INDEX book_title_authors_md5 ON book(title, authors, md5);
CREATE TABLE page_stat_data (id_book integer, page integer NOT NULL DEFAULT 0, start_time integer NOT NULL DEFAULT 0, duration integer NOT NULL DEFAULT 0, total_pages integer NOT NULL DEFAULT 0, UNIQUE (id_book, page, start_time), FOREIGN KEY(id_book) REFERENCES book(id));
CREATE INDEX page_stat_data_start_time ON page_stat_data(start_time);
PRAGMA user_version=20221111;
""")
books = 400
c.executemany("INSERT INTO book (title, authors, notes, last_open, highlights, pages, series, language, md5, total_read_time, total_read_pages) VALUES (?, ?, 0, 1760000000, 0, 500, 'N/A', 'en', ?, 0, 0)",
    [(f"Bench book {i}", f"Author {i % 37}", hashlib.md5(f"bench-{i}".encode()).hexdigest()) for i in range(books)])
per = events // books
c.executemany("INSERT INTO page_stat_data VALUES (?, ?, ?, ?, 500)",
    ((b + 1, p + 1, 1700000000 + b * per * 60 + p * 60, 20 + p % 90) for b in range(books) for p in range(per)))
c.commit()
c.close()
PY
size=$(stat -c %s "$stats")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --bind "127.0.0.1:$port" &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthcheck" >/dev/null && break; sleep 0.1; done
password=$(curl -sf -X POST -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
    -d '{"label": "bench"}' "$base/api/device-passwords" | python3 -c 'import json,sys; print(json.load(sys.stdin)["password"])')
auth="Basic $(printf 'bench:%s' "$password" | base64 -w0)"
dav() { curl -s -H "Authorization: $auth" "$@"; }
[ "$(dav -o /dev/null -w '%{http_code}' -X MKCOL "$base/dav/KOReader")" = 201 ]

rss() { awk -v f="$1" '$1 == f":" {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }
before=$(rss VmRSS)
first=$(dav -o "$data/put.out" -w '%{http_code} %{time_total}' -T "$stats" "$base/dav/KOReader/statistics.sqlite3")
peak=$(rss VmHWM)
again=$(dav -o /dev/null -w '%{http_code} %{time_total}' -T "$stats" "$base/dav/KOReader/statistics.sqlite3")
stored=$(psql -X "$url" -qtAc "SELECT count(*) FROM reading_page_events")
[ "${first%% *}" = 201 ] || { echo "bench-webdav: the upload answered $(cat "$data/put.out")" >&2; exit 1; }

# A folder as KOReader's would look after a while: 40 files, one of 64 KiB to GET.
head -c 65536 /dev/urandom > "$data/blob"
for i in $(seq 40); do dav -o /dev/null -T "$data/blob" "$base/dav/KOReader/export-$i.json"; done

missed=0
python3 -c "import sys; sys.exit(0 if ${first#* } <= 5 and $peak <= 150 else 1)" || missed=1
printf '\nstatistics.sqlite3: %d page events, %.1f MB\n' "$events" "$(python3 -c "print($size / 1e6)")"
printf '%-34s %8s s  (target <= 5 s)\n' "upload and ingest" "${first#* }"
printf '%-34s %8s s  (the same file again: nothing new)\n' "upload again" "${again#* }"
printf '%-34s %8s MB (target <= 150 MB; %s MB before)\n' "server peak RSS" "$peak" "$before"
printf '%-34s %8s\n' "page events stored" "$stored"
[ "$stored" = "$events" ] || { echo "bench-webdav: $stored of $events events stored" >&2; missed=1; }

ms() { python3 -c '
import re, sys
v, u = re.fullmatch(r"([0-9.]+)(us|ms|s)", sys.argv[1]).groups()
print(float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u])' "$1"; }
printf '\n%-34s %8s %9s %9s %s\n' case "req/s" p50 p99 errors
measure() { # name path [wrk args…]
    local name=$1 path=$2 out
    shift 2
    out=$(BENCH_AUTH="$auth" wrk -t2 -c16 -d"${duration}s" --latency "$@" "$base$path")
    printf '%-34s %8.0f %9s %9s %s\n' "$name" "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
        "$(awk '/Non-2xx|Socket errors/' <<<"$out" | paste -sd';' | sed 's/^$/none/')"
}
measure "PROPFIND Depth 1 (41 entries)" /dav/KOReader/ -s scripts/bench/propfind.lua
measure "GET 64 KiB" /dav/KOReader/export-1.json -H "Authorization: $auth"
echo "RSS: peak $(rss VmHWM) MB, now $(rss VmRSS) MB"
exit $missed

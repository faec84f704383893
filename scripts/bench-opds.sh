#!/usr/bin/env bash
# make bench-opds: a library of 100,000 organized books (about 20,000 authors and 5,000
# series, languages, publishers, genres; small files, shared covers), then wrk for
# $BENCH_DURATION s (default 10) at 16 connections on each of: the root, All books page 1 and
# page 1,500, an author's books, a search for a common word, searches never asked before (a
# word and a number prefix, scripts/bench/search.lua), one entry, a cover, and the OPDS 2.0
# All books page 1. Prints req/s, p50 and p99 of each, and the server's RSS.
#
# scripts/bench-opds.sh mixed (make bench-mixed): on the same library, KoSync PUT at 16
# connections (scripts/bench/put.lua) alone, then beside 32 connections of cold OPDS searches:
# all 32 asking the same new search at once (scripts/bench/search-same.lua: one computes, the
# others wait for it), and each asking a new one (scripts/bench/search.lua). Prints the PUT
# figures of each and its p99 against the PUT alone: waiting searches must not hold the
# connections KoSync needs.
set -euo pipefail
mode=${1:-feeds}
case "$mode" in feeds | mixed) ;; *) echo "usage: $0 [feeds|mixed]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
books=${BENCH_BOOKS:-100000}
duration=${BENCH_DURATION:-10}
. scripts/bench/lib.sh
. scripts/bench/library.sh
need wrk wrk
cargo build --release --locked
bin=$PWD/target/release/libris

scripts/pg.sh wipe bench
url=$(scripts/pg.sh start bench libris_bench)
export DATABASE_URL="$url" RUST_LOG=warn
data=$(mktemp -d /tmp/libris-bench-opds.XXXXXX)
export LIBRIS_DATA_DIR=$data
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$data"
    scripts/pg.sh stop bench
}
trap cleanup EXIT
$bin migrate
key=$($bin keys create --label bench --admin 2>/dev/null | awk '/^key:/ {print $2}')

generate_library "$url" "$data" "$books"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --bind "127.0.0.1:$port" &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthcheck" >/dev/null && break; sleep 0.1; done
auth="Authorization: Bearer $key"
fetch() { curl -sf -H "$auth" "$base$1"; }
# The first match of a pattern in a document (whole documents: no early-closed pipes).
first() { fetch "$1" | grep -o "$2" | sed -n 1p; }
author=$(first "/opds/authors?letter=A" '/opds/authors/books?value=[^"]*')
entry=$(first "/opds/books" '/opds/books/[0-9a-f-]\{36\}"' | tr -d '"')
cover=$(first "/opds/books" '/opds/covers/[^"]*')
[ -n "$author" ] && [ -n "$entry" ] && [ -n "$cover" ] || { echo "bench-opds: could not find the URLs to measure" >&2; exit 1; }
# Page 1,500 of 2,000 (50 a page); the last page of a smaller library.
deep=$(( (books + 49) / 50 )); [ "$deep" -gt 1500 ] && deep=1500
fetch "/opds/books?page=$deep" >/dev/null

rss() { awk -v f="$1" '$1 == f":" {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }

if [ "$mode" = mixed ]; then
    key_id=$($bin keys create --label kosync-bench 2>/dev/null | awk '/^id:/ {print $2}')
    $bin credentials set kosync --key-id "$key_id" --username bench --password bench >/dev/null
    export BENCH_USER=bench BENCH_KEY=$(printf %s bench | md5sum | cut -d' ' -f1)
    # One login first: the PUTs measured find the verification cached (no bcrypt).
    curl -sf -H "x-auth-user: bench" -H "x-auth-key: $BENCH_KEY" "$base/users/auth" >/dev/null
    ms() { python3 -c '
import re, sys
v, u = re.fullmatch(r"([0-9.]+)(us|ms|s)", sys.argv[1]).groups()
print(float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u])' "$1"; }
    puts() { wrk -t1 -c16 -d"${duration}s" --latency -s scripts/bench/put.lua "$base"; }
    printf '\n%-34s %8s %9s %9s %8s %12s  %s\n' case "PUT/s" p50 p99 "p99/alone" "searches/s" errors
    alone_p99=
    mixed() { # name [search script]
        psql -X "$url" -qc CHECKPOINT
        local out searches=none search_out=/tmp/libris-bench-mixed-search.$$ waiter=
        if [ -n "${2:-}" ]; then
            wrk -t1 -c32 -d"$((duration + 2))s" -H "$auth" -s "$2" "$base/opds/search" >"$search_out" &
            waiter=$!
            sleep 1
        fi
        out=$(puts)
        if [ -n "$waiter" ]; then
            wait "$waiter"
            searches=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$search_out")
            rm -f "$search_out"
        fi
        local p99; p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        [ -z "$alone_p99" ] && alone_p99=$(ms "$p99")
        printf '%-34s %8.0f %9s %9s %7.2fx %12s  %s\n' "$1" "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" \
            "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$p99" \
            "$(python3 -c "print($(ms "$p99") / $alone_p99)")" "$searches" \
            "$(awk '/Non-2xx|Socket errors/' <<<"$out" | paste -sd';' | sed 's/^$/none/')"
    }
    mixed "PUT 16 alone"
    mixed "PUT 16 + 32 same new search" scripts/bench/search-same.lua
    mixed "PUT 16 + 32 each a new search" scripts/bench/search.lua
    echo "pool: ${LIBRIS_DB_POOL_SIZE:-twice the cores plus one} connections; RSS: peak $(rss VmHWM) MB"
    exit 0
fi
printf '\n%-22s %8s %9s %9s  %s\n' case "req/s" p50 p99 errors
measure() { # name path [wrk script]
    psql -X "$url" -qc CHECKPOINT
    local out script=()
    [ -n "${3:-}" ] && script=(-s "$3")
    out=$(wrk -t1 -c16 -d"${duration}s" --latency -H "$auth" "${script[@]}" "$base$2")
    printf '%-22s %8.0f %9s %9s  %s\n' "$1" "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
        "$(awk '/Non-2xx|Socket errors/' <<<"$out" | paste -sd';' | sed 's/^$/none/')"
}
measure "root" "/opds"
measure "all books p1" "/opds/books"
measure "all books p$deep" "/opds/books?page=$deep"
measure "author" "$author"
measure "search 'river'" "/opds/search?q=river"
measure "search, each new" "/opds/search" scripts/bench/search.lua
measure "entry" "$entry"
measure "cover" "$cover"
measure "json all books p1" "/opds/v2/books"
echo "RSS: peak $(rss VmHWM) MB, now $(rss VmRSS) MB ($books books)"

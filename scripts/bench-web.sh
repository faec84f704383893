#!/usr/bin/env bash
# make bench-web: the web app on the 100,000-book library of `make bench-opds`
# (scripts/bench/library.sh), signed in as an admin, wrk for $BENCH_DURATION s (default 10) at
# 16 connections on each of: home, the library's page 1 and page 1,500, a search, a book's page
# and a review page (targets >= 1,000 req/s, p99 <= 50 ms); the reading shelves and the
# statistics of this year for a reader with a year of 50,000 reports, and a shared collection
# of 48 books opened by its link (>= 500 req/s, p99 <= 100 ms). Prints req/s, p50 and p99 of each against its targets, the size of a library page's
# HTML (<= 60 KB) and the server's RSS.
set -euo pipefail
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
data=$(mktemp -d /tmp/libris-bench-web.XXXXXX)
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
$bin credentials set web --key-id "$key_id" --username bench --password 'bench password' >/dev/null
generate_library "$url" "$data" "$books"
# One book waits in review, with its file's metadata and a candidate, as uploads leave them.
review=$(psql -X "$url" -qtAc "UPDATE books SET status = 'review' WHERE id = (SELECT id FROM books ORDER BY created_at LIMIT 1) RETURNING id")
psql -X "$url" -qc "INSERT INTO book_metadata_candidates (book_id, source, normalized, confidence, selected_fields)
    SELECT '$review', 'hardcover', jsonb_build_object('title', title || ' (Hardcover)', 'author', author, 'published_year', 2001), 0.92, '{}' FROM books WHERE id = '$review'"

# A heavy reader's year up to yesterday: two sittings every evening of 69 reports 30 s apart
# (50,370 reports; none stamped in the future), a book every five days, then the aggregates
# rebuilt from that history.
psql -X "$url" -qc "INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress, percentage, \"timestamp\", created_at)
    SELECT ids[d / 5 + 1], '$key_id', 'bench-doc-' || (d / 5), 'Kobo', 'p', (d % 5) * 0.2 + s * 0.1 + k / 1000.0, t, to_timestamp(t)
    FROM (SELECT array_agg(id) AS ids FROM (SELECT id FROM books WHERE status = 'organized' ORDER BY id LIMIT 80) b) b,
         generate_series(1, 365) d, generate_series(0, 1) s, generate_series(0, 68) k,
         LATERAL (SELECT extract(epoch FROM date_trunc('day', now()) - make_interval(days => d)
             + make_interval(hours => 19 + 3 * s, secs => k * 30))::int8 AS t) tt" \
    -c "INSERT INTO reading_progress (book_id, api_key_id, document, device, progress, percentage, \"timestamp\", updated_at)
    SELECT DISTINCT ON (document) book_id, api_key_id, document, device, progress, percentage, \"timestamp\", created_at
    FROM reading_progress_history WHERE api_key_id = '$key_id' ORDER BY document, \"timestamp\" DESC"
$bin aggregates rebuild --key-id "$key_id" >/dev/null
reports=$(psql -X "$url" -qtAc "SELECT count(*) FROM reading_progress_history")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --bind "127.0.0.1:$port" &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthcheck" >/dev/null && break; sleep 0.1; done

# Sign in as a browser does: the sign-in page's cookie and CSRF token, then the form.
jar=$data/cookies
csrf=$(curl -sf -c "$jar" "$base/signin" | grep -o 'name="_csrf" value="[0-9a-f]*"' | sed -n 1p | sed 's/.*value="//; s/"//')
status=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" \
    --data-urlencode "_csrf=$csrf" --data-urlencode username=bench --data-urlencode 'password=bench password' "$base/signin")
[ "$status" = 303 ] || { echo "bench-web: sign-in answered $status" >&2; exit 1; }
session=$(awk '$6 == "libris_session" {print $7}' "$jar")
cookie="Cookie: libris_session=$session"
# As a browser asks: a reading app asking for / without naming HTML is sent to /opds.
accept="Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
fetch() { curl -sf -H "$cookie" -H "$accept" "$base$1"; }
# A collection of 48 books shared by a link, as a household shares a reading list.
api() { curl -sf -X "$1" -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2"; }
collection=$(api POST /api/collections '{"name": "Bench picks", "description": "48 books"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for b in $(psql -X "$url" -qtAc "SELECT id FROM books WHERE status = 'organized' ORDER BY id LIMIT 48"); do
    api PUT "/api/collections/$collection/books/$b" >/dev/null
done
shared=$(api POST "/api/collections/$collection/share" '{}' | python3 -c 'import json,sys; u = json.load(sys.stdin)["url"]; print(u[u.index("/s/"):])')
book=$(fetch "/library?q=river" | grep -o 'href="/books/[0-9a-f-]\{36\}"' | sed -n 1p | sed 's/href="//; s/"//')
[ -n "$book" ] || { echo "bench-web: no book found on the library page" >&2; exit 1; }
deep=$(( (books + 49) / 50 )); [ "$deep" -gt 1500 ] && deep=1500
# Statistics are kept once the newest stamp they rest on is 2 s old (reading::stats_cache): the
# rebuild above just stamped the aggregates. The first computation of a range is timed alone.
sleep 2
cold=$(curl -s -o /dev/null -w '%{time_total}' -H "$cookie" -H "$accept" "$base/stats?range=12m")
for path in / /library "/library?page=$deep" "/library?q=river" "$book" "/review/$review" /reading /stats "$shared"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "$cookie" -H "$accept" "$base$path")
    [ "$code" = 200 ] || { echo "bench-web: $path answered $code" >&2; exit 1; }
done
size=$(fetch /library | wc -c)
deep_size=$(fetch "/library?page=$deep" | wc -c)

rss() { awk -v f="$1" '$1 == f":" {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }
ms() { python3 -c '
import re, sys
v, u = re.fullmatch(r"([0-9.]+)(us|ms|s)", sys.argv[1]).groups()
print(float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u])' "$1"; }
missed=0
printf '\n%-22s %8s %9s %9s  %-6s %s\n' case "req/s" p50 p99 target errors
measure() { # name path [least req/s] [most p99 ms]
    psql -X "$url" -qc CHECKPOINT
    local out rps p99 verdict=ok least=${3:-1000} most=${4:-50}
    out=$(wrk -t1 -c16 -d"${duration}s" --latency -H "$cookie" -H "$accept" "$base$2")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    if python3 -c "import sys; sys.exit(0 if $rps >= $least and $(ms "$p99") <= $most else 1)"; then :; else verdict=MISS; missed=1; fi
    printf '%-22s %8.0f %9s %9s  %-6s %s\n' "$1" "$rps" "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$p99" "$verdict" \
        "$(awk '/Non-2xx|Socket errors/' <<<"$out" | paste -sd';' | sed 's/^$/none/')"
}
measure "home" "/"
measure "library p1" "/library"
measure "library p$deep" "/library?page=$deep"
measure "search 'river'" "/library?q=river"
measure "book" "$book"
measure "review" "/review/$review"
measure "reading shelves" /reading 500 100
measure "stats, this year" /stats 500 100
measure "shared collection" "$shared" 500 100
echo "reading: $reports reports of the signed-in reader, a year of them; stats page $(fetch /stats | wc -c) bytes"
echo "stats of 12 months computed (not kept yet): $(python3 -c "print(round($cold * 1000))") ms; kept afterwards while nothing they rest on changes"
printf 'library page HTML: %d bytes (p1), %d bytes (p%d); target <= 61440\n' "$size" "$deep_size" "$deep"
[ "$size" -le 61440 ] && [ "$deep_size" -le 61440 ] || missed=1
echo "RSS: peak $(rss VmHWM) MB, now $(rss VmRSS) MB ($books books)"
exit $missed

#!/usr/bin/env bash
# make bench-kosync: the release build against a cluster with production durability (fsync
# and synchronous_commit on), driven by wrk; and the ceiling of the same SQL from pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${BENCH_DURATION:-10}

. scripts/bench/lib.sh
need wrk wrk
[ -n "${LIBRIS_BIN:-}" ] || cargo build --release --locked

scripts/pg.sh wipe bench
url=$(scripts/pg.sh start bench libris_bench)
psql -X "$url" -qAt -c "SHOW fsync" -c "SHOW synchronous_commit" | paste -sd' ' | {
    read -r fsync sync; echo "database: fsync=$fsync synchronous_commit=$sync"
    [ "$fsync" = on ] && [ "$sync" = on ] || { echo "bench-kosync: durability is off" >&2; exit 1; }
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL="$url" RUST_LOG=warn
# LIBRIS_BIN: another build to measure (a baseline); the shared target dir otherwise.
bin=${LIBRIS_BIN:-${CARGO_TARGET_DIR:-target}/release/libris}
id=$($bin keys create --label bench 2>/dev/null | awk '/^id:/ {print $2}')
$bin credentials set kosync --key-id "$id" --username bench --password bench >/dev/null
# Half the documents belong to library books, so half the reports also update an aggregate.
psql -X "$url" -q -c "WITH b AS (INSERT INTO books (title) SELECT 'Bench ' || g FROM generate_series(1, 500) g RETURNING id, title)
    INSERT INTO book_files (book_id, format, original_name, content_hash, original_content_hash)
    SELECT id, 'epub', title || '.epub', 'bench-doc-' || substr(title, 7), 'bench-doc-' || substr(title, 7) FROM b" \
    -c "INSERT INTO document_links (document, book_id, source) SELECT content_hash, book_id, 'content' FROM book_files"
export BENCH_USER=bench BENCH_KEY=$(printf %s bench | md5sum | cut -d' ' -f1)

$bin serve --bind "127.0.0.1:$port" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; scripts/pg.sh stop bench' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthcheck" >/dev/null && break; sleep 0.1; done
rss() { awk -v f="$1" '$1 == f":" {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
idle_rss=$(rss VmRSS)
curl -sf -H "x-auth-user: bench" -H "x-auth-key: $BENCH_KEY" "$base/users/auth" >/dev/null
bcrypt() { curl -sf "$base/api/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth"]["bcrypt_verifications"])'; }
# The group commit's counters (reading::batch): "batches reports", or "- -" from a build without them.
batches() { curl -sf "$base/api/health" | python3 -c 'import json,sys
b = json.load(sys.stdin).get("kosync", {}).get("report_batches")
print(str(b["batches"]) + " " + str(b["reports"]) if b else "- -")'; }
bcrypt_before=$(bcrypt)

# Every case starts from a settled database: no checkpoint or vacuum debt from the one before.
settle() { psql -X "$url" -q -c CHECKPOINT -c "VACUUM ANALYZE"; }
results=()
run() { # name script connections [extra wrk args]
    local name=$1 script=$2 conns=$3; shift 3
    settle
    local out before after
    before=$(batches)
    out=$(wrk -t1 -c"$conns" -d"${duration}s" --latency -s "scripts/bench/$script.lua" "$@" "$base")
    after=$(batches)
    local rps p50 p99 errors batch
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | paste -sd';')
    # Reports per transaction during this case (PUT only).
    batch=$(python3 -c "b0, r0 = '$before'.split(); b1, r1 = '$after'.split()
print('-' if b0 == '-' or int(b1) == int(b0) else f'{(int(r1) - int(r0)) / (int(b1) - int(b0)):.1f}')")
    results+=("$name|$script|$rps|$p50|$p99|$batch|${errors:-none}")
}
for conns in 16 64; do
    run "PUT $conns keep-alive" put "$conns"
    run "PUT $conns close" put "$conns" -H "Connection: close"
done
for conns in 16 64; do
    run "GET $conns keep-alive" get "$conns"
    run "GET $conns close" get "$conns" -H "Connection: close"
done
batch_sizes=$(curl -sf "$base/api/health" | python3 -c 'import json,sys
b = json.load(sys.stdin).get("kosync", {}).get("report_batches")
print(", ".join("<=%d: %d" % (s["up_to"], s["batches"]) for s in b["sizes"]) + " (fell back: %d)" % b["fell_back"] if b else "none (no group commit in this build)")')
bcrypt_after=$(bcrypt)
peak_rss=$(rss VmHWM)

ceiling() { # put|get prepared|extended [reports a statement] → tps of the same SQL at 16 clients
    $bin bench-sql "$1" --username bench --password-hash "$hash" ${3:+--batch "$3"} >"/tmp/libris-bench-$1.sql"
    settle
    pgbench -n -M "$2" -c 16 -j 1 -T "$duration" -f "/tmp/libris-bench-$1.sql" "$url" 2>/dev/null \
        | awk '/^tps/ {printf "%.0f", $3}'
}
hash=$(psql -X "$url" -qAt -c "SELECT password_hash FROM service_credentials WHERE username = 'bench'")
declare -A ceil
for req in put get; do for mode in prepared extended; do ceil[$req-$mode]=$(ceiling $req $mode); done; done
# A build from before --batch (LIBRIS_BIN) has no batched ceiling.
batched=$(ceiling put prepared 16 2>/dev/null || true)

printf '\n%-18s %8s %9s %9s %6s %10s %6s %10s %6s  %s\n' case "req/s" p50 p99 batch "pgb-prep" ratio "pgb-ext" ratio errors
for r in "${results[@]}"; do
    IFS='|' read -r name script rps p50 p99 batch errors <<<"$r"
    cp=${ceil[$script-prepared]} ce=${ceil[$script-extended]}
    rp=$(python3 -c "print(f'{$rps / $cp * 100:.0f}%')") re=$(python3 -c "print(f'{$rps / $ce * 100:.0f}%')")
    printf '%-18s %8.0f %9s %9s %6s %10s %6s %10s %6s  %s\n' "$name" "$rps" "$p50" "$p99" "$batch" "$cp" "$rp" "$ce" "$re" "$errors"
done
echo
echo "pgbench: the SQL of one request (libris bench-sql put|get), 16 clients; pgb-prep with prepared"
echo "statements, as the server runs it; pgb-ext parsing and planning every statement"
[ -z "$batched" ] || echo "pgbench, 16 reports a statement (bench-sql put --batch 16), 16 clients: $batched statements/s = $((batched * 16)) reports/s"
echo "batch: reports per transaction during the case (group commit, reading::batch); close: a new"
echo "connection per request (Connection: close), as KOReader does"
echo "batch sizes over the whole run: $batch_sizes"
echo "bcrypt verifications during the load: $((bcrypt_after - bcrypt_before)) (warm requests hit the cache)"
echo "RSS: idle ${idle_rss} MB, peak ${peak_rss} MB"

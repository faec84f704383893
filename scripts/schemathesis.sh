#!/usr/bin/env bash
# make schemathesis: property-based tests of the REST API from its own OpenAPI document
# (GET /api/openapi.json) with schemathesis: valid and invalid data for every operation, and
# every response checked: no 5xx, status code, content type, headers and body as documented,
# invalid data refused with a 4xx, 405s with a true Allow header, authentication not ignored.
#
# The release build serves a fresh database (cluster `schema` of scripts/pg.sh, database
# libris_schema, made anew each run) and a temporary data directory. Before the run, the API
# gets real resources (a reader key, uploaded books, one organized and one in review,
# reading progress from KoSync), and path parameters draw on them half of the time, so
# operations reach their success paths and not only 404s.
#
#   SCHEMATHESIS_EXAMPLES  test cases per operation and phase (default 50)
#   SCHEMATHESIS_SEED      random generation from this seed (default: deterministic generation,
#                          the same test cases every run)
#   SCHEMATHESIS_ARGS      more arguments for `schemathesis run`
#   SCHEMATHESIS_KEEP=1    keep the work directory (server log, reports)
#
# Two passes: as a reader (403s, what readers see), then as the admin.
# Exits non-zero when a check failed, the server logged an error, or it did not stay up.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
examples=${SCHEMATHESIS_EXAMPLES:-50}
seed=${SCHEMATHESIS_SEED:-}
venv=$PWD/target/schemathesis-venv
say() { echo "schemathesis.sh: $*" >&2; }

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $version"; then
    rm -rf "$venv"
    python3 -m venv "$venv" >/dev/null 2>&1 || {
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
            python3 -m venv "$venv"
        else
            say "python3 venv is missing: 'sudo apt-get install python3-venv'"
            exit 1
        fi
    }
    say "installing schemathesis==$version into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$version" >&2
fi
command -v curl >/dev/null 2>&1 || { say "curl is missing"; exit 1; }

cargo build --release --locked
bin=$PWD/target/release/libris

# A fresh cluster and database each run.
scripts/pg.sh wipe schema
url=$(scripts/pg.sh start schema libris_schema)

work=$(mktemp -d /tmp/libris-schemathesis.XXXXXX)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if [ "${SCHEMATHESIS_KEEP:-}" = 1 ]; then
        scripts/pg.sh stop schema || true
        say "kept $work (and the stopped cluster: scripts/pg.sh start schema libris_schema)"
    else
        scripts/pg.sh wipe schema || true
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# Warnings, and a line per request (counted in the summary).
export DATABASE_URL="$url" RUST_LOG=warn,actix_web::middleware::logger=info
export LIBRIS_DATA_DIR="$work/data"
# Offline: Hardcover is a closed local port (its endpoints answer "unreachable"), no daily sync.
export LIBRIS_HARDCOVER_URL=http://127.0.0.1:9/v1/graphql LIBRIS_HARDCOVER_SYNC_AT=off
# schemathesis sends wrong credentials on purpose; the login limiter has tests of its own.
export LIBRIS_AUTH_FAILURES_PER_MINUTE=0
$bin migrate >/dev/null
admin=$($bin keys create --admin --label schemathesis 2>/dev/null | awk '/^key:/ {print $2}')
[ -n "$admin" ] || { say "no admin key from 'libris keys create'"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
$bin serve --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$base/healthcheck" >/dev/null && break; sleep 0.1; done
curl -sf "$base/healthcheck" >/dev/null || { cat "$work/server.log" >&2; say "the server did not start"; exit 1; }

# Real resources for path parameters.
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
api() { # METHOD PATH [JSON] → body; fails unless 2xx
    curl -sf -X "$1" -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
        ${3:+--data "$3"} "$base$2"
}
read -r reader_id reader < <(api POST /api/keys '{"label": "reader"}' | json 'd["id"], d["key"]')
doomed_key=$(api POST /api/keys '{"label": "to delete"}' | json 'd["id"]')
$bin bench-epubs --count 3 "$work/books" >/dev/null
upload() {
    curl -sf -H "Authorization: Bearer $admin" -F "file=@$1" "$base/api/uploads" | json 'd["files"][0]["book_id"]'
}
books=("$work"/books/*.epub)
organized=$(upload "${books[0]}")
in_review=$(upload "${books[1]}")
doomed_book=$(upload "${books[2]}")
api POST "/api/books/$organized/approve" >/dev/null
file_id=$(api GET "/api/books/$organized" | json 'd["files"][0]["id"]')
review_file=$(api GET "/api/books/$in_review" | json 'd["files"][0]["id"]')
document=$(api GET "/api/books/$organized" | json 'd["documents"][0]["document"]')
# Progress from KOReader, so progress, history and statistics have something to show.
api PUT /api/credentials/kosync '{"username": "schemathesis", "password": "schemathesis"}' >/dev/null
md5=$(printf %s schemathesis | md5sum | cut -d' ' -f1)
for pct in 0.1 0.25 0.5; do
    curl -sf -X PUT -H 'accept: application/vnd.koreader.v1+json' -H 'content-type: application/json' \
        -H 'x-auth-user: schemathesis' -H "x-auth-key: $md5" \
        --data "{\"document\": \"$document\", \"progress\": \"/body/DocFragment[3]\", \"percentage\": $pct, \"device\": \"schemathesis\", \"device_id\": \"S1\"}" \
        "$base/syncs/progress" >/dev/null
done

# Path parameters draw on these half of the time. Deletions get resources of their own, so
# the books and keys the other operations use stay (until the stateful phase at the end
# follows links from listings to deletions). Where several [[operations]] set the same
# option for an operation, the first one wins.
cat >"$work/schemathesis.toml" <<EOF
[dictionaries.books]
values = ["$organized", "$in_review"]
[dictionaries.files]
values = ["$file_id", "$review_file"]
[dictionaries.documents]
values = ["$document"]
[dictionaries.keys]
values = ["$reader_id"]
[dictionaries.services]
values = ["kosync", "opds", "hardcover"]
[dictionaries.doomed-books]
values = ["$doomed_book"]
[dictionaries.doomed-keys]
values = ["$doomed_key"]

# Every check but positive_data_acceptance: the document does not carry every rule (lengths,
# year ranges, setting names, states that give 409), so data that looks valid may be refused.
# (Named here, not with --checks, which would override the exceptions below.)
[checks]
positive_data_acceptance.enabled = false
object_level_authorization.enabled = false

[[operations]]
include-path = "/api/books/{id}"
include-method = "DELETE"
parameters = { "path.id" = { dictionary = "doomed-books", probability = 0.5 } }

[[operations]]
include-path = "/api/keys/{id}"
include-method = "DELETE"
parameters = { "path.id" = { dictionary = "doomed-keys", probability = 0.5 } }

# Hardcover is unreachable here on purpose: a lookup then answers 503 (documented).
[[operations]]
include-path = "/api/books/{id}/hardcover/lookup"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]

# /api/credentials/hardcover is served by two templates: PUT by its own, DELETE by
# /api/credentials/{service}. Allow says "PUT, DELETE"; schemathesis looks at one template.
[[operations]]
include-path = "/api/credentials/hardcover"
checks.allow_header_conformance.enabled = false

# DELETE …/progress forgets the caller's progress; GET …/progress then shows none (200 with
# empty lists), as it does for a book never read: the book is still there.
[[operations]]
include-path = "/api/books/{id}/progress"
checks.use_after_free.enabled = false

[[operations]]
include-path-regex = "^/api/books/"
parameters = { "path.id" = { dictionary = "books", probability = 0.5 }, "path.file_id" = { dictionary = "files", probability = 0.5 }, "path.document" = { dictionary = "documents", probability = 0.5 } }

[[operations]]
include-path-regex = "^/api/keys/"
parameters = { "path.id" = { dictionary = "keys", probability = 0.5 }, "path.service" = { dictionary = "services", probability = 0.5 } }

[[operations]]
include-path-regex = "^/api/credentials/"
parameters = { "path.service" = { dictionary = "services", probability = 0.5 } }
EOF

if [ -n "$seed" ]; then generation=(--seed "$seed"); else generation=(--generation-deterministic); fi
status=0
requests=0
# pass NAME KEY: one schemathesis run as that caller. In the work directory: schemathesis keeps
# a cache of failures (.schemathesis/) where it runs.
pass() {
    local name=$1 key=$2 logged rc=0
    logged=$(wc -l <"$work/server.log")
    # shellcheck disable=SC2086
    (cd "$work" && "$venv/bin/schemathesis" --config-file schemathesis.toml --no-color \
        run "$base/api/openapi.json" -H "Authorization: Bearer $key" \
        --mode all --max-examples "$examples" "${generation[@]}" --workers 1 \
        --report json --report-json-path "$name.json" ${SCHEMATHESIS_ARGS:-}) >"$work/$name.log" 2>&1 || rc=$?
    echo "=== as $name ==="
    if [ "$rc" != 0 ]; then cat "$work/$name.log"; status=1; else sed -n '/ SUMMARY /,$p' "$work/$name.log"; fi
    [ -f "$work/$name.json" ] || { say "no report from schemathesis"; exit 1; }
    tail -n +"$((logged + 1))" "$work/server.log" >"$work/$name.server.log"
    requests=$((requests + $(grep -c ' /api/' "$work/$name.server.log" || true)))
}
# The reader first: the admin's run deletes and approves.
pass reader "$reader"
pass admin "$admin"

if ! kill -0 "$server" 2>/dev/null; then
    say "the server is gone"; status=1
fi
# Server faults are logged by libris::error; an unreachable Hardcover is expected here.
faults=$(cat "$work"/*.server.log | grep ' ERROR libris' | grep -v 'Hardcover could not be reached' || true)
if [ -n "$faults" ]; then
    say "the server logged errors:"; head -20 <<<"$faults" >&2; status=1
fi
"$venv/bin/python" - "$requests" "$version" "$examples" "${seed:-deterministic}" \
    "$work/reader.json" "$work/admin.json" <<'PY'
import json, sys
requests, version, examples, seed, *reports = sys.argv[1:]
print(f"\nschemathesis {version} (seed: {seed}; at most {examples} examples per operation and phase;"
      f" positive and negative data; every check but positive_data_acceptance)")
print(f"requests sent: {requests}")
for path, name in zip(reports, ["reader", "admin"]):
    r = json.load(open(path))
    ops, cases = r["operations"], r["test_cases"]
    print(f"as {name}: {ops['tested']} of {ops['selected']} operations tested, "
          f"{cases['generated']} test cases, {cases['unique_failures']} unique failures, "
          f"{len(r['errors'])} errors"
          + "".join(f"\n  {f['code']} {f['title']}: {f['count']} ({', '.join(f['operations'])})"
                    for f in r["failures"]))
PY
exit "$status"

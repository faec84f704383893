#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || fail" below: fail unless both hold.
# `make test-packaging`: the container packaging, end to end, with rootful Podman.
#
#   1. build   the libris image (Containerfile) and PostgreSQL's (packaging/postgres.Containerfile)
#   2. compose compose.yaml up; health; the first admin through the setup token; a reader with a
#              KoSync login; a fixture book uploaded and approved; a KoSync progress report;
#              the OPDS root (links from LIBRIS_PUBLIC_URL); the database stopped (503, unhealthy)
#              and back; SIGTERM stops libris with exit 0; libris started before its database
#              waits for it (LIBRIS_DB_WAIT); down (volumes kept) and up again: the admin, the
#              book, its file, the progress and the server secret are all still there; down -v
#   3. systemd packaging/systemd-test.Containerfile: libris.service, unchanged, under systemd in
#              an unprivileged container; its sandbox in force; kill -9 is restarted,
#              `systemctl stop` is a clean exit (libris exits 0 by itself)
#
# Needs root, Podman and podman-compose (scripts/podman-setup.sh installs and configures them,
# and is run first), curl and python3. Fails at the first check that does not hold, saying which.
#
#   TEST_PACKAGING_ONLY=build,compose,systemd   the parts to run (default: all)
#   TEST_PACKAGING_COLD=1        build without the layer cache (a cold build)
#   TEST_PACKAGING_NETWORK=host  `podman build --network` (default: Podman's own)
#   TEST_PACKAGING_KEEP=1        leave the containers and volumes of a failed run for a look
#   LIBRIS_BUILD_CACERT=FILE     the CA bundle cargo trusts in the build (default: the system's,
#                                so a TLS-intercepting proxy whose CA the system trusts works)
set -euo pipefail
cd "$(dirname "$0")/.."

ONLY=${TEST_PACKAGING_ONLY:-build,compose,systemd}
PROJECT=librispkgtest
IMAGE=localhost/libris:latest
PG_IMAGE=localhost/libris-postgres:15
SYSTEMD_IMAGE=localhost/libris-systemd-test:latest
SYSTEMD_CTR=${PROJECT}-systemd
FIXTURE=fixtures/books/lighthouse-epub3.epub
CACERT=${LIBRIS_BUILD_CACERT:-/etc/ssl/certs/ca-certificates.crt}

started=$(date +%s)
step_start=$started
step_name=
timings=()
work=$(mktemp -d "${TMPDIR:-/tmp}/libris-test-packaging.XXXXXX")
failed=1

# fd 3: the terminal's stderr, for messages from commands whose own output is hidden.
exec 3>&2
say() { printf 'test-packaging: %s\n' "$*" >&3; }
fail() {
    say "FAIL: $*"
    exit 1
}
step() {
    local now
    now=$(date +%s)
    [ -n "$step_name" ] && timings+=("$(printf '%5ss  %s' $((now - step_start)) "$step_name")")
    step_name=$1
    step_start=$now
    printf '\n== %s\n' "$1" >&2
}
want() { [[ ",$ONLY," == *",$1,"* ]]; }

compose() { podman-compose -p "$PROJECT" -f compose.yaml "$@"; }

# The container of a compose service (podman-compose names it <project>_<service>_1).
ctr_of() {
    podman ps -a --filter "label=io.podman.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -1
}

dump_logs() {
    local c
    for c in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}') \
        $(podman ps -a --filter "name=^${SYSTEMD_CTR}\$" --format '{{.Names}}'); do
        podman logs "$c" >"$work/$c.log" 2>&1 || true
        say "last lines of $c's log (all of it: $work/$c.log):"
        tail -n 25 "$work/$c.log" >&2 || true
    done
    if podman container exists "$SYSTEMD_CTR" 2>/dev/null; then
        podman exec "$SYSTEMD_CTR" journalctl --no-pager -n 60 >"$work/systemd-journal.log" 2>&1 || true
        say "journal of $SYSTEMD_CTR: $work/systemd-journal.log"
        tail -n 30 "$work/systemd-journal.log" >&2 || true
    fi
}

teardown() {
    podman rm -f -t 10 "$SYSTEMD_CTR" >/dev/null 2>&1 || true
    if [ -f compose.yaml ] && command -v podman-compose >/dev/null; then
        compose down -v -t 30 >>"$work/compose.log" 2>&1 || true
    fi
    # podman-compose 1.0's down leaves the project's network.
    if podman network exists "${PROJECT}_default" 2>/dev/null; then
        podman network rm "${PROJECT}_default" >>"$work/compose.log" 2>&1 || true
    fi
}

on_exit() {
    local rc=$?
    [ -n "$step_name" ] && timings+=("$(printf '%5ss  %s' $(($(date +%s) - step_start)) "$step_name")")
    if [ "$failed" = 1 ]; then
        say "FAILED in step: ${step_name:-start-up} (exit $rc)"
        dump_logs
        if [ "${TEST_PACKAGING_KEEP:-}" = 1 ]; then
            say "TEST_PACKAGING_KEEP=1: containers and volumes left; logs in $work"
        else
            teardown
            say "logs kept in $work"
        fi
    else
        teardown
        rm -rf "$work"
    fi
    printf '\n%s\n' "timings:" >&2
    printf '  %s\n' "${timings[@]}" >&2
    printf '%5ss  total\n' $(($(date +%s) - started)) >&2
    [ "$failed" = 1 ] && say "FAILED" || say "passed"
}
trap on_exit EXIT

# --- HTTP and JSON helpers -----------------------------------------------------------------
# req STATUS METHOD URL [curl args…]: the body; fails unless the answer has that status.
req() {
    local want=$1 method=$2 url=$3 code
    shift 3
    code=$(curl -sS -o "$work/body" -w '%{http_code}' -X "$method" "$url" "$@") \
        || fail "$method $url: no answer"
    [ "$code" = "$want" ] || fail "$method $url: HTTP $code, expected $want: $(head -c 600 "$work/body")"
    cat "$work/body"
}
# json PATH: a value of the JSON document on stdin; PATH like files.0.id. Fails when missing.
json() {
    python3 -c '
import json, sys
v = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    if part == "":
        continue
    v = v[int(part)] if isinstance(v, list) else v[part]
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' "$1" \
        || fail "no $1 in the JSON answer"
}
# healthy CONTAINER: its HEALTHCHECK passes (podman runs HEALTHCHECKs from systemd timers, and
# without systemd as PID 1 nothing runs them: run it here); a container restarted 3 times is
# crash-looping, which no waiting mends: fail at once with its log.
healthy() {
    local restarts
    restarts=$(podman inspect -f '{{.RestartCount}}' "$1")
    if [ "$restarts" -ge 3 ]; then
        podman logs --tail 5 "$1" >&3 2>&1 || true
        fail "$1 is crash-looping ($restarts restarts; log above)"
    fi
    podman healthcheck run "$1"
}
# wait_for SECONDS WHAT COMMAND…: retries COMMAND every second until it succeeds.
wait_for() {
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit; i++)); do
        if "$@" >/dev/null 2>&1; then
            say "$what: after ${i}s"
            return 0
        fi
        sleep 1
    done
    fail "$what: not after ${limit}s (last try: $("$@" 2>&1 | tail -3))"
}

# --- 0. the machine -------------------------------------------------------------------------
step "podman set-up (scripts/podman-setup.sh)"
[ "$(id -u)" = 0 ] || fail "run as root (rootful Podman)"
for tool in curl python3; do
    command -v "$tool" >/dev/null || fail "$tool is needed (apt-get install $tool)"
done
scripts/podman-setup.sh
cmp -s .containerignore .dockerignore || fail ".containerignore and .dockerignore differ: keep them the same"
teardown # what an interrupted earlier run may have left

# --- 1. the images --------------------------------------------------------------------------
if want build; then
    step "build $IMAGE"
    build=(podman build --format docker)
    [ "${TEST_PACKAGING_COLD:-}" = 1 ] && build+=(--no-cache)
    [ -n "${TEST_PACKAGING_NETWORK:-}" ] && build+=(--network "$TEST_PACKAGING_NETWORK")
    secret=()
    [ -s "$CACERT" ] && secret=(--secret "id=cacert,src=$CACERT")
    "${build[@]}" "${secret[@]}" -t "$IMAGE" -f Containerfile . >"$work/build-libris.log" 2>&1 \
        || { tail -n 40 "$work/build-libris.log" >&2; fail "building $IMAGE (log: $work/build-libris.log)"; }

    step "build $PG_IMAGE"
    "${build[@]}" -t "$PG_IMAGE" -f packaging/postgres.Containerfile . >"$work/build-pg.log" 2>&1 \
        || { tail -n 40 "$work/build-pg.log" >&2; fail "building $PG_IMAGE (log: $work/build-pg.log)"; }

    step "inspect the images"
    inspect() { podman image inspect -f "$2" "$1"; }
    [ "$(inspect "$IMAGE" '{{.Config.User}}')" = libris ] || fail "$IMAGE does not run as libris"
    [ "$(inspect "$IMAGE" '{{.Config.StopSignal}}')" = SIGTERM ] || fail "$IMAGE: STOPSIGNAL is not SIGTERM"
    [[ "$(inspect "$IMAGE" '{{.Config.Healthcheck}}')" == */api/health* ]] \
        || fail "$IMAGE has no HEALTHCHECK on /api/health (built without --format docker?)"
    [[ "$(inspect "$IMAGE" '{{json .Config.Volumes}}')" == *'"/var/lib/libris"'* ]] || fail "$IMAGE: no volume /var/lib/libris"
    [[ "$(inspect "$IMAGE" '{{json .Config.Env}}')" == *'"LIBRIS_BIND=0.0.0.0:8080"'* ]] || fail "$IMAGE: LIBRIS_BIND"
    # Everything libris runs, and links, is in the image; nothing it does not need is.
    podman run --rm --no-healthcheck --entrypoint sh "$IMAGE" -c '
        set -e
        for t in libris mutool ddjvu pg_dump pg_restore psql curl; do command -v $t >/dev/null || { echo "missing $t"; exit 1; }; done
        ! ldd /usr/local/bin/libris | grep "not found"
        ! ldd /usr/lib/postgresql/15/bin/pg_dump /usr/lib/postgresql/15/bin/psql | grep "not found"
        for p in cargo-web rustc-web gcc libpq-dev perl postgresql-client-common; do
            ! dpkg -s $p >/dev/null 2>&1 || { echo "$p is in the image"; exit 1; }
        done
        [ "$(id -un)" = libris ]
        touch /var/lib/libris/.w && rm /var/lib/libris/.w' \
        || fail "$IMAGE's contents"
    say "$IMAGE: $(inspect "$IMAGE" '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'); $PG_IMAGE: $(inspect "$PG_IMAGE" '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
fi

# --- 2. compose -----------------------------------------------------------------------------
if want compose; then
    step "compose up"
    podman image exists "$IMAGE" && podman image exists "$PG_IMAGE" \
        || fail "images missing: run with TEST_PACKAGING_ONLY including build"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export LIBRIS_PORT=$port
    export LIBRIS_PUBLIC_URL="http://127.0.0.1:$port"
    LIBRIS_DB_PASSWORD=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    export LIBRIS_DB_PASSWORD
    unset LIBRIS_SECRET_KEY # the data volume's secret file: checked across the restart
    BASE=$LIBRIS_PUBLIC_URL
    compose up -d --no-build >>"$work/compose.log" 2>&1 || { tail -n 30 "$work/compose.log" >&2; fail "compose up"; }
    libris_ctr=$(ctr_of libris)
    db_ctr=$(ctr_of db)
    [ -n "$libris_ctr" ] && [ -n "$db_ctr" ] || fail "compose up made no libris or db container"

    step "wait for health"
    wait_for 120 "db healthy" healthy "$db_ctr"
    wait_for 180 "libris healthy" healthy "$libris_ctr"
    health=$(req 200 GET "$BASE/api/health")
    [ "$(json database.status <<<"$health")" = ok ] || fail "health: $health"
    [[ "$(json database.server_version <<<"$health")" == 15* ]] || fail "not PostgreSQL 15: $health"
    [ "$(podman inspect -f '{{.State.Restarting}} {{.RestartCount}}' "$libris_ctr")" = "false 0" ] \
        || say "note: libris was restarted while the database came up ($(podman inspect -f '{{.RestartCount}}' "$libris_ctr") times)"

    step "claim the server: setup token, first admin"
    token=$(podman exec "$libris_ctr" libris setup-token) || fail "libris setup-token"
    [[ "$token" =~ ^[0-9a-f]{4}(-[0-9a-f]{4}){4}$ ]] || fail "setup token: $token"
    # The command compose.yaml and docs/operations.md give (podman-compose adds lines of its own).
    compose exec -T libris libris setup-token </dev/null >"$work/exec.out" 2>&1 \
        || fail "podman-compose exec libris libris setup-token: $(tail -3 "$work/exec.out")"
    grep -qx "$token" "$work/exec.out" || fail "podman-compose exec printed no token: $(cat "$work/exec.out")"
    podman logs "$libris_ctr" >"$work/libris-start.log" 2>&1
    grep -q "enter the setup token $token" "$work/libris-start.log" || fail "the setup token is not in libris's log"
    req 403 POST "$BASE/api/auth/setup" -d '{"label": "intruder", "setup_token": "wrong-token"}' >/dev/null
    admin=$(req 201 POST "$BASE/api/auth/setup" -d "{\"label\": \"admin\", \"setup_token\": \"$token\"}")
    ADMIN=$(json key <<<"$admin")
    [ "$(json is_admin <<<"$admin")" = True ] || fail "the setup key is not an admin: $admin"
    req 409 POST "$BASE/api/auth/setup" -d "{\"label\": \"again\", \"setup_token\": \"$token\"}" >/dev/null
    auth=(-H "Authorization: Bearer $ADMIN")

    step "a reader with a KoSync login"
    ann=$(req 201 POST "$BASE/api/keys" "${auth[@]}" -d '{"label": "Ann"}')
    ANN_ID=$(json id <<<"$ann")
    ANN=$(json key <<<"$ann")
    req 200 PUT "$BASE/api/keys/$ANN_ID/credentials/kosync" "${auth[@]}" \
        -d '{"username": "ann", "password": "correct horse"}' >/dev/null
    kosync=(-H 'x-auth-user: ann' -H 'x-auth-key: correct horse' -H 'Accept: application/vnd.koreader.v1+json')
    req 200 GET "$BASE/users/auth" "${kosync[@]}" >/dev/null
    req 401 GET "$BASE/users/auth" -H 'x-auth-user: ann' -H 'x-auth-key: wrong' >/dev/null

    step "upload and approve a fixture book"
    up=$(req 201 POST "$BASE/api/uploads" "${auth[@]}" -F "file=@$FIXTURE")
    [ "$(json files.0.outcome <<<"$up")" = created ] || fail "upload: $up"
    BOOK=$(json files.0.book_id <<<"$up")
    TITLE=$(json files.0.title <<<"$up")
    book=$(req 200 POST "$BASE/api/books/$BOOK/approve" "${auth[@]}")
    [ "$(json status <<<"$book")" = organized ] || fail "approve: $book"
    FILE_ID=$(json files.0.id <<<"$book")
    DOC=$(json files.0.content_hash <<<"$book") # KOReader's partial MD5 of the file
    [[ "$DOC" =~ ^[0-9a-f]{32}$ ]] || fail "content_hash $DOC is not an MD5"
    say "book $BOOK \"$TITLE\", KOReader document $DOC"

    step "KoSync: report progress"
    put=$(req 200 PUT "$BASE/syncs/progress" "${kosync[@]}" -H 'Content-Type: application/json' \
        -d "{\"document\": \"$DOC\", \"progress\": \"/body/DocFragment[7]/body/p[3]/text().0\", \"percentage\": 0.4242, \"device\": \"Kobo\", \"device_id\": \"K1\"}")
    [ "$(json document <<<"$put")" = "$DOC" ] || fail "PUT /syncs/progress: $put"
    got=$(req 200 GET "$BASE/syncs/progress/$DOC" "${kosync[@]}")
    [ "$(json percentage <<<"$got")" = 0.4242 ] || fail "GET /syncs/progress: $got"
    reading=$(req 200 GET "$BASE/api/reading" -H "Authorization: Bearer $ANN")
    grep -q "$BOOK" <<<"$reading" || fail "the report did not reach the book: /api/reading is $reading"

    step "OPDS root"
    req 200 PUT "$BASE/api/credentials/opds" -H "Authorization: Bearer $ANN" \
        -d '{"username": "ann-opds", "password": "opds secret"}' >/dev/null
    opds=$(req 200 GET "$BASE/opds" -u 'ann-opds:opds secret' -D "$work/opds.headers")
    grep -qi '^content-type: application/atom+xml' "$work/opds.headers" || fail "OPDS root: $(grep -i content-type "$work/opds.headers")"
    grep -q '<feed' <<<"$opds" || fail "OPDS root is no Atom feed"
    # LIBRIS_PUBLIC_URL reached libris: the feed's absolute links start with it.
    grep -q "href=\"$LIBRIS_PUBLIC_URL/opds" <<<"$opds" || fail "OPDS links do not use LIBRIS_PUBLIC_URL: $(head -c 800 <<<"$opds")"
    req 401 GET "$BASE/opds" -u 'ann-opds:wrong' >/dev/null

    step "database away: unhealthy, then back by itself"
    podman stop -t 30 "$db_ctr" >>"$work/compose.log" 2>&1
    code=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 10 "$BASE/api/health" || true)
    [ "$code" = 503 ] || fail "/api/health with the database stopped: HTTP $code, expected 503"
    ! podman healthcheck run "$libris_ctr" >/dev/null 2>&1 || fail "HEALTHCHECK passes with the database stopped"
    podman start "$db_ctr" >>"$work/compose.log" 2>&1
    wait_for 60 "db healthy again" healthy "$db_ctr"
    wait_for 60 "libris healthy again, not restarted" healthy "$libris_ctr"
    req 200 GET "$BASE/syncs/progress/$DOC" "${kosync[@]}" >/dev/null

    step "SIGTERM: libris exits 0"
    secret_before=$(podman exec "$libris_ctr" sha256sum /var/lib/libris/secret | cut -d' ' -f1)
    restarts=$(podman inspect -f '{{.RestartCount}}' "$libris_ctr")
    [ "$restarts" = 0 ] || fail "libris restarted $restarts times while the database was away"
    podman stop -t 30 "$libris_ctr" >>"$work/compose.log" 2>&1
    code=$(podman inspect -f '{{.State.ExitCode}}' "$libris_ctr")
    [ "$code" = 0 ] || fail "libris exited $code on SIGTERM"

    step "libris started before its database waits for it (LIBRIS_DB_WAIT)"
    podman stop -t 30 "$db_ctr" >>"$work/compose.log" 2>&1
    podman start "$libris_ctr" >>"$work/compose.log" 2>&1
    sleep 8
    [ "$(podman inspect -f '{{.State.Running}} {{.RestartCount}}' "$libris_ctr")" = "true $restarts" ] \
        || fail "libris did not wait for its database: $(podman logs --tail 3 "$libris_ctr" 2>&1)"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/api/health" || true)
    [ "$code" != 200 ] || fail "libris answered 200 without its database"
    podman start "$db_ctr" >>"$work/compose.log" 2>&1
    wait_for 60 "db healthy" healthy "$db_ctr"
    wait_for 120 "libris healthy, not restarted" healthy "$libris_ctr"
    [ "$(podman inspect -f '{{.RestartCount}}' "$libris_ctr")" = "$restarts" ] || fail "libris was restarted"

    step "compose down (volumes kept), up again"
    compose down -t 30 >>"$work/compose.log" 2>&1 || fail "compose down"
    [ -z "$(ctr_of libris)" ] || fail "compose down left the libris container"
    podman volume exists "${PROJECT}_data" && podman volume exists "${PROJECT}_db" \
        || fail "compose down removed the volumes ($(podman volume ls --format '{{.Name}}' | tr '\n' ' '))"
    compose up -d --no-build >>"$work/compose.log" 2>&1 || { tail -n 30 "$work/compose.log" >&2; fail "compose up (again)"; }
    libris_ctr=$(ctr_of libris)
    db_ctr=$(ctr_of db)
    wait_for 120 "db healthy again" healthy "$db_ctr"
    wait_for 180 "libris healthy again" healthy "$libris_ctr"

    step "everything is still there"
    [ "$(podman exec "$libris_ctr" sha256sum /var/lib/libris/secret | cut -d' ' -f1)" = "$secret_before" ] \
        || fail "the server secret changed across the restart"
    if podman exec "$libris_ctr" libris setup-token >"$work/token2" 2>&1; then
        fail "setup-token printed a token after the restart: the database forgot the admin"
    fi
    grep -q 'setup is done' "$work/token2" || fail "setup-token: $(cat "$work/token2")"
    book=$(req 200 GET "$BASE/api/books/$BOOK" "${auth[@]}")
    [ "$(json title <<<"$book")" = "$TITLE" ] && [ "$(json status <<<"$book")" = organized ] \
        || fail "the book after the restart: $book"
    curl -sSf -o "$work/download" -H "Authorization: Bearer $ANN" "$BASE/api/books/$BOOK/files/$FILE_ID" \
        || fail "downloading the book after the restart"
    cmp -s "$work/download" "$FIXTURE" || fail "the downloaded file differs from $FIXTURE"
    got=$(req 200 GET "$BASE/syncs/progress/$DOC" "${kosync[@]}")
    [ "$(json percentage <<<"$got")" = 0.4242 ] && [ "$(json device <<<"$got")" = Kobo ] \
        || fail "progress after the restart: $got"
    grep -q "href=\"$LIBRIS_PUBLIC_URL/opds" <<<"$(req 200 GET "$BASE/opds" -u 'ann-opds:opds secret')" \
        || fail "OPDS root after the restart"

    step "compose down -v"
    compose down -v -t 30 >>"$work/compose.log" 2>&1 || fail "compose down -v"
    for v in "${PROJECT}_data" "${PROJECT}_db"; do
        ! podman volume exists "$v" || fail "compose down -v left volume $v"
    done
fi

# --- 3. systemd -----------------------------------------------------------------------------
if want systemd; then
    step "build $SYSTEMD_IMAGE"
    podman image exists "$IMAGE" || fail "$IMAGE missing: run with TEST_PACKAGING_ONLY including build"
    sbuild=(podman build --format docker)
    [ "${TEST_PACKAGING_COLD:-}" = 1 ] && sbuild+=(--no-cache)
    [ -n "${TEST_PACKAGING_NETWORK:-}" ] && sbuild+=(--network "$TEST_PACKAGING_NETWORK")
    "${sbuild[@]}" --build-arg "LIBRIS_IMAGE=$IMAGE" -t "$SYSTEMD_IMAGE" \
        -f packaging/systemd-test.Containerfile . >"$work/build-systemd.log" 2>&1 \
        || { tail -n 40 "$work/build-systemd.log" >&2; fail "building $SYSTEMD_IMAGE (log: $work/build-systemd.log)"; }

    step "systemd boots, libris.service active"
    # No --privileged and no added capability: the unit's sandbox works in a container with
    # Podman's default capabilities, because PrivateUsers= has systemd set up the namespaces
    # from inside a user namespace of the service's own. (With PrivateUsers=no, systemd skips
    # what it cannot do there and starts the service anyway: "PrivateIPC=yes is configured, but
    # IPC namespace setup failed, ignoring", a writable /.) So it is checked below, not assumed.
    podman run -d --name "$SYSTEMD_CTR" --systemd=always "$SYSTEMD_IMAGE" >/dev/null
    sx() { podman exec "$SYSTEMD_CTR" "$@"; }
    prop() { sx systemctl show -p "$1" --value libris.service; }
    health_code() { sx curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8080/api/health || true; }
    answers_200() { [ "$(health_code)" = 200 ]; }
    wait_for 120 "libris.service active" sx systemctl is-active -q libris.service
    wait_for 60 "health 200 inside the container" answers_200
    pid=$(prop MainPID)
    [ "$(sx stat -c %U "/proc/$pid")" = libris ] || fail "libris runs as $(sx stat -c %U "/proc/$pid")"

    step "the unit's sandbox is in force"
    sx sh -c "grep -qx 'NoNewPrivs:[[:space:]]*1' /proc/$pid/status" || fail "NoNewPrivileges= not in force"
    sx sh -c "grep -qx 'Seccomp:[[:space:]]*2' /proc/$pid/status" || fail "SystemCallFilter= not in force"
    sx sh -c "grep -qx 'CapEff:[[:space:]]*0*' /proc/$pid/status" || fail "the service has capabilities"
    for ns in mnt user ipc; do
        [ "$(sx readlink "/proc/1/ns/$ns")" != "$(sx readlink "/proc/$pid/ns/$ns")" ] \
            || fail "the service shares PID 1's $ns namespace (PrivateUsers=/PrivateIPC=/mounts not applied)"
    done
    # ProtectSystem=strict: / read-only for the service; StateDirectory= writable.
    # The options of the topmost mount at a path, as the service sees it.
    # shellcheck disable=SC2016 # awk's own variables
    mount_opts() { sx awk -v p="$1" '$5 == p { o = $6 } END { print o }' "/proc/$pid/mountinfo"; }
    [[ "$(mount_opts /)" == ro* ]] || fail "/ is not read-only for the service: $(mount_opts /)"
    [[ "$(mount_opts /var/lib/libris)" == rw* ]] \
        || fail "/var/lib/libris is not a writable mount for the service: $(mount_opts /var/lib/libris)"
    sx test -s /var/lib/libris/secret || fail "libris wrote no secret into its state directory"
    sx journalctl -u libris.service --no-pager >"$work/libris-unit.log" 2>&1
    if grep -E 'is configured, but .*(failed|prohibited)' "$work/libris-unit.log" >&3; then
        fail "systemd skipped part of the unit's sandbox (above)"
    fi
    restarts=$(prop NRestarts)

    step "kill -9: systemd restarts libris"
    sx sh -c "kill -9 $pid"
    restarted() {
        [ "$(prop NRestarts)" = $((restarts + 1)) ] && [ "$(prop ActiveState)" = active ] \
            && [ "$(prop MainPID)" != "$pid" ] && [ "$(prop MainPID)" != 0 ]
    }
    wait_for 30 "restarted (NRestarts $restarts -> $((restarts + 1)))" restarted
    wait_for 60 "health 200 after the restart" answers_200

    step "systemctl stop: a clean exit"
    sx systemctl stop libris.service
    state="$(prop ActiveState) $(prop Result) $(prop ExecMainCode) $(prop ExecMainStatus)"
    # ExecMainCode 1 is CLD_EXITED: libris exited by itself (status 0), not killed by the signal.
    [ "$state" = "inactive success 1 0" ] \
        || fail "after systemctl stop: ActiveState Result ExecMainCode ExecMainStatus = $state"
    [ "$(health_code)" = 000 ] || fail "something still answers on 8080 after the stop"
    podman rm -f -t 10 "$SYSTEMD_CTR" >/dev/null
fi

step "done"
failed=0

#!/usr/bin/env bash
# A project-local PostgreSQL cluster, reached over a unix socket (no port clashes).
#
#   scripts/pg.sh start NAME [DB]  start (creating it on first use), create database DB
#                                  (default postgres) if missing, print its DATABASE_URL
#   scripts/pg.sh stop NAME    stop it
#   scripts/pg.sh url NAME     print its DATABASE_URL
#   scripts/pg.sh wipe NAME    stop it and delete its data
#
# NAME picks a cluster: `run` (durable, for `make run`), `test` (fsync off: throw-away test
# data), `bench` (production durability, recreated by each benchmark).
# The data lives under ${LIBRIS_PG_ROOT:-/tmp}: initdb refuses root, so as root the cluster
# runs as the postgres user, which cannot enter a checkout under /root.
set -euo pipefail

cmd=${1:?usage: scripts/pg.sh start|stop|url|wipe NAME}
name=${2:?usage: scripts/pg.sh start|stop|url|wipe NAME}
db=${3:-postgres}
project=$(cd "$(dirname "$0")/.." && pwd)
tag=$(printf '%s' "$project" | md5sum | cut -c1-8)
dir="${LIBRIS_PG_ROOT:-/tmp}/libris-pg-$name-$tag"
port=5432

say() { echo "pg.sh: $*" >&2; }

find_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    return 1
}

bindir=$(find_bindir || true)
if [ -z "$bindir" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "PostgreSQL server binaries not found; installing the postgresql package"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql postgresql-contrib libpq-dev >&2
        bindir=$(find_bindir)
    else
        say "PostgreSQL server binaries (initdb, pg_ctl) not found."
        say "Install them, e.g. 'sudo apt-get install postgresql libpq-dev', or set DATABASE_URL."
        exit 1
    fi
fi

# Run a server binary as the cluster's owner.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgresql:///$db?host=$dir&port=$port&user=postgres"; }

running() { as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

init() {
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        chown postgres: "$dir"
    fi
    chmod 700 "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = $port"
        echo "max_connections = 300"
        echo "shared_buffers = 128MB"
        if [ "$name" = test ]; then
            # Test databases are thrown away: durability only costs time here.
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
}

start() {
    [ -f "$dir/data/PG_VERSION" ] || init
    if ! running; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
            || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
    if [ "$db" != postgres ]; then
        as_owner "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt \
            -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
            || as_owner "$bindir/createdb" -h "$dir" -p "$port" -U postgres "$db"
    fi
    url
}

case "$cmd" in
    start) start ;;
    url) url ;;
    stop) if running; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi ;;
    wipe)
        if [ -f "$dir/data/PG_VERSION" ] && running; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
        rm -rf "$dir" ;;
    *) say "unknown command $cmd"; exit 2 ;;
esac

#!/bin/bash
# The entrypoint of packaging/postgres.Containerfile, after the official postgres image's:
# on the first start (an empty $PGDATA) initdb with POSTGRES_USER and its password, create
# POSTGRES_DB, allow password logins from the network; then run postgres in the foreground as
# the container's main process.
set -Eeuo pipefail

say() { printf 'postgres-entrypoint: %s\n' "$*" >&2; }

# `podman run IMAGE -c shared_buffers=256MB` means `postgres -c …`.
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
# Anything else (bash, psql, …) runs as asked.
if [ "$1" != postgres ]; then exec "$@"; fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
    # The volume may come in owned by root (a bind mount, a fresh volume): give it to postgres,
    # then become postgres for the rest.
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    chmod 2775 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        [ -z "${POSTGRES_PASSWORD:-}" ] || { say "set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, not both"; exit 1; }
        POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
    fi
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        say "the database is not initialised and no superuser password is set:"
        say "set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust"
        say "to allow every connection without a password (never beyond a private network)."
        exit 1
    fi
    say "initialising $PGDATA (user $user, database $db)"
    pwfile=$(mktemp)
    trap 'rm -f "$pwfile"' EXIT
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments, as in the official image.
    initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
    rm -f "$pwfile"
    printf '\n# postgres-entrypoint\nlisten_addresses = '"'*'"'\n' >>"$PGDATA/postgresql.conf"
    printf '\n# postgres-entrypoint: the container network\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    # A server on the unix socket only, so nobody connects before the database exists.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" \
        -w -t 60 start >/dev/null
    if [ "$db" != postgres ]; then
        # :"db" is psql's quoting of an identifier (any name the variable holds).
        echo 'CREATE DATABASE :"db";' \
            | psql -v ON_ERROR_STOP=1 -q --username="$user" --dbname=postgres --set db="$db"
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    say "initialised; starting"
fi

exec "$@"

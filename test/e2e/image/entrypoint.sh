#!/bin/sh
# Entrypoint of the e2e PostgreSQL image: the part of the official postgres image's contract that our chart uses.
# - runs as whatever non-root uid the pod gives it (the chart: 999, with fsGroup 999 on the volume);
# - POSTGRES_PASSWORD (required), POSTGRES_USER (default postgres), POSTGRES_DB (default $POSTGRES_USER), PGDATA;
# - initdb only when PGDATA holds no cluster yet; `chmod 700 $PGDATA` on every start, as the official image does;
# - then the server listens on all addresses, password (scram-sha-256) required over TCP.
set -eu

if [ "${1:-}" != postgres ]; then exec "$@"; fi
# As the official image: `postgres --version` (or --help, -V, --describe-config) starts and sets up nothing.
for arg in "$@"; do
  case $arg in -'?' | --help | --describe-config | -V | --version) exec "$@" ;; esac
done

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  echo "error: POSTGRES_PASSWORD is not set; the chart takes it from the Secret" >&2
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  echo "error: run this image as a non-root user (the chart runs it as uid 999)" >&2
  exit 1
fi

mkdir -p "$PGDATA"
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "initialising a new cluster in $PGDATA"
  # The password goes through a file that only this user can read, never through argv.
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # Single-user mode: no server is listening yet, so nobody can connect before the database exists.
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" |
      postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "cluster initialised"
fi
unset POSTGRES_PASSWORD
exec "$@"

#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster on loopback for the integration tests.
#   postgres.sh start DIR PORT   -> initdb + start (superuser "postgres", trust on the socket,
#                                   scram-sha-256 on TCP), role backup/backup-pw, db app
#   postgres.sh stop DIR         -> fast stop
# Must run as root (the cluster runs as the postgres user).
set -euo pipefail
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
cmd=$1 D=$2
case "$cmd" in
  start)
    PORT=$3
    mkdir -p "$D/sock"; chmod 755 "$D"; chown -R postgres:postgres "$D"
    echo pg-super-pw > "$D/pw"; chown postgres "$D/pw"; chmod 600 "$D/pw"
    runuser -u postgres -- "$BIN/initdb" -D "$D/data" -U postgres --pwfile="$D/pw" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    runuser -u postgres -- "$BIN/pg_ctl" -D "$D/data" -l "$D/log" -w -t 60 \
      -o "-p $PORT -k $D/sock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
    psql -X -q -h "$D/sock" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE backup LOGIN SUPERUSER PASSWORD 'backup-pw'" -c "CREATE DATABASE app OWNER backup"
    ;;
  stop)
    [ -f "$D/data/postmaster.pid" ] && runuser -u postgres -- "$BIN/pg_ctl" -D "$D/data" -m "${3:-fast}" -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR [mode]" >&2; exit 2;;
esac

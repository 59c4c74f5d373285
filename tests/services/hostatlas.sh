#!/usr/bin/env bash
# Strict fake of the HostAtlas API (hostatlas_fake.py, stdlib Python 3) on loopback, in memory:
# one port serves both the auth and the api base URL; switches and the control API
# (/_fake/config, /_fake/reset, /_fake/requests, /_fake/state) are described in the .py.
#   hostatlas.sh start DIR PORT [flags...]  -> pid in DIR/pid, log in DIR/log
#   hostatlas.sh stop DIR                   -> waits until the process is gone
set -euo pipefail
source "$(dirname "$0")/lib.sh"
case "$1" in
  start)
    D=$2 PORT=$3; shift 3
    mkdir -p "$D"
    : > "$D/log"
    python3 "$(dirname "$0")/hostatlas_fake.py" --port "$PORT" "$@" >"$D/log" 2>&1 &
    pid=$!
    echo "$pid" > "$D/pid"
    # It logs a line once bound: so a bad flag or a port taken by another process fails at once.
    for _ in $(seq 1 600); do
      grep -q '^hostatlas_fake listening' "$D/log" && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    grep -q '^hostatlas_fake listening' "$D/log" && wait_tcp "$PORT" "$D/log" && exit 0
    kill "$pid" 2>/dev/null || true
    echo "hostatlas fake did not start on port $PORT: $(cat "$D/log")" >&2
    exit 1
    ;;
  stop)
    if [ -f "$2/pid" ]; then
      pid=$(cat "$2/pid"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    ;;
  *) echo "usage: $0 start DIR PORT [flags...] | stop DIR" >&2; exit 2;;
esac

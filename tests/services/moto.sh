#!/usr/bin/env bash
# moto_server (Python moto, full multipart API incl. ListMultipartUploads,
# ListParts and Abort; no signature checks) on loopback, in memory.
#   moto.sh start DIR PORT   -> pid in DIR/pid
#   moto.sh stop DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
case "$1" in
  start)
    D=$2 PORT=$3
    mkdir -p "$D"
    command -v moto_server >/dev/null || { echo "moto_server not installed (pip moto)" >&2; exit 1; }
    moto_server -H 127.0.0.1 -p "$PORT" >"$D/log" 2>&1 &
    echo $! > "$D/pid"
    wait_tcp "$PORT" "$D/log"
    ;;
  stop)
    [ -f "$2/pid" ] && { kill "$(cat "$2/pid")" 2>/dev/null || true; } ;;
esac

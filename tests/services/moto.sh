#!/usr/bin/env bash
# moto_server (Python moto, full multipart API incl. ListMultipartUploads,
# ListParts and Abort; no signature checks) on loopback, in memory.
#   moto.sh start DIR PORT   -> pid in DIR/pid
#   moto.sh stop DIR
set -euo pipefail
case "$1" in
  start)
    D=$2 PORT=$3
    mkdir -p "$D"
    command -v moto_server >/dev/null || { echo "moto_server not installed (pip moto)" >&2; exit 1; }
    moto_server -H 127.0.0.1 -p "$PORT" >"$D/log" 2>&1 &
    echo $! > "$D/pid"
    for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && exit 0; sleep 0.05; done
    echo "moto did not start: $(cat "$D/log")" >&2; exit 1
    ;;
  stop)
    [ -f "$2/pid" ] && { kill "$(cat "$2/pid")" 2>/dev/null || true; } ;;
esac

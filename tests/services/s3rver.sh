#!/usr/bin/env bash
# @20minutes/s3rver 4.0.4 (verifies SigV4 signatures) on loopback.
#   s3rver.sh install              -> npm install into /opt/hab-s3rver (idempotent)
#   s3rver.sh start DIR PORT BUCKET -> data in DIR, prints nothing; pid in DIR/pid
#   s3rver.sh stop DIR
# Credentials: S3RVER / S3RVER. Pagination needs --openssl-legacy-provider.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PKG=/opt/hab-s3rver
case "$1" in
  install)
    if [ ! -f "$PKG/node_modules/@20minutes/s3rver/lib/cli.js" ]; then
      mkdir -p "$PKG"
      (cd "$PKG" && npm install --silent --no-audit --no-fund --no-save @20minutes/s3rver@4.0.4 >/dev/null)
    fi
    printf "require('%s/node_modules/@20minutes/s3rver/lib/cli').parseAsync(process.argv);\n" "$PKG" > "$PKG/s3rver-cli.js"
    ;;
  start)
    D=$2 PORT=$3 BUCKET=$4
    mkdir -p "$D/data"
    node --openssl-legacy-provider "$PKG/s3rver-cli.js" -d "$D/data" -a 127.0.0.1 -p "$PORT" --silent \
      --configure-bucket "$BUCKET" >"$D/log" 2>&1 &
    echo $! > "$D/pid"
    wait_tcp "$PORT" "$D/log"
    ;;
  stop)
    [ -f "$2/pid" ] && { kill "$(cat "$2/pid")" 2>/dev/null || true; } ;;
esac

#!/usr/bin/env bash
# What the HostAtlas integration adds to a run (issue 18): the same small
# backup, alternating, standalone (no auth.yml, no heartbeat) and
# HostAtlas-aware against the local fake (auth.yml, heartbeat: slug check,
# ping start, ping ok, run push). Prints the medians and the difference;
# then one run with the fake hanging every request, against its documented
# bound (docs/hostatlas.md: at most 35 s after the backup; 20 s measured).
#
# usage: bench/hostatlas_overhead.sh BINARY [RUNS]
set -euo pipefail
BIN=$(readlink -f "$1"); RUNS=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /var/tmp/hab-habench.XXXXXX)
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bash "$HERE/../tests/services/hostatlas.sh" start "$W/fake" "$P" --interval 1
trap 'bash "$HERE/../tests/services/hostatlas.sh" stop "$W/fake"; rm -rf "$W"' EXIT
F=http://127.0.0.1:$P
export HOSTATLAS_BACKUP_LOG_DIR=$W/logs XDG_RUNTIME_DIR=$W HOSTATLAS_BACKUP_LOCK_DIR=$W/lock
export HOSTATLAS_API_URL=$F HOSTATLAS_AUTH_URL=$F
mkdir -m 0700 "$W/lock"; mkdir -p "$W/src"; seq 1 200000 > "$W/src/n.txt"
"$BIN" keygen -o "$W/key" 2>/dev/null
R=$(age-keygen -y "$W/key")
KEY=$(curl -s -X POST -H 'Content-Type: application/json' --data '{"name":"bench"}' "$F/_fake/keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
KID=$(curl -s "$F/_fake/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["id"])')
mkdir -m 0700 "$W/auth"
printf 'api_url: "%s"\napi_key: "%s"\nkey_id: "%s"\naccount: "bench"\ncreated_at: "2026-11-29T00:00:00Z"\n' "$F" "$KEY" "$KID" > "$W/auth/auth.yml"
chmod 600 "$W/auth/auth.yml"
SLUG=$(curl -s -X POST -H 'Content-Type: application/json' --data '{"name":"bench"}' "$F/_fake/heartbeats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["slug"])')
base="sources:
  - {type: files, name: bench, paths: [$W/src]}
destination: {type: local, path: $W/dest}
encryption: {recipient: $R}"
printf '%s\n' "$base" > "$W/plain.yml"
printf '%s\nheartbeat: %s\n' "$base" "$SLUG" > "$W/aware.yml"
one() { # one CONFIG AUTH_FILE -> seconds
  local t0 t1
  sleep 1.05  # archive names have one-second resolution
  t0=$(date +%s.%N)
  HOSTATLAS_AUTH_FILE=$2 "$BIN" --config "$1" run > /dev/null 2> "$W/err" || { cat "$W/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 -c "print($t1 - $t0)"
}
: > "$W/plain.t"; : > "$W/aware.t"
for _ in $(seq 1 "$RUNS"); do
  one "$W/plain.yml" "$W/none/auth.yml" >> "$W/plain.t"
  one "$W/aware.yml" "$W/auth/auth.yml" >> "$W/aware.t"
done
[ -s "$W/err" ] && { echo "the aware run printed: $(cat "$W/err")" >&2; exit 1; }
pushes=$(curl -s "$F/_fake/state" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')
[ "$pushes" = "$RUNS" ] || { echo "expected $RUNS pushes, the fake has $pushes" >&2; exit 1; }
python3 - "$W/plain.t" "$W/aware.t" <<'PY'
import statistics, sys
p = [float(x) for x in open(sys.argv[1])]; a = [float(x) for x in open(sys.argv[2])]
mp, ma = statistics.median(p), statistics.median(a)
print(f"standalone      median {mp*1000:7.1f} ms  (n={len(p)}, min {min(p)*1000:.1f}, max {max(p)*1000:.1f})")
print(f"hostatlas-aware median {ma*1000:7.1f} ms  (n={len(a)}, min {min(a)*1000:.1f}, max {max(a)*1000:.1f})")
print(f"added by the integration: {(ma-mp)*1000:.1f} ms (target < 100 ms)")
PY
curl -s -X POST --data '{"hang": true}' "$F/_fake/config" > /dev/null
h=$(one "$W/aware.yml" "$W/auth/auth.yml")
curl -s -X POST --data '{"hang": false}' "$F/_fake/config" > /dev/null
python3 -c "print(f'API hanging: run took {$h:.1f} s (documented bound: 35 s after the backup)')"

#!/usr/bin/env bash
# S3 destination against two independent real servers on loopback:
# @20minutes/s3rver (checks SigV4) and moto_server (full multipart API),
# cross-checked with the aws CLI and the stock age/zstd/tar.
source "$(dirname "$0")/../lib/e2e.sh"
HERE=$(cd "$(dirname "$0")/.." && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SV=$(mktemp -d /tmp/hab-s3svc.XXXXXX)
cleanup() {
  bash "$HERE/services/s3rver.sh" stop "$SV/s3rver" || true
  bash "$HERE/services/moto.sh" stop "$SV/moto" || true
  [ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null || true
  rm -rf "$SV" "$T"
}
trap cleanup EXIT
S3P=$(free_port); MOTOP=$(free_port); PROXYP=$(free_port)
bash "$HERE/services/s3rver.sh" install || fail "npm install of @20minutes/s3rver failed"
bash "$HERE/services/s3rver.sh" start "$SV/s3rver" "$S3P" ci-bucket || fail "s3rver did not start"
bash "$HERE/services/moto.sh" start "$SV/moto" "$MOTOP" || fail "moto_server did not start"
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
AWS_S3RVER=(env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url "http://127.0.0.1:$S3P")
AWS_MOTO=(env AWS_ACCESS_KEY_ID=moto AWS_SECRET_ACCESS_KEY=moto aws --endpoint-url "http://127.0.0.1:$MOTOP")
"${AWS_MOTO[@]}" s3 mb s3://moto-bucket >/dev/null
ok "s3rver on $S3P and moto on $MOTOP are up"

S=$T/src; mkdir -p "$S"
head -c 14000000 /dev/urandom > "$S/random.bin"
seq 1 400000 > "$S/seq.txt"
s3_config() { # s3_config FILE PORT BUCKET SECRET [extra yaml]
  cat > "$1" <<YAML
sources:
  - {type: files, name: tree, paths: [$S]}
destination:
  type: s3
  endpoint: http://127.0.0.1:$2
  region: auto
  bucket: $3
  prefix: "{{ hostname }}/"
  access_key_id: ${S3_KEY:-S3RVER}
  secret_access_key: $4
  part_size: 5MiB
  concurrency: 3
encryption: {recipient: $RECIPIENT, identity_file: $T/key.txt}
${5:-}
YAML
}
HOST=$(hostname)

# 1. Multipart backup to the signature-checking server; aws CLI downloads it
#    and the stock tools read it.
s3_config "$T/s3a.yml" "$S3P" ci-bucket S3RVER 'verification: {mode: deep}'
"$BIN" --config "$T/s3a.yml" run >"$T/out" 2>"$T/err" || fail "backup to s3rver failed: $(cat "$T/err")"
grep -q "verification ok" "$T/out" || fail "no verification: $(cat "$T/out" "$T/err")"
KEY=$("${AWS_S3RVER[@]}" s3 ls "s3://ci-bucket/$HOST/" | awk '{print $4}' | grep '^hostatlas-backup-tree-')
[ -n "$KEY" ] || fail "no archive listed by aws"
"${AWS_S3RVER[@]}" s3 cp --quiet "s3://ci-bucket/$HOST/$KEY" "$T/dl.age"
age -d -i "$T/key.txt" "$T/dl.age" | zstd -d | tar -xf - -C "$T" --one-top-level=stock
cmp "$S/random.bin" "$T/stock$S/random.bin" || fail "stock tools read different data"
ok "multipart upload to s3rver (SigV4 checked): aws s3 cp + age -d | zstd -d | tar -x give the tree back"

# 2. Our restore from S3 (parallel ranged GETs).
"$BIN" --config "$T/s3a.yml" restore --to "$T/r1" 2>"$T/err" || fail "restore failed: $(cat "$T/err")"
cmp "$S/random.bin" "$T/r1/tree$S/random.bin" && cmp "$S/seq.txt" "$T/r1/tree$S/seq.txt" || fail "restore differs"
ok "restore from s3rver matches"

# 3. An object the aws CLI uploaded restores with ours.
NEWKEY="hostatlas-backup-tree-$(date -u -d "+1 year" +%Y%m%dT000000Z).tar.zst.age"  # a year ahead
"${AWS_S3RVER[@]}" s3 cp --quiet "$T/dl.age" "s3://ci-bucket/$HOST/$NEWKEY"
"$BIN" --config "$T/s3a.yml" restore --to "$T/r2" --from "$HOST/$NEWKEY" 2>"$T/err" || fail "restore of aws upload: $(cat "$T/err")"
cmp "$S/random.bin" "$T/r2/tree$S/random.bin" || fail "restore of the aws-uploaded object differs"
ok "an archive uploaded by aws s3 cp restores with ours"

# 4. Retention on S3: keep_last 2 deletes our oldest, never a foreign object.
echo foreign > "$T/foreign"
"${AWS_S3RVER[@]}" s3 cp --quiet "$T/foreign" "s3://ci-bucket/$HOST/notes.txt"
s3_config "$T/s3r.yml" "$S3P" ci-bucket S3RVER 'retention: {keep_last: 2}'
for i in 1 2; do sleep 1.1; "$BIN" --config "$T/s3r.yml" run 2>/dev/null || fail "run $i failed"; done
left=$("${AWS_S3RVER[@]}" s3 ls "s3://ci-bucket/$HOST/" | awk '{print $4}')
# The aws-uploaded archive is dated a year ahead: a name in the future is neither
# counted nor deleted (docs/config.md), so two others stay beside it.
[ "$(echo "$left" | grep '^hostatlas-backup-tree-' | grep -vc "^$NEWKEY\$")" = 2 ] || fail "retention left: $left"
echo "$left" | grep -q "^$NEWKEY\$" || fail "the future-dated (aws-uploaded, a year ahead) archive was deleted"
echo "$left" | grep -q '^notes.txt$' || fail "foreign object deleted"
ok "retention on S3 keeps the two newest, a future-dated name and foreign objects"

# 5. Status lists the S3 destination (every archive, the future one too).
"$BIN" --config "$T/s3r.yml" status | grep -q "tree: 3 archives" || fail "status on s3"
ok "status snapshot of an S3 destination"

# 6. Wrong secret: pre-flight exit 2 naming the 403 and the server's code.
s3_config "$T/s3w.yml" "$S3P" ci-bucket wrong-secret
expect_rc 2 "$BIN" --config "$T/s3w.yml" run 2>"$T/err"
grep -q "HTTP 403" "$T/err" || fail "no 403: $(cat "$T/err")"
grep -q "SignatureDoesNotMatch" "$T/err" || fail "server code missing: $(cat "$T/err")"
! grep -q "wrong-secret" "$T/err" || fail "the secret leaked into the error"
"$BIN" --config "$T/s3w.yml" run --dry-run 2>/dev/null | grep -q "wrong-secret" && fail "secret in the dry-run plan"
ok "wrong secret: pre-flight exit 2 with HTTP 403 SignatureDoesNotMatch, secret never printed"

# Issue 20.11: https to an endpoint that speaks plain HTTP: the TLS error
# says so.
sed "s|^  endpoint: http://127.0.0.1:$S3P\$|  endpoint: https://127.0.0.1:$S3P|" "$T/s3w.yml" > "$T/s3tls.yml"
grep -q "endpoint: https://" "$T/s3tls.yml" || fail "s3tls.yml"
expect_rc 2 "$BIN" --config "$T/s3tls.yml" run --dry-run >/dev/null 2>"$T/err"
grep -q "hint: the endpoint probably speaks plain HTTP, not HTTPS (check the port)" "$T/err" || fail "https to plain http: $(cat "$T/err")"
ok "https to an endpoint that speaks plain HTTP: pre-flight exit 2, the hint says so"

# 7. Missing bucket: pre-flight exit 2.
s3_config "$T/s3m.yml" "$S3P" no-such-bucket S3RVER
expect_rc 2 "$BIN" --config "$T/s3m.yml" run 2>"$T/err"
grep -q "no-such-bucket does not exist" "$T/err" || fail "missing bucket: $(cat "$T/err")"
ok "missing bucket: pre-flight exit 2"

# 8. moto: a failing run aborts its multipart upload (nothing left open, no object).
S3_KEY=moto s3_config "$T/s3moto.yml" "$MOTOP" moto-bucket moto
expect_rc 1 env HOSTATLAS_BACKUP_FAULT="store:4" "$BIN" --config "$T/s3moto.yml" run 2>/dev/null
[ -z "$("${AWS_MOTO[@]}" s3api list-multipart-uploads --bucket moto-bucket --query 'Uploads[].Key' --output text | grep -v None)" ] \
  || fail "a multipart upload was left open"
[ -z "$("${AWS_MOTO[@]}" s3 ls "s3://moto-bucket/$HOST/" | grep hostatlas-backup-tree)" ] || fail "object visible after failure"
ok "moto: a failed run aborts its multipart upload and leaves no object"

# Fault proxy in front of moto: start_proxy LOG [fault_proxy.py options].
start_proxy() {
  local log=$1; shift
  python3 "$HERE/services/fault_proxy.py" "$PROXYP" "$MOTOP" "$@" > "$log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PROXYP") 2>/dev/null && break; sleep 0.05; done
}
# The newest tree archive in moto equals what the newest run logged and the
# stock tools read it: check_moto_object LOCAL_COPY.
check_moto_object() {
  local key want
  key=$("${AWS_MOTO[@]}" s3 ls "s3://moto-bucket/$HOST/" | awk '{print $4}' | grep '^hostatlas-backup-tree-' | tail -1)
  "${AWS_MOTO[@]}" s3 cp --quiet "s3://moto-bucket/$HOST/$key" "$1"
  want=$(python3 -c "import json,glob,os; f=max(glob.glob('$T/logs/run-*.json'), key=os.path.getmtime); print(json.load(open(f))['sources'][0]['sha256'])")
  [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$want" ] || fail "object differs from what we wrote"
  age -d -i "$T/key.txt" "$1" | zstd -d | tar -tf - >/dev/null || fail "object unreadable"
}

# 9. moto behind a fault proxy: 503s and a dropped connection on parts are
#    retried; the object is intact.
start_proxy "$T/proxy.log" --fail-parts 2 --drop-parts 1
S3_KEY=moto s3_config "$T/s3p.yml" "$PROXYP" moto-bucket moto
sleep 1.1
"$BIN" --config "$T/s3p.yml" run 2>"$T/err" || fail "run through the fault proxy failed: $(cat "$T/err")"
grep -q "injected 503" "$T/proxy.log" && grep -q "dropped connection" "$T/proxy.log" || fail "proxy injected nothing: $(cat "$T/proxy.log")"
check_moto_object "$T/moto.age"
ok "503 SlowDown and a dropped connection on parts: retried, object intact (sha256 matches the run log)"
kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true

# 9b. Slow and stalled answers: two parts answered 1.5 s late (no retry
#     needed), one part not answered for 70 s (timeout_seconds: 3 -> retried
#     after 3 s; without the timeout the run would take over 60 s).
start_proxy "$T/proxy2.log" --fail-parts 0 --drop-parts 0 --stall-parts 1 --stall-ms 70000 \
  --delay-parts 2 --delay-ms 1500
S3_KEY=moto s3_config "$T/s3d.yml" "$PROXYP" moto-bucket moto
sed -i 's/^  concurrency: 3$/  concurrency: 3\n  timeout_seconds: 3/' "$T/s3d.yml"
grep -q "timeout_seconds: 3" "$T/s3d.yml" || fail "test config lacks timeout_seconds"
sleep 1.1
s=$(date +%s)
"$BIN" --config "$T/s3d.yml" run 2>"$T/err" || fail "run through the slow proxy failed: $(cat "$T/err")"
e=$(date +%s)
grep -q "stalled part request" "$T/proxy2.log" && [ "$(grep -c "delayed part request" "$T/proxy2.log")" = 2 ] \
  || fail "proxy delayed/stalled nothing: $(cat "$T/proxy2.log")"
[ $((e - s)) -lt 40 ] || fail "a stalled part took $((e - s)) s: the 3 s timeout did not apply"
check_moto_object "$T/moto2.age"
ok "slow (1.5 s) and stalled (timeout 3 s) part answers: retried, object intact"

# 10. s3rver killed mid-upload: exit 1, and after a restart no object at the key.
s3_config "$T/s3k.yml" "$S3P" ci-bucket S3RVER
HOSTATLAS_BACKUP_FAULT="tar:delay=400" "$BIN" --config "$T/s3k.yml" run >/dev/null 2>"$T/err" &
pid=$!
sleep 1.5
kill -9 "$(cat "$SV/s3rver/pid")"
set +e; wait $pid; rc=$?; set -e
[ "$rc" = 1 ] || fail "run with a dead server exited $rc: $(cat "$T/err")"
bash "$HERE/services/s3rver.sh" start "$SV/s3rver" "$S3P" ci-bucket || fail "s3rver restart"
killed_key=$(python3 -c "import json,glob,os; f=max(glob.glob('$T/logs/run-*.json'), key=os.path.getmtime); print(json.load(open(f))['sources'][0]['archive_key'])")
[ -n "$killed_key" ] || fail "no run log for the killed run"
if "${AWS_S3RVER[@]}" s3api head-object --bucket ci-bucket --key "$killed_key" >/dev/null 2>&1; then
  fail "an object of the killed run is visible at $killed_key"
fi
ok "server killed mid-upload: exit 1, no object at the key"
echo "$CHECKS passed, 0 failed"

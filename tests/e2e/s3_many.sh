#!/usr/bin/env bash
# Twelve files sources to S3 under the memory budget (issue 20): both real
# servers (s3rver checks SigV4, moto has the full multipart API), at the
# default memory_limit and at 48 MiB. Each source holds 6 MiB of random data,
# so with part_size 5MiB every archive is a multipart upload. Backup and
# restore must succeed, and the process's peak RSS stay under
# memory_limit + 64 MiB.
source "$(dirname "$0")/../lib/e2e.sh"
HERE=$(cd "$(dirname "$0")/.." && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SV=$(mktemp -d /tmp/hab-s3svc.XXXXXX)
cleanup() {
  bash "$HERE/services/s3rver.sh" stop "$SV/s3rver" || true
  bash "$HERE/services/moto.sh" stop "$SV/moto" || true
  rm -rf "$SV" "$T"
}
trap cleanup EXIT
mkdir -m 0700 "$T/lock"; export HOSTATLAS_BACKUP_LOCK_DIR=$T/lock
S3P=$(free_port); MOTOP=$(free_port)
bash "$HERE/services/s3rver.sh" install || fail "npm install of @20minutes/s3rver failed"
bash "$HERE/services/s3rver.sh" start "$SV/s3rver" "$S3P" ci-bucket || fail "s3rver did not start"
bash "$HERE/services/moto.sh" start "$SV/moto" "$MOTOP" || fail "moto_server did not start"
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
AWS_S3RVER=(env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url "http://127.0.0.1:$S3P")
AWS_MOTO=(env AWS_ACCESS_KEY_ID=moto AWS_SECRET_ACCESS_KEY=moto aws --endpoint-url "http://127.0.0.1:$MOTOP")
"${AWS_MOTO[@]}" s3 mb s3://moto-bucket >/dev/null
ok "s3rver on $S3P and moto on $MOTOP are up"

for i in $(seq 1 12); do
  mkdir -p "$T/src/s$i/d"
  head -c 6291456 /dev/urandom > "$T/src/s$i/r.bin"
  seq 1 $((i * 2000)) > "$T/src/s$i/d/n.txt"
done
HOST=$(hostname)

# many_config FILE PORT BUCKET KEY CASE [memory_limit]
many_config() {
  {
    echo "sources:"
    for i in $(seq 1 12); do echo "  - {type: files, name: s$i, paths: [$T/src/s$i]}"; done
    cat <<YAML
destination:
  type: s3
  endpoint: http://127.0.0.1:$2
  region: auto
  bucket: $3
  prefix: "{{ hostname }}/$5/"
  access_key_id: $4
  secret_access_key: $4
  part_size: 5MiB
encryption: {recipient: $RECIPIENT, identity_file: $T/key.txt}
YAML
    if [ -n "${6:-}" ]; then echo "performance: {memory_limit: $6}"; fi
  } > "$1"
}
# peak_kib TIME_FILE: "Maximum resident set size" of /usr/bin/time -v, in KiB.
peak_kib() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }

# many_case NAME PORT BUCKET KEY LIMIT_MIB [memory_limit]
many_case() {
  local name=$1 port=$2 bucket=$3 key=$4 limit=$5 ml=${6:-} aws keys k etag peak_run peak_restore
  if [ "$bucket" = ci-bucket ]; then aws=("${AWS_S3RVER[@]}"); else aws=("${AWS_MOTO[@]}"); fi
  many_config "$T/$name.yml" "$port" "$bucket" "$key" "$name" "$ml"
  "$BIN" --config "$T/$name.yml" run --dry-run > "$T/out" 2>"$T/err" || fail "$name: dry run: $(cat "$T/err")"
  grep -qE "^  [0-9]+ at once within memory_limit $limit" "$T/out" || fail "$name: plan: $(grep 'at once' "$T/out")"
  /usr/bin/time -v -o "$T/time.run" "$BIN" --debug --config "$T/$name.yml" run > "$T/out" 2>"$T/err" \
    || fail "$name: backup of 12 sources failed: $(cat "$T/err")"
  [ "$(grep -c "kind=store .*commit=CompleteMultipartUpload" "$T/out" "$T/err" | awk -F: '{n += $NF} END {print n}')" = 12 ] \
    || fail "$name: the plan does not commit the 12 archives as multipart uploads: $(grep 'kind=store' "$T/out" "$T/err")"
  [ "$(grep -c '^hostatlas-backup: s[0-9]*: ok ' "$T/out")" = 12 ] || fail "$name: not 12 ok sources: $(cat "$T/out")"
  keys=$("${aws[@]}" s3 ls "s3://$bucket/$HOST/$name/" | awk '{print $4}' | grep '^hostatlas-backup-s[0-9]*-.*\.tar\.zst\.age$')
  [ "$(echo "$keys" | wc -l)" = 12 ] || fail "$name: the bucket holds: $keys"
  # moto gives a multipart object the ETag "<md5>-<parts>" as S3 does
  # (s3rver gives a plain MD5, so there the plan above is the evidence).
  if [ "$bucket" = moto-bucket ]; then
    for k in $keys; do
      etag=$("${aws[@]}" s3api head-object --bucket "$bucket" --key "$HOST/$name/$k" --query ETag --output text)
      [[ $etag == *-2\"* ]] || fail "$name: $k is not a 2-part multipart upload (ETag $etag)"
    done
  fi
  /usr/bin/time -v -o "$T/time.restore" "$BIN" --config "$T/$name.yml" restore --to "$T/r-$name" > "$T/out" 2>"$T/err" \
    || fail "$name: restore of 12 sources failed: $(cat "$T/err")"
  [ "$(ls "$T/r-$name" | wc -l)" = 12 ] || fail "$name: restore gave $(ls "$T/r-$name")"
  for i in $(seq 1 12); do
    diff -r "$T/src/s$i" "$T/r-$name/s$i$T/src/s$i" >/dev/null || fail "$name: s$i restored differently"
  done
  rm -rf "$T/r-$name"
  peak_run=$(peak_kib "$T/time.run"); peak_restore=$(peak_kib "$T/time.restore")
  [ -n "$peak_run" ] && [ -n "$peak_restore" ] || fail "$name: no peak RSS from /usr/bin/time -v"
  [ "$peak_run" -lt $(((limit + 64) * 1024)) ] || fail "$name: backup peak RSS $((peak_run / 1024)) MiB >= $limit + 64 MiB"
  [ "$peak_restore" -lt $(((limit + 64) * 1024)) ] || fail "$name: restore peak RSS $((peak_restore / 1024)) MiB >= $limit + 64 MiB"
  ok "$name: 12 sources x 6 MiB, multipart, backup and restore; peak RSS $((peak_run / 1024)) / $((peak_restore / 1024)) MiB < $limit + 64 MiB"
}
many_case s3rver-default "$S3P" ci-bucket S3RVER 256
many_case moto-default "$MOTOP" moto-bucket moto 256
many_case s3rver-48 "$S3P" ci-bucket S3RVER 48 48MiB
many_case moto-48 "$MOTOP" moto-bucket moto 48 48MiB
echo "$CHECKS passed, 0 failed"

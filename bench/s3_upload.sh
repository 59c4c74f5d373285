#!/usr/bin/env bash
# Upload a 2 GiB archive to a local S3 server with our binary and with
# `aws s3 cp` (same part size and concurrency), alternating (who goes first
# alternates too; the bucket is emptied, untimed, after every upload).
# usage: bench/s3_upload.sh BINARY [RUNS] [SIZE_MIB] [s3rver|moto]
# S3_DIR=DIR keeps the server's data in DIR (e.g. under /dev/shm, to take the
# server's disk out of the measurement); default: next to the other files.
set -euo pipefail
BIN=$(readlink -f "$1"); RUNS=${2:-3}; MIB=${3:-2048}; SERVER=${4:-s3rver}
HERE=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /var/tmp/hab-s3bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
S3=${S3_DIR:-$W/s3}
trap 'bash "$HERE/tests/services/$SERVER.sh" stop "$S3"; rm -rf "$W" "$S3"' EXIT
export HOSTATLAS_BACKUP_LOG_DIR=$W/logs XDG_RUNTIME_DIR=$W AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
case "$SERVER" in
  s3rver)
    bash "$HERE/tests/services/s3rver.sh" install
    bash "$HERE/tests/services/s3rver.sh" start "$S3" "$PORT" bench ;;
  moto)
    bash "$HERE/tests/services/moto.sh" start "$S3" "$PORT"
    aws --endpoint-url "http://127.0.0.1:$PORT" s3 mb s3://bench >/dev/null ;;
  *) echo "unknown server $SERVER" >&2; exit 2 ;;
esac
mkdir -p "$W/src" "$W/home/.aws"
# Incompressible data: the archive is as large as the source, so both sides upload ~2 GiB.
head -c $((MIB << 20)) /dev/urandom > "$W/src/blob"
printf '[default]\ns3 =\n    multipart_threshold = 16MB\n    multipart_chunksize = 16MB\n    max_concurrent_requests = 4\n' > "$W/home/.aws/config"
"$BIN" keygen -o "$W/key" 2>/dev/null
cat > "$W/c.yml" <<YAML
sources: [{type: files, name: blob, paths: [$W/src]}]
destination: {type: s3, endpoint: "http://127.0.0.1:$PORT", bucket: bench, access_key_id: S3RVER, secret_access_key: S3RVER, part_size: 16MiB, concurrency: 4}
encryption: {recipient: $(age-keygen -y "$W/key")}
verification: {mode: size}
YAML
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ours() {
  /usr/bin/time -f "%e %M" -o "$W/t" "$BIN" --config "$W/c.yml" run >/dev/null 2>&1
  read -r secs rss < "$W/t"; echo "$secs" >> "$W/ours"; echo "$rss" >> "$W/rss"
}
theirs() {
  local s e
  s=$(date +%s.%N)
  HOME=$W/home aws --endpoint-url "http://127.0.0.1:$PORT" s3 cp --quiet "$W/src/blob" "s3://bench/aws-$1"
  e=$(date +%s.%N); echo "$e - $s" | bc >> "$W/aws"
}
# Untimed, between runs: empty the bucket, so every run meets a server
# holding the same (nothing) and tmpfs never fills.
empty() { HOME=$W/home aws --endpoint-url "http://127.0.0.1:$PORT" s3 rm --quiet --recursive s3://bench/ >/dev/null; }
# Alternate who goes first: the run after an upload meets the server still
# flushing it, and that must not always be the same client.
for i in $(seq 1 "$RUNS"); do
  if (( i % 2 )); then
    sleep 1.1; ours; empty; sleep 1.1; theirs "$i"; empty
  else
    sleep 1.1; theirs "$i"; empty; sleep 1.1; ours; empty
  fi
done
mo=$(median < "$W/ours"); ma=$(median < "$W/aws")
printf "s3 upload of %d MiB to $SERVER: ours %.2fs (backup incl. tar+zstd+age), aws s3 cp %.2fs, aws/ours %.2fx, our peak RSS %d MiB\n" \
  "$MIB" "$mo" "$ma" "$(echo "$ma / $mo" | bc -l)" "$(( $(sort -n "$W/rss" | tail -1) / 1024 ))"
echo "runs (s): ours $(paste -sd' ' "$W/ours") | aws $(paste -sd' ' "$W/aws")"

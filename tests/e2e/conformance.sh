#!/usr/bin/env bash
# The destination conformance suite (destinations/conformance_test.cc)
# against the real servers: @20minutes/s3rver (checks SigV4; has no
# ListMultipartUploads, so it must report no orphans), moto_server (the
# full multipart API) and a private OpenSSH sshd (SFTP). memory, faulty and
# local run under ctest directly.
source "$(dirname "$0")/../lib/e2e.sh"
HERE=$(cd "$(dirname "$0")/.." && pwd)
SUITE=$(dirname "$BIN")/conformance_test
[ -x "$SUITE" ] || fail "no conformance_test binary next to $BIN"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SV=$(mktemp -d /tmp/hab-conf.XXXXXX)
cleanup() {
  bash "$HERE/services/s3rver.sh" stop "$SV/s3rver" || true
  bash "$HERE/services/moto.sh" stop "$SV/moto" || true
  bash "$HERE/services/sshd.sh" stop "$SV/ssh" || true
  rm -rf "$SV" "$T"
}
trap cleanup EXIT
S3P=$(free_port); MOTOP=$(free_port)
bash "$HERE/services/s3rver.sh" install || fail "npm install of @20minutes/s3rver failed"
bash "$HERE/services/s3rver.sh" start "$SV/s3rver" "$S3P" conf-bucket || fail "s3rver did not start"
bash "$HERE/services/moto.sh" start "$SV/moto" "$MOTOP" || fail "moto_server did not start"
env AWS_ACCESS_KEY_ID=moto AWS_SECRET_ACCESS_KEY=moto AWS_DEFAULT_REGION=us-east-1 \
  aws --endpoint-url "http://127.0.0.1:$MOTOP" s3 mb s3://conf-bucket >/dev/null || fail "moto bucket"

HAB_CONFORMANCE_DEST=s3 HAB_S3_ENDPOINT="http://127.0.0.1:$S3P" HAB_S3_BUCKET=conf-bucket \
  HAB_S3_KEY=S3RVER HAB_S3_SECRET=S3RVER HAB_S3_NO_UPLOAD_LISTING=1 "$SUITE" --gtest_brief=1 >"$T/out" 2>&1 \
  || fail "conformance against s3rver: $(cat "$T/out")"
grep -q "PASSED.*9 tests" "$T/out" || fail "s3rver: $(cat "$T/out")"
ok "conformance suite against @20minutes/s3rver (SigV4 checked): 9 cases"
HAB_CONFORMANCE_DEST=s3 HAB_S3_ENDPOINT="http://127.0.0.1:$MOTOP" HAB_S3_BUCKET=conf-bucket \
  HAB_S3_KEY=moto HAB_S3_SECRET=moto "$SUITE" --gtest_brief=1 >"$T/out" 2>&1 \
  || fail "conformance against moto: $(cat "$T/out")"
grep -q "PASSED.*9 tests" "$T/out" || fail "moto: $(cat "$T/out")"
ok "conformance suite against moto_server (multipart API, orphan uploads found and aborted): 9 cases"
SSHP=$(free_port)
bash "$HERE/services/sshd.sh" start "$SV/ssh" "$SSHP" >/dev/null || fail "sshd did not start"
HAB_CONFORMANCE_DEST=sftp HAB_SFTP_HOST=127.0.0.1 HAB_SFTP_PORT="$SSHP" HAB_SFTP_USER=root \
  HAB_SFTP_KEY="$SV/ssh/client_ed25519" HAB_SFTP_KNOWN_HOSTS="$SV/ssh/known_hosts" HAB_SFTP_PATH="$SV/remote" \
  "$SUITE" --gtest_brief=1 >"$T/out" 2>&1 || fail "conformance against sshd: $(cat "$T/out")"
grep -q "PASSED.*9 tests" "$T/out" || fail "sshd: $(cat "$T/out")"
ok "conformance suite against OpenSSH sshd (SFTP, libssh2 1.11.1): 9 cases"
echo "$CHECKS passed, 0 failed"

#!/usr/bin/env bash
# The release in CI (issue 19), run by scripts/test.sh after the rest of the
# suite: scripts/release.sh builds both architectures from this commit into
# a scratch tree (its own checks run inside: ELF/ldd glibc only; version,
# keygen, a files -> local backup and restore in a Debian 12 minbase chroot
# for amd64 and under qemu-user for arm64; the published tree and the real
# installer), then every end-to-end script that drives the CLI runs against
# the amd64 release binary, as against the development build.
#
#   tests/release/ci.sh   # as root
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^project(hostatlas_backup VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$VERSION" ] || { echo "tests/release/ci.sh: no VERSION in CMakeLists.txt" >&2; exit 1; }
D=$(mktemp -d /var/tmp/hab-release-ci.XXXXXX)
chmod 0755 "$D"  # the non-root e2e checks run the binary as another user
trap 'rm -rf "$D"' EXIT
t0=$(date +%s)
HAB_DIST=$D/dist bash scripts/release.sh "$VERSION" --arch all
t1=$(date +%s)
BIN=$D/dist/backup/$VERSION/hostatlas-backup-linux-amd64
[ -x "$BIN" ] || { echo "tests/release/ci.sh: no $BIN" >&2; exit 1; }
"$BIN" version | grep -q "^hostatlas-backup $VERSION " || { echo "release binary: $("$BIN" version)" >&2; exit 1; }
# Every end-to-end script but conformance.sh, which drives the
# conformance_test binary next to the development build, not the CLI.
for t in backup_restore databases everyday failures hardening hostatlas install lifecycle s3 s3_many sftp; do
  echo "== e2e $t with the release binary"
  bash "tests/e2e/$t.sh" "$BIN"
done
echo "release in CI: build and checks $((t1 - t0)) s, end-to-end with the release binary $(( $(date +%s) - t1 )) s"

#!/usr/bin/env bash
# Installs everything hostatlas-backup needs to build and test on a fresh
# Debian 12 machine (run as root). Idempotent.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libtbb-dev libyaml-cpp-dev libzstd-dev libsodium-dev libssl-dev libcurl4-openssl-dev
  libsimdjson-dev libabsl-dev libarchive-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev
  age zstd tar libarchive-tools python3 procps curl wget dash shellcheck attr acl libcap2-bin
  postgresql postgresql-client mariadb-server mariadb-client openssh-server openssh-client
)
missing=()
# pkg:<arch> first: once arm64 is added (scripts/release.sh), a bare name
# of a package installed for both architectures is ambiguous to dpkg -s.
arch=$(dpkg --print-architecture)
for p in "${PKGS[@]}"; do
  dpkg -s "$p:$arch" >/dev/null 2>&1 || dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# S3 test servers and client: @20minutes/s3rver from npm (Node >= 20 comes
# with the machine), moto and the aws CLI from the machine's Python; Debian's
# awscli only if no aws is on PATH.
if ! command -v aws >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends awscli >/dev/null
fi
bash "$(dirname "$0")/../tests/services/s3rver.sh" install
# libssh2 1.11.1 (SFTP), static, from Debian's source package; cached in
# /opt/hab-deps (a second run returns at once).
bash "$(dirname "$0")/deps/libssh2.sh"

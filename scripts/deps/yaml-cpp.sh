#!/usr/bin/env bash
# yaml-cpp for the release build of a FOREIGN architecture (arm64 on an amd64
# machine): Debian 12's own libyaml-cpp-dev (which has libyaml-cpp.a), unpacked
# into a private prefix instead of installed. Nothing is built.
#
#   scripts/deps/yaml-cpp.sh [amd64|arm64]     # run as root; idempotent; default: this machine's arch
#   scripts/deps/yaml-cpp.sh --prefix [ARCH]   # print the prefix (empty for the host's arch) and exit
#
# Why: libyaml-cpp-dev is not "Multi-Arch: same" in Debian 12, so
# libyaml-cpp-dev:arm64 cannot be installed next to the amd64 one the
# development build uses. For the host's architecture this script does
# nothing (the release build uses /usr/lib/<triplet>/libyaml-cpp.a).
#
# Result (foreign ARCH): PREFIX/include/yaml-cpp/, PREFIX/lib/<triplet>/libyaml-cpp.a,
# PREFIX/lib/<triplet>/cmake/yaml-cpp/ (its imported target names the .so,
# which is unpacked too so the config loads; cmake/release.cmake links the .a),
# PREFIX/.hab-stamp. PREFIX: /opt/hab-deps/ARCH/yaml-cpp-0.7.0.
# Needs `dpkg --add-architecture ARCH` and an apt-get update (the same as the
# multiarch -dev packages the cross build needs).
set -euo pipefail
NAME=yaml-cpp
SRCPKG=yaml-cpp
VERSION=0.7.0
FEATURES="debian-binary v1"
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --prefix ]; then
  a=${2:-${HAB_DEPS_ARCH:-$(dpkg --print-architecture)}}
  if [ "$a" = "$(dpkg --print-architecture)" ]; then echo; exit 0; fi
fi
hab_deps_init "$@"
if [ "$ARCH" = "$HOST_ARCH" ]; then
  echo "yaml-cpp $VERSION ($ARCH): Debian's libyaml-cpp-dev (host architecture, nothing to do)"
  exit 0
fi
hab_deps_begin
dpkg --print-foreign-architectures | grep -qx "$ARCH" ||
  die "dpkg has no $ARCH architecture: run dpkg --add-architecture $ARCH && apt-get update"
D=$CACHE/debs-$ARCH
mkdir -p "$D"
( cd "$D" && rm -f libyaml-cpp*.deb &&
  apt-get -o APT::Sandbox::User=root download "libyaml-cpp-dev:$ARCH" "libyaml-cpp0.7:$ARCH" ) >>"$LOG" 2>&1 ||
  die "apt-get download libyaml-cpp-dev:$ARCH failed (apt-get update after dpkg --add-architecture $ARCH?)"
# shellcheck disable=SC2012 # our own download dir
DEB=$(ls "$D"/libyaml-cpp-dev_"$VERSION"*_"$ARCH".deb 2>/dev/null | head -1 || true)
# shellcheck disable=SC2012
[ -n "$DEB" ] || die "Debian no longer serves libyaml-cpp-dev $VERSION for $ARCH (got: $(ls "$D" | tr '\n' ' '))"
mkdir -p "$WORK/x"
for f in "$D"/libyaml-cpp*_"$ARCH".deb; do dpkg-deb -x "$f" "$WORK/x" >>"$LOG" 2>&1 || die "dpkg-deb -x $f failed"; done
mkdir -p "$STAGE$PREFIX"
mv "$WORK/x/usr/include" "$WORK/x/usr/lib" "$STAGE$PREFIX/"
DSC=$DEB # the stamp names the .deb
HAB_DEPS_VERB="unpacked"
hab_deps_finish "lib/$MULTIARCH/libyaml-cpp.a" include/yaml-cpp/yaml.h "lib/$MULTIARCH/cmake/yaml-cpp/yaml-cpp-config.cmake"

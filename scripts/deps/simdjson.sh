#!/usr/bin/env bash
# Builds simdjson 3.0.1 (Debian 12's source package, as libsimdjson-dev) as a
# static library, once per architecture, and caches the result. Debian ships
# only libsimdjson.so (no .a), so the release build needs this.
#
#   scripts/deps/simdjson.sh [amd64|arm64]     # run as root; idempotent; default: this machine's arch
#   scripts/deps/simdjson.sh --prefix [ARCH]   # print the install prefix and exit
#
# Result: PREFIX/lib/libsimdjson.a, PREFIX/include/simdjson.h,
# PREFIX/lib/cmake/simdjson/ (find_package(simdjson) -> simdjson::simdjson),
# PREFIX/.hab-stamp (written last).
# PREFIX: /opt/hab-deps/simdjson-3.0.1 (host arch) or /opt/hab-deps/arm64/simdjson-3.0.1.
#
# The library only (no tools, benchmarks, tests); upstream's defaults
# otherwise (runtime CPU dispatch, exceptions, threads), as Debian builds it.
# Debian builds RelWithDebInfo + its CXXFLAGS (-O2); so do we, without -g.
# Env: see common.sh.
set -euo pipefail
NAME=simdjson
SRCPKG=simdjson
VERSION=3.0.1
FEATURES="static lib-only o2 v1"
BUILD_DEPS="ninja-build"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
source "$(dirname "$0")/common.sh"
hab_deps_init "$@"
hab_deps_begin
hab_deps_source

B=$WORK/build
cmake -S "$TREE" -B "$B" -G Ninja "${CMAKE_CROSS[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="$BFLAGS_C" -DCMAKE_CXX_FLAGS="$BFLAGS_CXX" \
  -DCMAKE_C_FLAGS_RELEASE=-DNDEBUG -DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG \
  -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
  -DBUILD_SHARED_LIBS=OFF -DSIMDJSON_DEVELOPER_MODE=OFF \
  -DSIMDJSON_ENABLE_THREADS=ON \
  >>"$LOG" 2>&1 || die "cmake configure failed"
cmake --build "$B" -j "$JOBS" >>"$LOG" 2>&1 || die "build failed"
DESTDIR=$STAGE cmake --install "$B" >>"$LOG" 2>&1 || die "install failed"
rm -rf "$STAGE$PREFIX/share"
hab_deps_finish lib/libsimdjson.a include/simdjson.h lib/cmake/simdjson/simdjson-config.cmake

#!/usr/bin/env bash
# Builds oneTBB 2021.8.0 (Debian 12's source package onetbb, Debian patches
# applied) as a static library, once per architecture, and caches the result.
# Debian ships only libtbb.so (no libtbb.a), so the release build needs this.
#
#   scripts/deps/onetbb.sh [amd64|arm64]     # run as root; idempotent; default: this machine's arch
#   scripts/deps/onetbb.sh --prefix [ARCH]   # print the install prefix and exit
#
# Result: PREFIX/lib/libtbb.a, PREFIX/include/oneapi/tbb/..., PREFIX/lib/cmake/TBB/
# (find_package(TBB) -> TBB::tbb), PREFIX/.hab-stamp (written last).
# PREFIX: /opt/hab-deps/onetbb-2021.8.0 (host arch) or /opt/hab-deps/arm64/onetbb-2021.8.0.
#
# Only libtbb: no tbbmalloc, tbbmalloc_proxy, tbbbind (hwloc) or Python
# bindings (the program links TBB::tbb only). A static libtbb is built with
# __TBB_DYNAMIC_LOAD_ENABLED=0 by upstream's CMake, so it never dlopen()s
# libtbbmalloc.so.2 / libtbbbind; allocations go through malloc.
# TBB_ENABLE_IPO=OFF: upstream's default would put GCC LTO objects into the
# archive (they need the same compiler and the LTO plugin at our link).
# TBB_STRICT=OFF: warnings are not errors with Debian's hardening flags.
# Flags: Debian's dpkg-buildflags for ARCH (hardening=+all as debian/rules
# asks), without -g.
# Env: see common.sh (HAB_DEPS_PREFIX, HAB_DEPS_CACHE, HAB_DEPS_JOBS, mirrors).
set -euo pipefail
NAME=onetbb
SRCPKG=onetbb
VERSION=2021.8.0
FEATURES="static tbb-only noipo nohwloc v1"
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
  -DBUILD_SHARED_LIBS=OFF -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF \
  -DTBBMALLOC_BUILD=OFF -DTBBMALLOC_PROXY_BUILD=OFF -DTBB4PY_BUILD=OFF \
  -DTBB_DISABLE_HWLOC_AUTOMATIC_SEARCH=ON -DTBB_ENABLE_IPO=OFF -DTBB_CPF=OFF \
  >>"$LOG" 2>&1 || die "cmake configure failed"
cmake --build "$B" -j "$JOBS" >>"$LOG" 2>&1 || die "build failed"
DESTDIR=$STAGE cmake --install "$B" >>"$LOG" 2>&1 || die "install failed"
rm -rf "$STAGE$PREFIX/share"
hab_deps_finish lib/libtbb.a include/oneapi/tbb.h lib/cmake/TBB/TBBConfig.cmake

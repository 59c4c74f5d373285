#!/usr/bin/env bash
# Builds libacl 2.3.1 (Debian 12's source package acl, Debian patches applied)
# as a static library, once per architecture, and caches the result. Needed by
# libarchive.sh: the restore (and the backup's read of a file's ACLs) goes
# through libarchive's POSIX.1e ACL support, which calls libacl, and Debian
# 12's libacl1-dev ships only libacl.so.
#
#   scripts/deps/acl.sh [amd64|arm64]     # run as root; idempotent; default: this machine's arch
#   scripts/deps/acl.sh --prefix [ARCH]   # print the install prefix and exit
#
# Result: PREFIX/lib/libacl.a, PREFIX/include/sys/acl.h, PREFIX/include/acl/libacl.h,
# PREFIX/lib/pkgconfig/libacl.pc, PREFIX/.hab-stamp (written last).
# PREFIX: /opt/hab-deps/acl-2.3.1 (host arch) or /opt/hab-deps/arm64/acl-2.3.1.
#
# The library only (no getfacl/setfacl/chacl, no translations). libacl talks
# to the kernel through glibc's getxattr/setxattr; libattr1-dev[:ARCH] is a
# build dependency for one header (attr/error_context.h, used by
# perm_copy_fd/perm_copy_file, which libarchive does not call), not a link one.
# Flags: Debian's dpkg-buildflags for ARCH (hardening=+all, -O2), without -g.
# Env: see common.sh.
set -euo pipefail
NAME=acl
SRCPKG=acl
VERSION=2.3.1
FEATURES="static lib-only nonls v1"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
source "$(dirname "$0")/common.sh"
hab_deps_init "$@"
BUILD_DEPS="autoconf automake autopoint libtool gettext libattr1-dev:$ARCH"
hab_deps_begin
hab_deps_source

cd "$TREE"
# Debian's patches touch configure.ac (dh_autoreconf).
autoreconf -fi >>"$LOG" 2>&1 || die "autoreconf failed"
if [ -n "$PKGCONF_LIBDIR" ]; then export PKG_CONFIG_LIBDIR=$PKGCONF_LIBDIR; fi
./configure "${HOST_OPT[@]}" --prefix="$PREFIX" --libdir="$PREFIX/lib" \
  CFLAGS="$BFLAGS_C" LDFLAGS="$BFLAGS_LD" \
  --disable-shared --enable-static --disable-dependency-tracking --disable-nls \
  >>"$LOG" 2>&1 || die "configure failed"
make -j "$JOBS" libacl.la >>"$LOG" 2>&1 || die "build failed"
make DESTDIR="$STAGE" install-libLTLIBRARIES install-data-local install-pkgconfDATA >>"$LOG" 2>&1 ||
  make DESTDIR="$STAGE" install-libLTLIBRARIES install-data-local >>"$LOG" 2>&1 || die "install failed"
rm -f "$STAGE$PREFIX/lib/libacl.la"
if [ ! -f "$STAGE$PREFIX/lib/pkgconfig/libacl.pc" ] && [ -f libacl.pc ]; then
  install -D -m 0644 libacl.pc "$STAGE$PREFIX/lib/pkgconfig/libacl.pc"
fi
# The static library must not need libattr (nothing of ours provides it).
if nm "$STAGE$PREFIX/lib/libacl.a" 2>/dev/null | grep -E ' U attr_' | grep -v -E 'attr_copy_(fd|file|check_permissions|action)' | grep -q .; then
  die "libacl.a needs libattr beyond perm_copy: $(nm "$STAGE$PREFIX/lib/libacl.a" | grep ' U attr_' | sort -u | tr '\n' ' ')"
fi
hab_deps_finish lib/libacl.a include/sys/acl.h include/acl/libacl.h

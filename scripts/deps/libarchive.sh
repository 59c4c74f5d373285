#!/usr/bin/env bash
# Builds libarchive 3.6.2 (Debian 12's source package, Debian patches
# applied) as a minimal static library, once per architecture, and caches it.
#
#   scripts/deps/libarchive.sh [amd64|arm64]     # run as root; idempotent; default: this machine's arch
#   scripts/deps/libarchive.sh --prefix [ARCH]   # print the install prefix and exit
#
# Result: PREFIX/lib/libarchive.a, PREFIX/include/archive.h, archive_entry.h,
# PREFIX/lib/pkgconfig/libarchive.pc, PREFIX/.hab-stamp (written last).
# PREFIX: /opt/hab-deps/libarchive-3.6.2 (host arch) or /opt/hab-deps/arm64/libarchive-3.6.2.
#
# Why: Debian 12 does ship libarchive.a, but it is unusable for a static link:
# its ACL code (archive_disk_acl_linux.o, pulled by archive_read_disk and
# archive_write_disk) needs libacl, and Debian 12's libacl1-dev has no
# libacl.a (nor liblz4-dev a liblz4.a, which the .pc's Libs.private lists).
# So libacl comes from scripts/deps/acl.sh (run first, from here).
#
# Features: what the program uses: tar (pax with SCHILY xattr/ACL records,
# GNU, ustar) read and write, archive_read_disk (a file's xattrs and ACLs at
# backup) and archive_write_disk (restore, with ARCHIVE_EXTRACT_XATTR and
# _ACL), POSIX.1e ACLs through our static libacl, xattrs through glibc, iconv
# from glibc for pathname charsets (all as the system build). Off: every
# compression library (zstd is our own node; libarchive only sees plain tar),
# crypto (nettle/OpenSSL/mbedTLS: only zip/7z/xar/rar encryption and mtree
# digests), XML (xar), bsdtar/bsdcpio/bsdcat.
# Build: build/autogen.sh first, as debian/rules does (dh_autoreconf), since
# Debian's patches touch configure.ac. Flags: Debian's dpkg-buildflags for ARCH
# (hardening=+all, -O2), without -g.
# Env: see common.sh.
set -euo pipefail
NAME=libarchive
SRCPKG=libarchive
VERSION=3.6.2
FEATURES="static tar acl-2.3.1 xattr nocompress nocrypto noxml v2"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
source "$(dirname "$0")/common.sh"
hab_deps_init "$@"
BUILD_DEPS="autoconf automake libtool"
hab_deps_begin
bash "$HAB_DEPS_DIR/acl.sh" "$ARCH" >>"$LOG" 2>&1 || die "scripts/deps/acl.sh $ARCH failed"
ACL=$(bash "$HAB_DEPS_DIR/acl.sh" --prefix "$ARCH")
hab_deps_source

cd "$TREE"
sh build/autogen.sh >>"$LOG" 2>&1 || die "build/autogen.sh failed"
if [ -n "$PKGCONF_LIBDIR" ]; then export PKG_CONFIG_LIBDIR=$PKGCONF_LIBDIR; fi
./configure "${HOST_OPT[@]}" --prefix="$PREFIX" --libdir="$PREFIX/lib" \
  CFLAGS="$BFLAGS_C" CPPFLAGS="-I$ACL/include" LDFLAGS="$BFLAGS_LD -L$ACL/lib" \
  --disable-shared --enable-static --disable-dependency-tracking \
  --disable-bsdtar --disable-bsdcat --disable-bsdcpio --enable-acl --enable-xattr \
  --without-zlib --without-bz2lib --without-libb2 --without-lz4 --without-zstd --without-lzma \
  --without-lzo2 --without-cng --without-mbedtls --without-nettle --without-openssl \
  --without-xml2 --without-expat \
  >>"$LOG" 2>&1 || die "configure failed"
make -j "$JOBS" libarchive.la >>"$LOG" 2>&1 || die "build failed"
make DESTDIR="$STAGE" install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA >>"$LOG" 2>&1 ||
  die "install failed"
rm -f "$STAGE$PREFIX/lib/libarchive.la"
# ACL and xattr support must be in (configure silently drops them otherwise).
grep -q '^#define ARCHIVE_ACL_LIBACL 1' config.h || die "configure found no usable libacl in $ACL"
grep -qE '^#define HAVE_(FSETXATTR|LSETXATTR) 1' config.h || die "configure found no xattr support"
# Static link: name our libacl.a's directory next to -lacl.
PC=$STAGE$PREFIX/lib/pkgconfig/libarchive.pc
grep -q -- '-lacl' "$PC" || die "libarchive.pc does not list -lacl"
sed -i "s|^Libs.private:.*|Libs.private: -L$ACL/lib -lacl|" "$PC"
hab_deps_finish lib/libarchive.a include/archive.h include/archive_entry.h lib/pkgconfig/libarchive.pc

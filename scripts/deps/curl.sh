#!/usr/bin/env bash
# Builds libcurl 7.88.1 (Debian 12's source package curl, Debian patches
# applied, OpenSSL flavour) as a minimal static library, once per
# architecture, and caches the result.
#
#   scripts/deps/curl.sh [amd64|arm64]     # run as root; idempotent; default: this machine's arch
#   scripts/deps/curl.sh --prefix [ARCH]   # print the install prefix and exit
#
# Result: PREFIX/lib/libcurl.a, PREFIX/include/curl/*.h,
# PREFIX/lib/pkgconfig/libcurl.pc (Libs.private: OpenSSL only), PREFIX/.hab-stamp.
# PREFIX: /opt/hab-deps/curl-7.88.1 (host arch) or /opt/hab-deps/arm64/curl-7.88.1.
#
# Why: Debian's libcurl.a (libcurl4-openssl-dev) needs LDAP, RTMP, GSSAPI
# (Kerberos), libssh2, nghttp2, IDN2, PSL, brotli and zstd at link time;
# several of those have no static library in Debian 12.
#
# Features: HTTP and HTTPS only (plus HTTP proxies: https_proxy/no_proxy keep
# working as with the system libcurl), TLS by the system's OpenSSL 3
# (libssl.a/libcrypto.a from libssl-dev[:ARCH]), threaded resolver, IPv6.
# Off: every other protocol, zlib/brotli/zstd content decoding (we never set
# CURLOPT_ACCEPT_ENCODING), HTTP/2 (nghttp2; S3 speaks HTTP/1.1), IDN, PSL,
# GSSAPI/Kerberos, NTLM, TLS-SRP, cookies, netrc, DoH, alt-svc, HSTS, MIME,
# websockets, the manual. Symbol hiding on (internal symbols stay internal).
# CA certificates: Debian's defaults, as the system libcurl has them
# (bundle /etc/ssl/certs/ca-certificates.crt, directory /etc/ssl/certs).
# Patches: dpkg-source applies every Debian patch, including the two last ones
# (90_gnutls.patch, 99_nss.patch) that Debian's rules pop again for the
# OpenSSL build; so do we (patch -R, in reverse order).
# Flags: Debian's dpkg-buildflags for ARCH (hardening=+all, -O2), without -g,
# plus CURL_PATCHSTAMP as debian/rules sets it.
# Env: see common.sh.
set -euo pipefail
NAME=curl
SRCPKG=curl
VERSION=7.88.1
FEATURES="static http-https openssl nozlib noh2 noidn nopsl nogssapi noldap nortmp hidden v1"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
source "$(dirname "$0")/common.sh"
hab_deps_init "$@"
BUILD_DEPS="autoconf automake libtool libssl-dev:$ARCH"
hab_deps_begin
hab_deps_source

cd "$TREE"
for p in 99_nss.patch 90_gnutls.patch; do
  grep -qx "$p" debian/patches/series || die "debian/patches/series has no $p (Debian changed the packaging)"
  patch -R -p1 -s <"debian/patches/$p" >>"$LOG" 2>&1 || die "could not revert $p"
done
# debian/rules: ./buildconf, then the (patched) ltmain.sh over the regenerated one.
cp ltmain.sh "$WORK/ltmain.sh.debian"
autoreconf -fi >>"$LOG" 2>&1 || die "autoreconf failed"
cp "$WORK/ltmain.sh.debian" ltmain.sh

DEBVER=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ -n "$PKGCONF_LIBDIR" ]; then export PKG_CONFIG_LIBDIR=$PKGCONF_LIBDIR; fi
./configure "${HOST_OPT[@]}" --prefix="$PREFIX" --libdir="$PREFIX/lib" \
  CFLAGS="$BFLAGS_C -DCURL_PATCHSTAMP=\\\"$DEBVER\\\"" LDFLAGS="$BFLAGS_LD" \
  --disable-shared --enable-static --disable-dependency-tracking --enable-symbol-hiding \
  --enable-threaded-resolver --enable-ipv6 --enable-http --enable-proxy \
  --with-openssl --with-ca-path=/etc/ssl/certs --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt \
  --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
  --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
  --disable-gopher --disable-mqtt --disable-websockets --disable-manual --disable-ntlm --disable-ntlm-wb \
  --disable-tls-srp --disable-cookies --disable-netrc --disable-doh --disable-alt-svc --disable-hsts \
  --disable-mime --disable-libcurl-option \
  --without-zlib --without-brotli --without-zstd --without-libpsl --without-libgsasl \
  --without-libssh2 --without-libssh --without-wolfssh --without-librtmp --without-libidn2 \
  --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3 --without-hyper \
  --without-zsh-functions-dir --without-fish-functions-dir \
  >>"$LOG" 2>&1 || die "configure failed"
make -C lib -j "$JOBS" >>"$LOG" 2>&1 || die "build failed"
{ make -C lib DESTDIR="$STAGE" install && make -C include DESTDIR="$STAGE" install &&
    make DESTDIR="$STAGE" install-pkgconfigDATA; } >>"$LOG" 2>&1 || die "install failed"
rm -f "$STAGE$PREFIX/lib/libcurl.la"
# What we built must have only the features above (curl's own summary).
summary=$(grep -A40 'Configured to build curl/libcurl' "$LOG" | sed -n '/Protocols:/p;/Features:/p' || true)
echo "$summary" >>"$LOG"
hab_deps_finish lib/libcurl.a include/curl/curl.h lib/pkgconfig/libcurl.pc

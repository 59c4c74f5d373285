#!/usr/bin/env bash
# Builds libssh2 1.11.1 (Debian trixie's source package, Debian patches applied)
# as a static library against the system OpenSSL, once, and caches the result.
#
#   scripts/deps/libssh2.sh            # run as root; idempotent
#   scripts/deps/libssh2.sh arm64      # cross build for ARCH (amd64|arm64) with Debian's
#                                      # cross gcc and libssl-dev:ARCH (multiarch), for the
#                                      # release build; installs into /opt/hab-deps/ARCH/libssh2-1.11.1
#   scripts/deps/libssh2.sh --prefix [ARCH]   # print the install prefix and exit
#
# Result (the project's CMake uses these paths):
#   /opt/hab-deps/libssh2-1.11.1/include/libssh2.h, libssh2_sftp.h, libssh2_publickey.h
#   /opt/hab-deps/libssh2-1.11.1/lib/libssh2.a
#   /opt/hab-deps/libssh2-1.11.1/lib/pkgconfig/libssh2.pc
#   /opt/hab-deps/libssh2-1.11.1/lib/cmake/libssh2/   (libssh2::libssh2_static)
#   /opt/hab-deps/libssh2-1.11.1/.hab-stamp            (written last = finished install)
# Link: libssh2.a + OpenSSL (libssl, libcrypto). No zlib (compression is off).
#
# The source comes from `apt-get source --download-only libssh2/trixie` through
# a private apt state under $CACHE: the deb-src entry lives only there; the
# system's sources lists, package lists and apt caches are not touched.
# Env overrides: HAB_DEPS_PREFIX (default /opt/hab-deps), HAB_DEPS_CACHE
# (default /var/cache/hab-deps), HAB_DEPS_JOBS (default 2), HAB_DEPS_DEBIAN_MIRROR
# (default: the first URIs: of /etc/apt/sources.list.d/debian.sources, else deb.debian.org).
set -euo pipefail

VERSION=1.11.1
SUITE=trixie
ROOT=${HAB_DEPS_PREFIX:-/opt/hab-deps}
PREFIX=$ROOT/libssh2-$VERSION
CACHE=${HAB_DEPS_CACHE:-/var/cache/hab-deps}
JOBS=${HAB_DEPS_JOBS:-2}
# Anything that changes the build changes the stamp, so a stale install is rebuilt.
CONFIG="libssh2 $VERSION $SUITE static openssl nozlib hidden bulk-encrypt v3"
# ARCH (optional argument): the host's architecture builds as before; another
# one (arm64 on amd64) is a cross build into its own prefix, lock and source dir.
PRINT_PREFIX=0
if [ "${1:-}" = --prefix ]; then PRINT_PREFIX=1; shift; fi
HOST_ARCH=$(dpkg --print-architecture)
ARCH=${1:-${HAB_DEPS_ARCH:-$HOST_ARCH}}
case $ARCH in amd64 | arm64) ;; *) echo "libssh2.sh: ERROR: unsupported ARCH '$ARCH' (amd64 or arm64)" >&2; exit 1 ;; esac
LOCKNAME=libssh2
SRC=$CACHE/src
if [ "$ARCH" != "$HOST_ARCH" ]; then
  PREFIX=$ROOT/$ARCH/libssh2-$VERSION
  CONFIG="$CONFIG $ARCH"
  LOCKNAME=libssh2-$ARCH
  SRC=$CACHE/src-libssh2-$ARCH
fi
if [ "$PRINT_PREFIX" = 1 ]; then echo "$PREFIX"; exit 0; fi
STAMP=$PREFIX/.hab-stamp

# Fast path: a finished install exists.
if [ -f "$STAMP" ] && [ "$(head -1 "$STAMP")" = "$CONFIG" ]; then
  echo "libssh2 $VERSION: already installed in $PREFIX"
  exit 0
fi

die() { echo "libssh2.sh: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (installs build deps and writes $PREFIX)"

mkdir -p "$CACHE"
# One build at a time; re-check the stamp once we hold the lock.
exec 9>"$CACHE/$LOCKNAME.lock"
flock 9
if [ -f "$STAMP" ] && [ "$(head -1 "$STAMP")" = "$CONFIG" ]; then
  echo "libssh2 $VERSION: already installed in $PREFIX"
  exit 0
fi
LOG=$CACHE/libssh2-$VERSION.log
[ "$ARCH" = "$HOST_ARCH" ] || LOG=$CACHE/libssh2-$VERSION-$ARCH.log
: > "$LOG"
# Show the end of the log on any failure.
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "libssh2.sh: FAILED (rc $rc); last lines of $LOG:" >&2; tail -n 30 "$LOG" >&2; fi' EXIT
START=$(date +%s)

# Build dependencies (minimal).
DEPS=(build-essential cmake libssl-dev dpkg-dev debian-archive-keyring)
CROSS=()
if [ "$ARCH" != "$HOST_ARCH" ]; then
  TRIPLET=$(dpkg-architecture -a"$ARCH" -qDEB_HOST_GNU_TYPE 2>/dev/null)
  DEPS+=("gcc-$TRIPLET" "libssl-dev:$ARCH")
  case $ARCH in
    arm64) CROSS=(-DCMAKE_TOOLCHAIN_FILE="$(cd "$(dirname "$0")/../.." && pwd)/cmake/aarch64-toolchain.cmake") ;;
    *) die "no cross toolchain file for $ARCH" ;;
  esac
fi
missing=()
for p in "${DEPS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}" \
    || { apt-get -o DPkg::Lock::Timeout=300 update -q &&
         apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"; }
  } >>"$LOG" 2>&1 || die "could not apt-get install ${missing[*]}"
fi

# Private apt state: deb-src for trixie only, own lists and cache directories.
A=$CACHE/apt
mkdir -p "$A/parts" "$A/lists/partial" "$A/cache/archives/partial"
URI=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $1}')
URI=${HAB_DEPS_DEBIAN_MIRROR:-${URI:-http://deb.debian.org/debian}}
cat > "$A/parts/hab-src.sources" <<EOF
Types: deb-src
URIs: $URI
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
APTO=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$A/parts"
      -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache"
      -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
      -o Acquire::Languages=none -o Acquire::Retries=3 -o APT::Sandbox::User=root)
apt-get "${APTO[@]}" -q --error-on=any update >>"$LOG" 2>&1 \
  || die "apt-get update of the private deb-src state failed (deb-src $URI $SUITE): cannot download the Debian source index; no network to the mirror?"

rm -rf "$SRC"; mkdir -p "$SRC"
( cd "$SRC" && apt-get "${APTO[@]}" -q source --download-only "libssh2/$SUITE" ) >>"$LOG" 2>&1 \
  || die "could not download the libssh2 source package from Debian $SUITE ($URI)"
DSC=$(ls "$SRC"/libssh2_"$VERSION"-*.dsc 2>/dev/null | head -1 || true)
[ -n "$DSC" ] || die "Debian $SUITE no longer serves libssh2 $VERSION (got: $(ls "$SRC" | tr '\n' ' '))"

# Unpack and apply Debian's patches. apt already checked the files against the
# signed Release file; dpkg-source's own signature check has no keyring here.
dpkg-source --no-check -x "$DSC" "$SRC/tree" >>"$LOG" 2>&1 || die "dpkg-source -x $DSC failed"
# Our one patch (patches/libssh2-bulk-encrypt.patch): a packet is encrypted
# in up to three cipher calls, in place, instead of one call per 16-byte
# block: the per-call overhead was most of an SFTP upload's CPU (2.2x slower
# than OpenSSH's sftp on loopback). Same bytes on the wire.
patch -d "$SRC/tree" -p1 --forward < "$(cd "$(dirname "$0")" && pwd)/patches/libssh2-bulk-encrypt.patch" >>"$LOG" 2>&1 \
  || die "patches/libssh2-bulk-encrypt.patch does not apply"

# Static build, system OpenSSL, no zlib/examples/tests/docs, Debian's hardening
# flags (CMAKE_C_FLAGS_RELEASE emptied so nothing overrides their -O2).
# -fvisibility=hidden: the program also loads Debian's libssh2.so.1 (1.10)
# through libcurl.so.4; with default visibility the linker exports the static
# copy's libssh2_* symbols from the executable and libcurl then calls a mix of
# 1.11.1 and 1.10 functions. Hidden symbols still link statically but are
# never exported, so each copy stays separate.
# CMAKE_DISABLE_FIND_PACKAGE_ZLIB: upstream links zlib with the OpenSSL backend
# even when compression is off (nothing in libssh2.a uses it).
CFLAGS_D="$(DEB_HOST_ARCH=$ARCH dpkg-buildflags --get CFLAGS) $(DEB_HOST_ARCH=$ARCH dpkg-buildflags --get CPPFLAGS) -fvisibility=hidden"
B=$SRC/build
cmake -S "$SRC/tree" -B "$B" "${CROSS[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$CFLAGS_D" -DCMAKE_C_FLAGS_RELEASE=-DNDEBUG \
  -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON \
  -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBUILD_STATIC_LIBS=ON -DBUILD_SHARED_LIBS=OFF \
  -DCRYPTO_BACKEND=OpenSSL -DENABLE_ZLIB_COMPRESSION=OFF \
  -DBUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF -DLINT=OFF -DENABLE_DEBUG_LOGGING=OFF \
  >>"$LOG" 2>&1 || die "cmake configure failed"
cmake --build "$B" -j "$JOBS" >>"$LOG" 2>&1 || die "build failed"

# Install into a staging dir, then swap into place; the stamp is written last.
STAGE=$CACHE/stage
[ "$ARCH" = "$HOST_ARCH" ] || STAGE=$CACHE/stage-libssh2-$ARCH
rm -rf "$STAGE"
DESTDIR=$STAGE cmake --install "$B" >>"$LOG" 2>&1 || die "install failed"
[ -f "$STAGE$PREFIX/lib/libssh2.a" ] && [ -f "$STAGE$PREFIX/include/libssh2.h" ] \
  || die "install produced no lib/libssh2.a or include/libssh2.h"
rm -rf "$STAGE$PREFIX/share/man" "$STAGE$PREFIX/share/doc"
# Debian's patch adds -lgpg-error (for its libgcrypt build); wrong with OpenSSL.
sed -i 's/ -lgpg-error//' "$STAGE$PREFIX/lib/pkgconfig/libssh2.pc"
mkdir -p "$ROOT"
rm -rf "$PREFIX"
mv "$STAGE$PREFIX" "$PREFIX"
rm -rf "$STAGE" "$B" "$SRC/tree"
{ echo "$CONFIG"; echo "source: $(basename "$DSC")"; date -u +%FT%TZ; } > "$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
echo "libssh2 $VERSION${CROSS:+ ($ARCH)}: built from $(basename "$DSC") and installed in $PREFIX ($(( $(date +%s) - START )) s)"

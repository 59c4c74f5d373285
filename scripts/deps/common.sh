# shellcheck shell=bash
# shellcheck disable=SC2034,SC2012,SC2154 # variables for the sourcing scripts; ls of our own file names
# Shared by the scripts in scripts/deps/ that build a library from Debian 12's
# source package (sourced, not run). Same approach as libssh2.sh: a private
# apt state with the deb-src entries, `apt-get source --download-only`,
# `dpkg-source -x` (Debian's patches applied), a static build with only the
# features we use, install into a staging dir, swap into place, stamp written
# last, one build at a time (flock), one summary line on stdout.
#
# A script sets, before sourcing this file:
#   NAME      short name (prefix and cache names)
#   SRCPKG    Debian source package name
#   VERSION   upstream version we pin (any Debian revision of it is accepted;
#             the newest one bookworm, bookworm-updates or bookworm-security
#             serves is used, and the stamp records which)
#   FEATURES  words describing the build; part of the stamp, so changing it
#             rebuilds
# then calls, in order:
#   hab_deps_init "$@"         args: [ARCH] | --prefix [ARCH]   (ARCH: amd64|arm64,
#                              default the host's); exits 0 at once when
#                              the stamp says this exact build is installed
#   hab_deps_begin             root check, lock, log, build tools, cross env
#   hab_deps_source            downloads (or reuses) and unpacks the source: $TREE
#   ... build, install into $STAGE$PREFIX ...
#   hab_deps_finish FILE...    checks FILEs (relative to the prefix) exist, swaps, stamps
#
# Install prefix: $HAB_DEPS_PREFIX/NAME-VERSION for the host's architecture
# (as libssh2.sh), $HAB_DEPS_PREFIX/ARCH/NAME-VERSION for a cross build.
# Env: HAB_DEPS_PREFIX (/opt/hab-deps), HAB_DEPS_CACHE (/var/cache/hab-deps),
# HAB_DEPS_JOBS (2), HAB_DEPS_DEBIAN_MIRROR (the machine's first URIs: line),
# HAB_DEPS_SECURITY_MIRROR (the machine's debian-security URIs:, else
# http://deb.debian.org/debian-security).

HAB_DEPS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HAB_REPO_DIR=$(cd "$HAB_DEPS_DIR/../.." && pwd)

die() { echo "$NAME.sh: ERROR: $*" >&2; exit 1; }

hab_deps_init() {
  local print_prefix=0
  if [ "${1:-}" = --prefix ]; then print_prefix=1; shift; fi
  HOST_ARCH=$(dpkg --print-architecture)
  ARCH=${1:-${HAB_DEPS_ARCH:-$HOST_ARCH}}
  case $ARCH in
    amd64 | arm64) ;;
    *) die "unsupported ARCH '$ARCH' (amd64 or arm64)" ;;
  esac
  ROOT=${HAB_DEPS_PREFIX:-/opt/hab-deps}
  if [ "$ARCH" = "$HOST_ARCH" ]; then PREFIX=$ROOT/$NAME-$VERSION; else PREFIX=$ROOT/$ARCH/$NAME-$VERSION; fi
  if [ "$print_prefix" = 1 ]; then echo "$PREFIX"; exit 0; fi
  CACHE=${HAB_DEPS_CACHE:-/var/cache/hab-deps}
  JOBS=${HAB_DEPS_JOBS:-2}
  CONFIG="$NAME $VERSION $ARCH $FEATURES"
  STAMP=$PREFIX/.hab-stamp
  if [ -f "$STAMP" ] && [ "$(head -1 "$STAMP")" = "$CONFIG" ]; then
    echo "$NAME $VERSION ($ARCH): already installed in $PREFIX"
    exit 0
  fi
}

hab_deps_begin() {
  [ "$(id -u)" = 0 ] || die "must run as root (installs build deps and writes $PREFIX)"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/$NAME-$ARCH.lock"
  flock 9
  if [ -f "$STAMP" ] && [ "$(head -1 "$STAMP")" = "$CONFIG" ]; then
    echo "$NAME $VERSION ($ARCH): already installed in $PREFIX"
    exit 0
  fi
  LOG=$CACHE/$NAME-$VERSION-$ARCH.log
  : >"$LOG"
  trap 'rc=$?; if [ $rc -ne 0 ]; then echo "$NAME.sh: FAILED (rc $rc); last lines of $LOG:" >&2; tail -n 30 "$LOG" >&2; fi' EXIT
  START=$(date +%s)
  WORK=$CACHE/work-$NAME-$ARCH
  STAGE=$CACHE/stage-$NAME-$ARCH
  rm -rf "$WORK" "$STAGE"
  mkdir -p "$WORK"

  # Build tools (and the cross compiler for a foreign ARCH).
  local deps=(build-essential cmake dpkg-dev debian-archive-keyring pkg-config) extra=()
  read -r -a extra <<<"${BUILD_DEPS:-}"
  deps+=("${extra[@]}")
  if [ "$ARCH" != "$HOST_ARCH" ]; then
    TRIPLET=$(dpkg-architecture -a"$ARCH" -qDEB_HOST_GNU_TYPE 2>/dev/null)
    deps+=("gcc-$TRIPLET" "g++-$TRIPLET")
  fi
  hab_deps_apt_install "${deps[@]}"

  TRIPLET=$(dpkg-architecture -a"$ARCH" -qDEB_HOST_GNU_TYPE 2>/dev/null)
  MULTIARCH=$(dpkg-architecture -a"$ARCH" -qDEB_HOST_MULTIARCH 2>/dev/null)
  # Debian's flags for that architecture (hardening, -O2, -g), as its own
  # packages get them. -g is dropped: the release binary's debug info is for
  # our code; a library's would only make the .debug file bigger.
  BFLAGS_C="$(DEB_HOST_ARCH=$ARCH dpkg-buildflags --get CFLAGS 2>/dev/null) $(DEB_HOST_ARCH=$ARCH dpkg-buildflags --get CPPFLAGS 2>/dev/null)"
  BFLAGS_CXX="$(DEB_HOST_ARCH=$ARCH dpkg-buildflags --get CXXFLAGS 2>/dev/null) $(DEB_HOST_ARCH=$ARCH dpkg-buildflags --get CPPFLAGS 2>/dev/null)"
  BFLAGS_C=$(echo " $BFLAGS_C " | sed 's/ -g / /g; s/ -ffile-prefix-map=[^ ]* / /g')
  BFLAGS_CXX=$(echo " $BFLAGS_CXX " | sed 's/ -g / /g; s/ -ffile-prefix-map=[^ ]* / /g')
  BFLAGS_LD=$(DEB_HOST_ARCH=$ARCH dpkg-buildflags --get LDFLAGS 2>/dev/null)
  if [ "$ARCH" = "$HOST_ARCH" ]; then
    CC="gcc"; CXX="g++"; AR="ar"; RANLIB="ranlib"
    CMAKE_CROSS=()
    HOST_OPT=()
    PKGCONF_LIBDIR=
  else
    CC=$TRIPLET-gcc; CXX=$TRIPLET-g++; AR=$TRIPLET-ar; RANLIB=$TRIPLET-ranlib
    case $ARCH in
      arm64) CMAKE_CROSS=(-DCMAKE_TOOLCHAIN_FILE="$HAB_REPO_DIR/cmake/aarch64-toolchain.cmake") ;;
    esac
    HOST_OPT=(--host="$TRIPLET" --build="$(dpkg-architecture -qDEB_BUILD_GNU_TYPE)")
    # The target's .pc files only (multiarch dir, then the arch-independent ones).
    PKGCONF_LIBDIR=/usr/lib/$MULTIARCH/pkgconfig:/usr/share/pkgconfig
  fi
  export CC CXX AR RANLIB
}

# hab_deps_apt_install PKG...: installs what is missing (the system's apt).
hab_deps_apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  { apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}" ||
      { apt-get -o DPkg::Lock::Timeout=300 update -q &&
        apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"; }
  } >>"$LOG" 2>&1 || die "could not apt-get install ${missing[*]}"
}

# Downloads the source package once per upstream version into
# $CACHE/sources/SRCPKG-VERSION (kept: a second ARCH or a rebuild reuses it)
# and unpacks it into $TREE.
hab_deps_source() {
  local dl=$CACHE/sources/$SRCPKG-$VERSION
  hab_deps_apto
  DSC=$(ls "$dl"/"$SRCPKG"_"$VERSION"-*.dsc 2>/dev/null | head -1 || true)
  if [ -z "$DSC" ] || [ ! -f "$dl/.complete" ]; then
    # Private apt state: deb-src entries only, own lists and caches; the
    # system's sources lists, package lists and apt caches are not touched.
    # Shared by the bookworm scripts; its own lock, because two scripts may
    # run at once (different libraries).
    local A=$CACHE/apt-bookworm
    mkdir -p "$A/parts" "$A/lists/partial" "$A/cache/archives/partial"
    (
      flock 8
      local uri suri
      uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1 | awk '{print $1}')
      uri=${HAB_DEPS_DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}
      suri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep security | head -1 | awk '{print $1}')
      suri=${HAB_DEPS_SECURITY_MIRROR:-${suri:-http://deb.debian.org/debian-security}}
      cat >"$A/parts/hab-src.sources" <<EOF
Types: deb-src
URIs: $uri
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $suri
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
      # One index download per hour at most.
      if [ -z "$(find "$A/lists" -maxdepth 1 -name '*Sources*' -mmin -60 2>/dev/null | head -1)" ]; then
        apt-get "${APTO[@]}" -q --error-on=any update >>"$LOG" 2>&1 ||
          die "apt-get update of the private deb-src state failed ($uri, $suri): cannot download the Debian source indexes; no network to the mirror?"
      fi
    ) 8>"$CACHE/apt-bookworm.lock"
    rm -rf "$dl"; mkdir -p "$dl"
    # No suite given: apt picks the highest version of the three suites.
    (cd "$dl" && apt-get "${APTO[@]}" -q source --download-only "$SRCPKG") >>"$LOG" 2>&1 ||
      die "could not download the $SRCPKG source package from Debian bookworm"
    DSC=$(ls "$dl"/"$SRCPKG"_"$VERSION"-*.dsc 2>/dev/null | head -1 || true)
    [ -n "$DSC" ] || die "Debian bookworm no longer serves $SRCPKG $VERSION (got: $(ls "$dl" | tr '\n' ' '))"
    touch "$dl/.complete"
  fi
  TREE=$WORK/tree
  # apt already checked the files against the signed Release file;
  # dpkg-source's own signature check has no keyring here.
  dpkg-source --no-check -x "$DSC" "$TREE" >>"$LOG" 2>&1 || die "dpkg-source -x $DSC failed"
  echo "source: $(basename "$DSC")" >>"$LOG"
}

hab_deps_apto() {
  local A=$CACHE/apt-bookworm
  APTO=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$A/parts"
    -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache"
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
    -o Acquire::Languages=none -o Acquire::Retries=3 -o APT::Sandbox::User=root)
}

# hab_deps_finish FILE...: FILEs are relative to the prefix and must exist in
# the staged install. Swaps the staged prefix into place; the stamp is last.
hab_deps_finish() {
  local f
  for f in "$@"; do
    [ -e "$STAGE$PREFIX/$f" ] || die "install produced no $f"
  done
  # Every object in the archives must be for ARCH.
  local want
  case $ARCH in amd64) want='X86-64' ;; arm64) want='AArch64' ;; esac
  while read -r f; do
    if readelf -h "$f" 2>/dev/null | grep 'Machine:' | grep -qv "$want"; then
      die "$f has objects that are not $want"
    fi
  done < <(find "$STAGE$PREFIX" -name '*.a')
  rm -rf "$STAGE$PREFIX/share/man" "$STAGE$PREFIX/share/doc"
  mkdir -p "$(dirname "$PREFIX")"
  rm -rf "$PREFIX"
  mv "$STAGE$PREFIX" "$PREFIX"
  rm -rf "$STAGE" "$WORK"
  { echo "$CONFIG"; echo "source: $(basename "$DSC")"; date -u +%FT%TZ; } >"$STAMP.tmp"
  mv "$STAMP.tmp" "$STAMP"
  echo "$NAME $VERSION ($ARCH): ${HAB_DEPS_VERB:-built from} $(basename "$DSC") and installed in $PREFIX ($(($(date +%s) - START)) s)"
}

#!/usr/bin/env bash
# Checks release binaries: they depend on glibc only, and they work on a
# system that has nothing but glibc.
#
#   tests/release/check_release.sh [--version X.Y.Z] PATH...     # as root
#   tests/release/check_release.sh --dist DIST                     # the published tree
#
# PATH: a binary, or a release folder (dist/backup/X.Y.Z: every
# hostatlas-backup-linux-* in it). --version: `version` must print it.
#
# --dist DIST: the install tree scripts/release.sh writes (DIST/backup/...):
#  every X.Y.Z/files.json lists exactly the binaries next to it with their
#  size and sha256; latest/ is a copy of the newest X.Y.Z; version.json names
#  the newest version and its binaries with url BASE/backup/X.Y.Z/FILE; then
#  scripts/install.sh (the real installer) installs from a copy of the tree
#  served over HTTP on 127.0.0.1 (urls rewritten to it): the latest release
#  and each version pinned with --version, for this machine's architecture,
#  and the installed binary's `version` names the right release.
#
# For every binary (architecture from its ELF header):
#  1. ELF: NEEDED is a subset of {libc.so.6, libm.so.6, ld-linux}; the
#     interpreter is glibc's; no RPATH/RUNPATH; no GLIBCXX/CXXABI/GCC_ symbol
#     versions (libstdc++ and libgcc are static); prints the newest GLIBC_x.y
#     it needs (the oldest glibc it runs on).
#  2. ldd (amd64: the system's ldd; arm64: the arm64 ld.so --list under qemu)
#     lists only glibc's libraries.
#  3. The scenario (tests/release/scenario.sh: version, keygen, a files ->
#     local backup, restore, diff of the trees):
#     - this machine's architecture: inside a Debian 12 `debootstrap
#       --variant=minbase` chroot, fresh from a cached tarball
#       (/var/cache/hab-deps/chroot/debian12-minbase-ARCH.tar.zst; made once
#       with debootstrap, ~35 s; HAB_CHROOT_TARBALL overrides the path, e.g.
#       for CI to provide it). The chroot has none of our libraries; minbase's
#       own libstdc++6, libgcc-s1, zlib1g and libzstd1 (needed by apt/dpkg,
#       and libraries the development build links) are deleted from the copy,
#       so the binary cannot use them. Own mount+PID namespace (unshare), /proc
#       mounted, no network needed.
#     - arm64 (on an amd64 machine): under qemu-aarch64-static (or
#       qemu-aarch64) with -L a root holding only the files of the libc6:arm64
#       package. No binfmt_misc needed: qemu is called explicitly.
#     With a user.* xattr and access/default ACLs in the tree (setfattr,
#     setfacl: test tools, copied into the chroot; minbase has their libacl1).
#     Every shared object the binary loads during the scenario (LD_DEBUG=files:
#     NEEDED and dlopen, e.g. NSS, iconv modules, libgcc_s for unwinding) must
#     belong to the libc6 package.
# A missing tool is a failure, never a skip.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${HAB_DEPS_CACHE:-/var/cache/hab-deps}
EXPECT=-
FAILS=0
PATHS=()
DIST=
while [ $# -gt 0 ]; do
  case $1 in
    --dist) DIST=$2; shift ;;
    --dist=*) DIST=${1#*=} ;;
    --version) EXPECT=$2; shift ;;
    --version=*) EXPECT=${1#*=} ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check_release.sh: unknown option $1" >&2; exit 2 ;;
    *) PATHS+=("$1") ;;
  esac
  shift
done
[ ${#PATHS[@]} -gt 0 ] || [ -n "$DIST" ] ||
  { echo "usage: check_release.sh [--version X.Y.Z] BINARY|RELEASE_DIR...  |  check_release.sh --dist DIST" >&2; exit 2; }

die() { echo "FAIL: $*" >&2; exit 1; }
CLEAN=()
cleanup() { local d; for d in "${CLEAN[@]}"; do rm -rf --one-file-system "$d"; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
need() { # need TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed (apt-get install $2); the release checks cannot run without it"
}
[ "$(id -u)" = 0 ] || die "must run as root (chroot, namespaces, debootstrap)"
need readelf binutils
need ldd libc-bin
need unshare util-linux
need chroot coreutils
need zstd zstd
need flock util-linux
need dpkg-query dpkg

BINS=()
for p in "${PATHS[@]}"; do
  if [ -d "$p" ]; then
    found=0
    for f in "$p"/hostatlas-backup-linux-*; do
      [ -f "$f" ] || continue
      case $f in *.debug) continue ;; esac
      BINS+=("$(readlink -f "$f")"); found=1
    done
    [ "$found" = 1 ] || die "no hostatlas-backup-linux-* in $p"
  elif [ -f "$p" ]; then
    BINS+=("$(readlink -f "$p")")
  else
    die "no such file or directory: $p"
  fi
done
HOST_ARCH=$(dpkg --print-architecture)

elf_arch() {
  case $(readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p') in
    *X86-64*) echo amd64 ;;
    AArch64) echo arm64 ;;
    *) echo unknown ;;
  esac
}

# ---- 1. ELF dynamic section -------------------------------------------------
check_elf() { # check_elf BIN ARCH
  local bin=$1 arch=$2 ld interp needed n bad=0 vers
  case $arch in
    amd64) ld="ld-linux-x86-64.so.2"; interp=/lib64/ld-linux-x86-64.so.2 ;;
    arm64) ld="ld-linux-aarch64.so.1"; interp=/lib/ld-linux-aarch64.so.1 ;;
  esac
  needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  for n in $needed; do
    case $n in libc.so.6 | libm.so.6 | "$ld") ;; *) fail "$bin: NEEDED $n is not glibc"; bad=1 ;; esac
  done
  [ "$bad" = 0 ] && ok "NEEDED: $needed"
  local gotinterp
  gotinterp=$(readelf -l "$bin" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
  [ "$gotinterp" = "$interp" ] || fail "$bin: interpreter '$gotinterp', want $interp"
  if readelf -d "$bin" | grep -qE '\((RPATH|RUNPATH)\)'; then fail "$bin has an RPATH/RUNPATH"; fi
  vers=$(readelf -V -W "$bin" | grep -oE 'Name: [A-Za-z_]+[0-9.]*' | sed 's/Name: //' | sort -u)
  if echo "$vers" | grep -qE '^(GLIBCXX|CXXABI|GCC)_'; then
    fail "$bin needs libstdc++/libgcc_s symbol versions: $(echo "$vers" | grep -E '^(GLIBCXX|CXXABI|GCC)_' | tr '\n' ' ')"
  else
    ok "no GLIBCXX/CXXABI/GCC symbol versions; needs glibc >= $(echo "$vers" | grep '^GLIBC_[0-9]' | sed 's/GLIBC_//' | sort -V | tail -1)"
  fi
}

# ---- 2. ldd -------------------------------------------------------------------
check_ldd_lines() { # check_ldd_lines BIN ARCH < ldd output
  local bin=$1 arch=$2 line name bad=0 names=""
  while read -r line; do
    [ -n "$line" ] || continue
    name=${line%% *}
    name=${name##*/}
    case $name in "(0x"*) name=vdso ;; esac # qemu's vdso has no name
    case $line in *"not found"*) fail "$bin: ldd: $line"; bad=1; continue ;; esac
    case $name in
      linux-vdso.so.1 | vdso | libc.so.6 | libm.so.6 | ld-linux-x86-64.so.2 | ld-linux-aarch64.so.1) names="$names $name" ;;
      *) fail "$bin: ldd lists $line"; bad=1 ;;
    esac
  done
  [ "$bad" = 0 ] && ok "ldd:$names"
  return 0
}

# ---- glibc's files (allowed to load at run time) ----------------------------------
glibc_names() { # glibc_names DPKG_LIST_FILE: basenames of libc6's shared objects
  grep -E '\.so(\.[0-9]+)*$' "$1" | sed 's#.*/##' | sort -u
}
check_loaded() { # check_loaded BIN ALLOWED_FILE LD_DEBUG_FILES...
  local bin=$1 allowed=$2; shift 2
  local loaded probed n bad=0
  [ $# -gt 0 ] || { fail "$bin: no LD_DEBUG output (was the scenario run?)"; return; }
  # "generating link map" = the object was mapped (NEEDED or dlopen). A
  # dlopen that maps nothing (oneTBB's RTLD_NOLOAD probes for libtbbmalloc,
  # libirml, libiomp5: used only if the process already has them) logs just
  # "dynamically loaded by"; those are listed, not failed.
  loaded=$(cat "$@" | sed -n 's/.*file=\([^ ]*\) \[[0-9]*\]; *generating link map.*/\1/p' | sed 's#.*/##' | sort -u)
  probed=$(cat "$@" | sed -n 's/.*file=\([^ ]*\) \[[0-9]*\]; *dynamically loaded by.*/\1/p' | sed 's#.*/##' | sort -u)
  for n in $loaded; do
    grep -qxF "$n" "$allowed" || { fail "$bin loaded $n at run time, which is not part of glibc"; bad=1; }
  done
  [ "$bad" = 0 ] && ok "mapped at run time (NEEDED + dlopen): $(echo "$loaded" | tr '\n' ' ')"
  local unloaded=""
  for n in $probed; do
    echo "$loaded" | grep -qxF "$n" || unloaded="$unloaded $n"
  done
  [ -z "$unloaded" ] || echo "info: dlopen probes that mapped nothing:$unloaded"
  return 0
}

# ---- 3a. the minbase chroot -----------------------------------------------------------
chroot_tarball() { # chroot_tarball ARCH: prints the path, builds it once
  local arch=$1 tb mirror tmp start
  tb=${HAB_CHROOT_TARBALL:-$CACHE/chroot/debian12-minbase-$arch.tar.zst}
  if [ -f "$tb" ]; then echo "$tb"; return; fi
  need debootstrap debootstrap
  mkdir -p "$(dirname "$tb")"
  exec 8>"$tb.lock"
  flock 8
  if [ ! -f "$tb" ]; then
    mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1 | awk '{print $1}')
    mirror=${HAB_DEPS_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}
    tmp=$(mktemp -d /var/tmp/hab-debootstrap.XXXXXX)
    start=$(date +%s)
    echo "making the Debian 12 minbase chroot tarball $tb (debootstrap from $mirror)..." >&2
    if ! debootstrap --variant=minbase --arch="$arch" bookworm "$tmp/root" "$mirror" >"$tmp/log" 2>&1; then
      tail -20 "$tmp/log" >&2
      rm -rf --one-file-system "$tmp"
      die "debootstrap --variant=minbase bookworm failed"
    fi
    tar --numeric-owner -C "$tmp/root" -cf - . | zstd -q -T2 -3 -o "$tb.tmp"
    mv "$tb.tmp" "$tb"
    rm -rf --one-file-system "$tmp"
    echo "made $tb ($(du -h "$tb" | cut -f1), $(($(date +%s) - start)) s)" >&2
  fi
  exec 8>&-
  echo "$tb"
}

scenario_in_chroot() { # scenario_in_chroot BIN ARCH
  local bin=$1 arch=$2 tb R start pkg f removed="" ours
  tb=$(chroot_tarball "$arch")
  R=$(mktemp -d /var/tmp/hab-chroot.XXXXXX)
  CLEAN+=("$R")
  start=$(date +%s.%N)
  zstd -q -dc "$tb" | tar --numeric-owner -C "$R" -xf -
  local A=$R/var/lib/dpkg
  # None of our libraries may be installed.
  ours=$(dpkg-query --admindir="$A" -W -f '${Package}\n' | grep -E '^(libtbb|libsodium|libcurl|libarchive|libyaml-cpp|libsimdjson|libabsl|libssl|libssh2|libnghttp2|librtmp|libpsl|libbrotli|libldap|libgssapi)' || true)
  [ -z "$ours" ] || die "the chroot has libraries of ours installed: $ours"
  # minbase's own libstdc++6, libgcc-s1, zlib1g, libzstd1 (apt's and dpkg's):
  # delete their shared objects so the binary cannot use them.
  for pkg in libstdc++6 libgcc-s1 zlib1g libzstd1; do
    f=$A/info/$pkg:$arch.list
    [ -f "$f" ] || continue
    while read -r so; do
      if [ -f "$R$so" ] || [ -L "$R$so" ]; then rm -f "$R$so"; removed="$removed ${so##*/}"; fi
    done < <(grep -E '\.so(\.[0-9]+)*$' "$f")
  done
  glibc_names "$A/info/libc6:$arch.list" >"$R/.glibc-names"
  mkdir -p "$R/hab/w" "$R/hab/ld"
  # Test tools for the xattr/ACL part (attr, acl packages; they need only
  # libc and minbase's own libacl1): into /usr/local/bin of the copy.
  for t in setfattr getfattr setfacl getfacl; do cp "$(command -v "$t")" "$R/usr/local/bin/"; done
  cp "$bin" "$R/hab/hostatlas-backup"
  cp "$HERE/scenario.sh" "$R/hab/scenario.sh"
  echo "chroot: Debian 12 minbase from $(basename "$tb"); removed from it:$removed"
  local rc=0
  # env -i: a cron-like environment (no LANG, minimal PATH).
  unshare --mount --pid --fork --mount-proc="$R/proc" -- \
    chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    HAB_RUN=/hab/hostatlas-backup HAB_LD_DEBUG_DIR=/hab/ld HAB_TEST_XATTR_ACL=1 \
    /bin/sh /hab/scenario.sh /hab/w "$EXPECT" || rc=$?
  if [ "$rc" != 0 ]; then
    fail "$bin: scenario failed in the minbase chroot (rc $rc)"
    return 0
  fi
  check_loaded "$bin" "$R/.glibc-names" "$R"/hab/ld/ld.*
  rm -rf --one-file-system "$R"
  ok "$arch minbase chroot scenario passed ($(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s, including unpacking the chroot)"
}

# ---- 3b. qemu-user --------------------------------------------------------------------
qemu_root() { # qemu_root ARCH: a root with only the files of Debian's libc6:ARCH package
  local arch=$1 root ver deb
  dpkg -s "libc6:$arch" >/dev/null 2>&1 ||
    die "libc6:$arch is not installed (dpkg --add-architecture $arch && apt-get update && apt-get install libc6:$arch)"
  ver=$(dpkg-query -W -f '${Version}' "libc6:$arch")
  root=$CACHE/qemu-root-$arch
  if [ "$(cat "$root/.hab-stamp" 2>/dev/null)" != "libc6:$arch $ver" ]; then
    # The package itself (same version as installed), unpacked: exactly its files.
    # shellcheck disable=SC2012 # our own file names
    deb=$(ls /var/cache/apt/archives/libc6_"${ver#*:}"_"$arch".deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
      mkdir -p "$CACHE/debs-$arch"
      (cd "$CACHE/debs-$arch" && apt-get -q -o APT::Sandbox::User=root download "libc6:$arch=$ver" >/dev/null 2>&1) ||
        die "cannot get the libc6:$arch $ver package (apt-get download libc6:$arch=$ver)"
      # shellcheck disable=SC2012 # our own file names
      deb=$(ls "$CACHE/debs-$arch"/libc6_*_"$arch".deb | head -1)
    fi
    rm -rf "$root.tmp"
    mkdir -p "$root.tmp"
    dpkg-deb -x "$deb" "$root.tmp" || die "dpkg-deb -x $deb failed"
    rm -rf "$root.tmp/usr/share"
    echo "libc6:$arch $ver" >"$root.tmp/.hab-stamp"
    rm -rf "$root"
    mv "$root.tmp" "$root"
  fi
  echo "$root"
}

scenario_under_qemu() { # scenario_under_qemu BIN ARCH
  local bin=$1 arch=$2 q qarch root W start rc=0 ld
  case $arch in arm64) qarch=aarch64 ;; *) die "no qemu mapping for $arch" ;; esac
  if command -v "qemu-$qarch-static" >/dev/null 2>&1; then
    q=$(command -v "qemu-$qarch-static")
  elif command -v "qemu-$qarch" >/dev/null 2>&1; then
    q=$(command -v "qemu-$qarch")
  else
    die "neither qemu-$qarch-static nor qemu-$qarch is installed (apt-get install qemu-user-static)"
  fi
  root=$(qemu_root "$arch")
  case $arch in arm64) ld=/lib/ld-linux-aarch64.so.1 ;; esac
  # ldd of a foreign binary: its own ld.so --list, under qemu.
  check_ldd_lines "$bin" "$arch" < <("$q" -L "$root" "$root$ld" --list "$bin" 2>&1 | sed 's/^[[:space:]]*//')
  W=$(mktemp -d /var/tmp/hab-qemu.XXXXXX)
  CLEAN+=("$W")
  mkdir -p "$W/ld"
  glibc_names <(dpkg -L "libc6:$arch") >"$W/glibc-names"
  start=$(date +%s.%N)
  echo "qemu: $q -L $root (only libc6:$arch $(dpkg-query -W -f '${Version}' "libc6:$arch"))"
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    HAB_RUN="$q -L $root -E LD_DEBUG=files -E LD_DEBUG_OUTPUT=$W/ld/ld $bin" HAB_TEST_XATTR_ACL=1 \
    /bin/sh "$HERE/scenario.sh" "$W/w" "$EXPECT" || rc=$?
  if [ "$rc" != 0 ]; then
    fail "$bin: scenario failed under $q (rc $rc)"
    return 0
  fi
  check_loaded "$bin" "$W/glibc-names" "$W"/ld/ld.*
  rm -rf --one-file-system "$W"
  ok "$arch scenario under $(basename "$q") passed ($(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s)"
}

# ---- --dist: the install tree and the installer ---------------------------------------
check_dist() { # check_dist DIST
  local dist=$1 W port srv v out
  need python3 python3
  need sh dash
  [ -f "$dist/backup/version.json" ] || die "no $dist/backup/version.json"
  python3 "$HERE/check_tree.py" "$dist/backup" || fail "$dist: the release tree is inconsistent (see above)"
  # The installer, against a copy of the tree on a local HTTP server.
  W=$(mktemp -d /var/tmp/hab-dist-check.XXXXXX)
  CLEAN+=("$W")
  mkdir -p "$W/srv"
  cp -a "$dist/backup" "$W/srv/backup"
  python3 -u -m http.server --bind 127.0.0.1 0 --directory "$W/srv" >"$W/http.out" 2>"$W/http.log" &
  srv=$!
  port=
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$W/http.out" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then kill "$srv" 2>/dev/null || true; die "python3 -m http.server did not start"; fi
  python3 "$HERE/check_tree.py" --rebase "http://127.0.0.1:$port" "$W/srv/backup"
  local file=hostatlas-backup-linux-$HOST_ARCH latest want args
  latest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$W/srv/backup/version.json")
  for v in latest $(find "$W/srv/backup" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -V); do
    want=$v
    args=(--base-url="http://127.0.0.1:$port" --dir="$W/bin-$v")
    if [ "$v" = latest ]; then want=$latest; else args+=(--version="$v"); fi
    if [ ! -f "$W/srv/backup/$want/$file" ]; then
      echo "info: release $want has no $file; the installer on this machine would refuse it"
      continue
    fi
    if ! out=$(HOME=$W sh "$HERE/../../scripts/install.sh" "${args[@]}" 2>&1); then
      fail "scripts/install.sh ${args[*]} failed: $(echo "$out" | tail -3)"
      continue
    fi
    case $("$W/bin-$v/hostatlas-backup" version 2>&1) in
      "hostatlas-backup $want ("*) ok "scripts/install.sh ($v) installed $("$W/bin-$v/hostatlas-backup" version)" ;;
      *) fail "scripts/install.sh ($v) installed a binary that says '$("$W/bin-$v/hostatlas-backup" version 2>&1)'" ;;
    esac
  done
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
}

need bc bc
need setfattr attr
need getfattr attr
need setfacl acl
need getfacl acl
for bin in "${BINS[@]}"; do
  arch=$(elf_arch "$bin")
  echo "== $bin ($arch, $(stat -c %s "$bin") bytes)"
  case $arch in amd64 | arm64) ;; *) fail "$bin: not an amd64 or arm64 ELF file"; continue ;; esac
  check_elf "$bin" "$arch"
  if [ "$arch" = "$HOST_ARCH" ]; then
    check_ldd_lines "$bin" "$arch" < <(ldd "$bin" 2>&1 | sed 's/^[[:space:]]*//')
    scenario_in_chroot "$bin" "$arch"
  else
    scenario_under_qemu "$bin" "$arch"
  fi
done
if [ -n "$DIST" ]; then
  echo "== release tree $DIST"
  check_dist "$DIST"
fi
if [ "$FAILS" != 0 ]; then
  echo "check_release: $FAILS check(s) FAILED" >&2
  exit 1
fi
echo "check_release: all checks passed (${#BINS[@]} binary(ies)${DIST:+, tree $DIST})"

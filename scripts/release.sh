#!/usr/bin/env bash
# Builds, checks and publishes a release of hostatlas-backup into the install
# tree that scripts/install.sh (https://install.hostatlas.app/backup.sh) reads:
#
#   scripts/release.sh VERSION [--arch amd64|arm64|all] [--ref REF | --worktree | --src DIR]   # as root
#
#   DIST/backup/VERSION/hostatlas-backup-linux-amd64, ...-linux-arm64
#   DIST/backup/VERSION/files.json   [{"filename","size","sha256"}]
#   DIST/backup/latest/              a copy of the newest version's folder
#   DIST/backup/version.json         {"version","binaries":[{"filename","size","sha256","url"}]}
#                                    for the newest version (highest X.Y.Z in DIST/backup)
#   DIST/debug/VERSION/hostatlas-backup-linux-ARCH.debug   debug info (not published)
#
# Each binary depends on glibc only (libc, libm, ld-linux): libstdc++ and
# libgcc static, every other library static (cmake/release.cmake); libraries
# Debian 12 has no usable static build of come from Debian's source packages
# via scripts/deps/*.sh (built once, cached in /opt/hab-deps). arm64 is cross
# built with Debian's cross toolchain and multiarch -dev packages
# (cmake/aarch64-toolchain.cmake).
#
# Steps per architecture: dependencies -> configure (build-release-ARCH) ->
# build the hostatlas-backup target only -> strip (debug info split into a
# .debug file, linked with .gnu_debuglink) -> tests/release/check_release.sh
# (ELF NEEDED/ldd glibc only; version, keygen, files -> local backup, restore
# and diff inside a Debian 12 minbase chroot, or under qemu-user for arm64).
# Only binaries that passed are published; the version folder, latest/ and
# version.json are replaced atomically (rename). Then the published tree is
# checked as the installer sees it (check_release.sh --dist: JSON, latest/,
# scripts/install.sh against a local copy).
#
# Options:
#   --arch A      amd64, arm64 or all (default all). A partial release keeps
#                 the other architecture's binary already in DIST/backup/VERSION.
#   --ref REF     build this commit (default HEAD) from a clean clone of the
#                 repository in build-release-src (git clone --shared; the
#                 work tree's uncommitted changes are not in the release).
#   --worktree    build the work tree as it is instead (the binary then says
#                 <commit>-dirty if it has uncommitted changes).
#   --src DIR     build another checkout as it is (e.g. a clone with a fix
#                 being tried; -dirty as above). The release tooling
#                 (cmake/release.cmake, scripts/deps, tests/release) is always
#                 this repository's.
# Env: HAB_DIST (default REPO/dist), HAB_RELEASE_BASE_URL (default
# https://install.hostatlas.app; version.json's url = BASE/backup/VERSION/FILE),
# HAB_RELEASE_JOBS (default 2), and the HAB_DEPS_* of scripts/deps/common.sh.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${HAB_RELEASE_JOBS:-2}
DIST=${HAB_DIST:-$REPO/dist}
BASE_URL=${HAB_RELEASE_BASE_URL:-https://install.hostatlas.app}
BASE_URL=${BASE_URL%/}

die() { echo "release.sh: ERROR: $*" >&2; exit 1; }
say() { echo "release.sh: $*"; }
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

VERSION=
ARCHES=all
REF=HEAD
SRC=
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --arch) [ $# -ge 2 ] || die "--arch needs a value"; ARCHES=$2; shift ;;
    --arch=*) ARCHES=${1#*=} ;;
    --ref) [ $# -ge 2 ] || die "--ref needs a value"; REF=$2; shift ;;
    --ref=*) REF=${1#*=} ;;
    --worktree) SRC=$REPO ;;
    --src) [ $# -ge 2 ] || die "--src needs a value"; SRC=$(cd "$2" && pwd) || die "no directory $2"; shift ;;
    --src=*) SRC=$(cd "${1#*=}" && pwd) || die "no directory ${1#*=}" ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$VERSION" ] || die "unexpected argument $1"; VERSION=${1#v} ;;
  esac
  shift
done
[ -n "$VERSION" ] || { usage >&2; exit 2; }
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VERSION must be X.Y.Z (digits), got '$VERSION'"
case $ARCHES in
  all) ARCHES="amd64 arm64" ;;
  amd64 | arm64) ;;
  *) die "--arch must be amd64, arm64 or all, got '$ARCHES'" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (builds into /opt/hab-deps, installs packages, runs the chroot test)"
HOST_ARCH=$(dpkg --print-architecture)
[ "$HOST_ARCH" = amd64 ] || die "release builds run on amd64 (the arm64 build is a cross build from amd64)"
T0=$(date +%s)

# ---- packages -------------------------------------------------------------------------
apt_install() {
  local missing=() p
  # pkg:amd64 first: with arm64 added, a bare name of a Multi-Arch: same
  # package installed for both is ambiguous to dpkg -s.
  for p in "$@"; do
    dpkg -s "$p:$HOST_ARCH" >/dev/null 2>&1 || dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null &&
      apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "apt-get install ${missing[*]} failed"
}
PKGS=(build-essential cmake ninja-build pkg-config git binutils python3 dpkg-dev
  libabsl-dev libyaml-cpp-dev libzstd-dev libsodium-dev libssl-dev zlib1g-dev libgtest-dev
  debootstrap zstd bc)
for a in $ARCHES; do
  if [ "$a" = arm64 ]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
      say "adding the arm64 architecture to dpkg (multiarch -dev packages for the cross build)"
      dpkg --add-architecture arm64
      apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null || die "apt-get update failed"
    fi
    PKGS+=(g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static
      libabsl-dev:arm64 libzstd-dev:arm64 libsodium-dev:arm64 libssl-dev:arm64 zlib1g-dev:arm64
      libgtest-dev:arm64 libc6-dev:arm64)
  fi
done
apt_install "${PKGS[@]}"

# ---- source ----------------------------------------------------------------------------
if [ -n "$SRC" ]; then
  [ -f "$SRC/CMakeLists.txt" ] || die "$SRC has no CMakeLists.txt"
  SHA=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    say "WARNING: building $SRC with uncommitted changes: the binary will say ${SHA}-dirty"
    SHA=$SHA-dirty
  fi
else
  SHA_FULL=$(git -C "$REPO" rev-parse --verify "$REF^{commit}") || die "no commit $REF"
  SHA=$(git -C "$REPO" rev-parse --short "$SHA_FULL")
  SRC=$REPO/build-release-src
  if [ ! -d "$SRC/.git" ]; then
    git clone -q --shared --no-checkout "$REPO" "$SRC" || die "git clone --shared $REPO $SRC failed"
  fi
  git -C "$SRC" -c advice.detachedHead=false checkout -q -f --detach "$SHA_FULL" ||
    die "checkout of $SHA_FULL in $SRC failed"
  git -C "$SRC" clean -q -f -d -x
  say "building commit $SHA ($REF) from a clean clone in $SRC"
fi

# ---- per architecture: deps, configure, build, strip, check -----------------------------------
STAGED=()
declare -A TIMES
for ARCH in $ARCHES; do
  FILE=hostatlas-backup-linux-$ARCH
  B=$REPO/build-release-$ARCH
  t=$(date +%s)
  PREFIXES=()
  for d in onetbb simdjson curl acl libarchive libssh2 yaml-cpp; do
    nice -n 10 bash "$REPO/scripts/deps/$d.sh" "$ARCH" || die "scripts/deps/$d.sh $ARCH failed"
    p=$(bash "$REPO/scripts/deps/$d.sh" --prefix "$ARCH")
    if [ -n "$p" ]; then PREFIXES+=("$p"); fi
  done
  TIMES[$ARCH-deps]=$(($(date +%s) - t))
  PLIST=$(IFS=';'; echo "${PREFIXES[*]}")
  CROSS=()
  OBJCOPY="objcopy"
  STRIP="strip"
  if [ "$ARCH" = arm64 ]; then
    CROSS=(-DCMAKE_TOOLCHAIN_FILE="$REPO/cmake/aarch64-toolchain.cmake")
    OBJCOPY=aarch64-linux-gnu-objcopy
    STRIP=aarch64-linux-gnu-strip
  fi
  t=$(date +%s)
  say "configuring $ARCH in $B"
  mkdir -p "$B"
  cmake --fresh -S "$SRC" -B "$B" -G Ninja "${CROSS[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHAB_BUILD_BENCH=OFF -DHAB_BUILD_FUZZ=OFF \
    -DCMAKE_PROJECT_INCLUDE="$REPO/cmake/release.cmake" \
    -DHAB_RELEASE_VERSION="$VERSION" -DHAB_DEPS_PREFIXES="$PLIST" >"$B/release-configure.log" 2>&1 ||
    { tail -30 "$B/release-configure.log" >&2; die "cmake configure ($ARCH) failed; log: $B/release-configure.log"; }
  say "building $ARCH (hostatlas-backup target, -j$JOBS)"
  nice -n 10 ninja -C "$B" -j "$JOBS" hostatlas-backup >"$B/release-build.log" 2>&1 ||
    { grep -E -A5 'error|FAILED' "$B/release-build.log" | head -40 >&2; die "build ($ARCH) failed; log: $B/release-build.log"; }
  TIMES[$ARCH-build]=$(($(date +%s) - t))

  OUT=$B/release
  rm -rf "$OUT"
  mkdir -p "$OUT"
  cp "$B/hostatlas-backup" "$OUT/$FILE.unstripped"
  "$OBJCOPY" --only-keep-debug --compress-debug-sections "$OUT/$FILE.unstripped" "$OUT/$FILE.debug"
  "$STRIP" --strip-all -o "$OUT/$FILE" "$OUT/$FILE.unstripped"
  "$OBJCOPY" --add-gnu-debuglink="$OUT/$FILE.debug" "$OUT/$FILE"
  chmod 0755 "$OUT/$FILE"
  rm -f "$OUT/$FILE.unstripped"
  say "$FILE: $(stat -c %s "$OUT/$FILE") bytes stripped (debug info $(stat -c %s "$OUT/$FILE.debug") bytes in $FILE.debug); NEEDED: $(readelf -d "$OUT/$FILE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
  STAGED+=("$OUT/$FILE")
done

# ---- check: nothing is published that was not run --------------------------------------------
t=$(date +%s)
bash "$REPO/tests/release/check_release.sh" --version "$VERSION" "${STAGED[@]}" ||
  die "tests/release/check_release.sh failed: nothing published"
TIMES[check]=$(($(date +%s) - t))

# ---- publish ----------------------------------------------------------------------------------
mkdir -p "$DIST/backup" "$DIST/debug/$VERSION"
VDIR=$DIST/backup/$VERSION
TMP=$DIST/backup/.$VERSION.tmp.$$
rm -rf "$TMP"
mkdir -p "$TMP"
if [ -d "$VDIR" ]; then
  cp -a "$VDIR/." "$TMP/"
  for f in "${STAGED[@]}"; do
    if [ -f "$VDIR/${f##*/}" ]; then say "WARNING: replacing the published $VERSION/${f##*/}"; fi
  done
fi
for f in "${STAGED[@]}"; do
  cp "$f" "$TMP/${f##*/}"
  cp "$f.debug" "$DIST/debug/$VERSION/${f##*/}.debug"
done
for f in "$TMP"/hostatlas-backup-*; do
  found=0
  for s in "${STAGED[@]}"; do
    if [ "${s##*/}" = "${f##*/}" ]; then found=1; fi
  done
  [ "$found" = 1 ] || say "note: keeping ${f##*/} from an earlier run of $VERSION (not rebuilt now)"
done

# files.json: every binary in the folder, by name.
write_files_json() { # write_files_json DIR
  python3 - "$1" <<'EOF'
import hashlib, json, os, sys
d = sys.argv[1]
out = []
for f in sorted(os.listdir(d)):
    if not f.startswith("hostatlas-backup-") or f.endswith(".debug"):
        continue
    h = hashlib.sha256()
    with open(os.path.join(d, f), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    out.append({"filename": f, "size": os.path.getsize(os.path.join(d, f)), "sha256": h.hexdigest()})
with open(os.path.join(d, "files.json.tmp"), "w") as fh:
    json.dump(out, fh, indent=2)
    fh.write("\n")
os.replace(os.path.join(d, "files.json.tmp"), os.path.join(d, "files.json"))
EOF
}
write_files_json "$TMP"
swap_dir() { # swap_dir NEW DEST: DEST becomes NEW (rename; the old one is removed after)
  local old
  old=$(dirname "$2")/.$(basename "$2").old.$$
  if [ -d "$2" ]; then mv "$2" "$old"; fi
  mv "$1" "$2"
  rm -rf "$old"
}
swap_dir "$TMP" "$VDIR"

# latest/ and version.json: the highest X.Y.Z folder.
LATEST=$(find "$DIST/backup" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -1)
rm -rf "$DIST/backup/.latest.tmp.$$"
cp -a "$DIST/backup/$LATEST" "$DIST/backup/.latest.tmp.$$"
swap_dir "$DIST/backup/.latest.tmp.$$" "$DIST/backup/latest"
python3 - "$DIST/backup" "$LATEST" "$BASE_URL" <<'EOF'
import json, os, sys
root, latest, base = sys.argv[1], sys.argv[2], sys.argv[3]
with open(os.path.join(root, latest, "files.json")) as fh:
    files = json.load(fh)
doc = {"version": latest,
       "binaries": [{"filename": e["filename"], "size": e["size"], "sha256": e["sha256"],
                     "url": f"{base}/backup/{latest}/{e['filename']}"} for e in files]}
tmp = os.path.join(root, "version.json.tmp")
with open(tmp, "w") as fh:
    json.dump(doc, fh, indent=2)
    fh.write("\n")
os.replace(tmp, os.path.join(root, "version.json"))
EOF
[ "$LATEST" = "$VERSION" ] || say "note: $VERSION is not the newest release in $DIST/backup; latest/ and version.json stay at $LATEST"
# The tree as the installer sees it (JSON consistency; scripts/install.sh
# against a local copy, latest and every version pinned).
bash "$REPO/tests/release/check_release.sh" --dist "$DIST" ||
  die "the published tree $DIST fails tests/release/check_release.sh --dist (see above)"

say "published $VERSION (commit $SHA) in $VDIR:"
for f in "${STAGED[@]}"; do
  say "  ${f##*/}  $(stat -c %s "$VDIR/${f##*/}") bytes  sha256 $(sha256sum "$VDIR/${f##*/}" | cut -d' ' -f1)"
done
say "latest: $LATEST; version.json urls under $BASE_URL/backup/$LATEST/"
times=""
for a in $ARCHES; do times="$times $a: deps ${TIMES[$a-deps]} s, configure+build ${TIMES[$a-build]} s;"; done
say "times:$times checks ${TIMES[check]} s; total $(($(date +%s) - T0)) s"

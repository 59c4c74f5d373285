#!/bin/sh
# The release binary's smoke scenario, run by tests/release/check_release.sh
# inside a Debian 12 minbase chroot (amd64, under dash) or on the host with the
# binary under qemu-user (arm64). POSIX sh and Essential-only tools
# (coreutils, findutils, diffutils, grep, sed), nothing of ours.
#
#   HAB_RUN="CMD [ARGS]" sh scenario.sh WORKDIR EXPECT_VERSION
#
# HAB_RUN: how to run the binary (its path, or "qemu-aarch64-static -L ROOT PATH");
# split on spaces, so no spaces in those paths. EXPECT_VERSION: X.Y.Z, or "-"
# to accept any. Steps: version, keygen, a files -> local backup, restore, and
# a comparison of the restored tree (names, types, modes, mtimes, link
# targets, sizes, contents, hard links; with HAB_TEST_XATTR_ACL=1 also a user.*
# extended attribute and POSIX ACLs, which needs setfattr/getfattr and
# setfacl/getfacl on PATH: test tools, not dependencies of the binary).
set -eu
W=$1
EXPECT=$2
: "${HAB_RUN:?set HAB_RUN}"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
# HAB_LD_DEBUG_DIR: when set, the binary's ld.so logs every object it loads
# there (LD_DEBUG=files); check_release.sh checks that list.
# shellcheck disable=SC2086 # HAB_RUN is a command with arguments
hab() {
  if [ -n "${HAB_LD_DEBUG_DIR:-}" ]; then
    LD_DEBUG=files LD_DEBUG_OUTPUT="$HAB_LD_DEBUG_DIR/ld" $HAB_RUN "$@"
  else
    $HAB_RUN "$@"
  fi
}

export HOSTATLAS_BACKUP_LOG_DIR="$W/logs" XDG_RUNTIME_DIR="$W/run"
mkdir -p "$W/run" "$W/dest"

# 1. version
v=$(hab version) || fail "version exited $?"
if [ "$EXPECT" = - ]; then
  case $v in "hostatlas-backup "*" ("*")") ;; *) fail "version printed '$v'" ;; esac
else
  case $v in
    "hostatlas-backup $EXPECT ("*")") ;;
    *) fail "version printed '$v', want 'hostatlas-backup $EXPECT (<commit>)'" ;;
  esac
fi
ok "version: $v"

# 2. keygen: 0600 identity file, recipient printed on stderr and in the file.
hab keygen -o "$W/key.txt" 2>"$W/keygen.err" || fail "keygen exited $?: $(cat "$W/keygen.err")"
[ "$(stat -c %a "$W/key.txt")" = 600 ] || fail "key file mode $(stat -c %a "$W/key.txt"), want 600"
R=$(sed -n 's/^# public key: //p' "$W/key.txt")
case $R in age1?*) ;; *) fail "no '# public key: age1...' line in the key file" ;; esac
grep -q "$R" "$W/keygen.err" || fail "keygen did not print its recipient"
grep -q '^AGE-SECRET-KEY-1' "$W/key.txt" || fail "no AGE-SECRET-KEY-1 line in the key file"
ok "keygen: $R"

# 3. A tree with most kinds of entries.
S=$W/src/data
mkdir -p "$S/empty dir" "$S/deep/a/b/c/d" "$S/uni ü☃"
printf 'hello\n' >"$S/deep/a/b/c/d/leaf.txt"
: >"$S/empty-file"
head -c 3000000 /dev/urandom >"$S/random.bin"
seq 1 200000 >"$S/numbers.txt"
printf 'snowman\n' >"$S/uni ü☃/fïlé ☃.txt"
ln -s numbers.txt "$S/rel-link"
ln -s /does/not/exist "$S/dangling"
ln "$S/numbers.txt" "$S/hardlink"
truncate -s 50M "$S/sparse.img"
printf 'middle' | dd of="$S/sparse.img" bs=1 seek=20000000 conv=notrunc 2>/dev/null
chmod 0751 "$S/deep"
chmod 0600 "$S/random.bin"
chmod 1777 "$S/empty dir"
if [ "${HAB_TEST_XATTR_ACL:-0}" = 1 ]; then
  for t in setfattr getfattr setfacl getfacl; do
    command -v "$t" >/dev/null 2>&1 || fail "$t is not on PATH (HAB_TEST_XATTR_ACL=1)"
  done
  setfattr -n user.note -v "hello xattr" "$S/numbers.txt"
  setfacl -m u:65534:r,g:65534:rw "$S/deep/a/b/c/d/leaf.txt"
  setfacl -d -m u:65534:rx "$S/deep/a/b"
fi
touch -d '2001-02-03 04:05:06' "$S/numbers.txt" "$S/deep/a"
cat >"$W/c.yml" <<EOF
sources:
  - type: files
    name: tree
    paths:
      - $S
destination:
  type: local
  path: $W/dest
encryption:
  recipient: $R
  identity_file: $W/key.txt
EOF

# 4. Backup.
hab --config "$W/c.yml" run >"$W/run.out" 2>"$W/run.err" || fail "run exited $?: $(tail -5 "$W/run.err")"
n=0
for f in "$W/dest"/*.zst.age; do
  if [ -f "$f" ]; then n=$((n + 1)); A=$f; fi
done
[ "$n" = 1 ] || fail "expected 1 archive in $W/dest, found $n: $(ls "$W/dest")"
for f in "$W/dest"/*.partial "$W/dest"/.*.partial; do
  if [ -e "$f" ]; then fail ".partial left in $W/dest: $f"; fi
done
ok "backup: ${A##*/} ($(wc -c <"$A") bytes)"

# 5. Restore (into DIR/<source>/<source path>) and compare.
hab --config "$W/c.yml" restore --to "$W/out" >"$W/restore.out" 2>"$W/restore.err" ||
  fail "restore exited $?: $(tail -5 "$W/restore.err")"
RR=$W/out/tree$S
[ -d "$RR" ] || fail "restore made no $RR"
manifest() { (cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%T@|%l|%s\n' | sed 's/\.[0-9]*|/|/' | sort); }
manifest "$S" >"$W/m.src"
manifest "$RR" >"$W/m.out"
diff "$W/m.src" "$W/m.out" >&2 || fail "restored tree differs (names, types, modes, mtimes, links, sizes)"
diff -r --no-dereference "$S" "$RR" >&2 || fail "restored contents differ"
[ "$(stat -c %i "$RR/numbers.txt")" = "$(stat -c %i "$RR/hardlink")" ] || fail "hard link not restored"
ok "restore: $(wc -l <"$W/m.src") entries identical (names, types, modes, mtimes, links, contents, hard link)"
if [ "${HAB_TEST_XATTR_ACL:-0}" = 1 ]; then
  [ "$(getfattr --only-values -n user.note "$RR/numbers.txt" 2>/dev/null)" = "hello xattr" ] ||
    fail "user.note xattr not restored"
  for f in deep/a/b/c/d/leaf.txt deep/a/b; do
    getfacl -n -p "$S/$f" 2>/dev/null | grep -v '^# file' >"$W/acl.src"
    getfacl -n -p "$RR/$f" 2>/dev/null | grep -v '^# file' >"$W/acl.out"
    diff "$W/acl.src" "$W/acl.out" >&2 || fail "ACL of $f not restored"
  done
  grep -q '^default:user:65534:r-x' "$W/acl.out" || fail "default ACL missing on deep/a/b"
  ok "restore: user.* xattr, access and default ACLs identical"
fi

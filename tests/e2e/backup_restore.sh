#!/usr/bin/env bash
# A tree with every kind of entry survives backup + restore identically,
# through our restore and through `age -d | zstd -d | tar -x` alone.
source "$(dirname "$0")/../lib/e2e.sh"

S=$T/src/data
mkdir -p "$S/empty-dir" "$S/deep/a/b/c/d/e/f/g" "$S/ünïcødé dir" "$S/node_modules/pkg"
: > "$S/empty-file"
printf 'hello\n' > "$S/deep/a/b/c/d/e/f/g/leaf.txt"
long=$(printf 'n%.0s' $(seq 1 200))
printf 'long name\n' > "$S/$long"
printf 'snowman ☃\n' > "$S/ünïcødé dir/fïlé ☃.txt"
# 9 MB: at least one whole 4 MiB chunk of random bytes, stored by zstd's fast path.
head -c 9000000 /dev/urandom > "$S/random.bin"
seq 1 300000 > "$S/numbers.txt"
ln -s numbers.txt "$S/rel-link"
ln -s /etc/hostname "$S/abs-link"
ln -s does-not-exist "$S/dangling"
ln "$S/numbers.txt" "$S/hardlink"
truncate -s 200M "$S/sparse.img"; printf 'middle' | dd of="$S/sparse.img" bs=1 seek=100000000 conv=notrunc status=none
chmod 0751 "$S/deep"; chmod 0600 "$S/random.bin"; chmod 4755 "$S/empty-file"; chmod 1777 "$S/empty-dir"
printf 'skip me\n' > "$S/node_modules/pkg/index.js"
printf 'skip me\n' > "$S/debug.log"
touch -d '2001-02-03 04:05:06' "$S/numbers.txt" "$S/deep/a"

EXTRA='    exclude: ["**/node_modules", "*.log"]' SOURCE_NAME=tree write_config "$T/br.yml" "$S"
# Move the exclude line under the source (write_config appends EXTRA at the end).
sed -i '/^    exclude:/d' "$T/br.yml"; sed -i "s|^      - $S\$|      - $S\n    exclude: [\"**/node_modules\", \"*.log\"]|" "$T/br.yml"
# stderr to a file first (a `tee` in a process substitution may not have
# written everything yet when the grep below reads it), then shown.
rc=0; "$BIN" --debug --config "$T/br.yml" run 2> "$T/run.err" || rc=$?
cat "$T/run.err" >&2
[ "$rc" = 0 ] || fail "run exited $rc"
[ "$(archives)" = 1 ] || fail "expected one archive"
# --debug says how many chunks zstd found incompressible (random.bin's).
line=$(grep -E '^hostatlas-backup: trace: tree: zstd: [0-9]+ of [0-9]+ chunks incompressible' "$T/run.err") ||
  fail "no zstd trace line"
read -r n m < <(sed -E 's/.*zstd: ([0-9]+) of ([0-9]+) chunks.*/\1 \2/' <<< "$line")
[ "$n" -ge 1 ] && [ "$n" -lt "$m" ] || fail "zstd trace: $line"
ok "--debug: $n of $m chunks incompressible"
no_partials || fail ".partial left behind"
A=$(ls "$T/dest"/*.zst.age)
case "$(basename "$A")" in hostatlas-backup-tree-[0-9]*T[0-9]*Z.tar.zst.age) ok "archive name $(basename "$A")";; *) fail "bad name $A";; esac

# Compare two trees: names, types, modes, mtimes, link targets, contents.
manifest() { (cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%T@|%l|%s\n' | sed 's/\.[0-9]*|/|/' | sort); }
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
expected=$T/expected; mkdir -p "$expected"
rsync_like() { (cd "$T/src" && tar --exclude=node_modules --exclude='*.log' -cf - data) | (cd "$expected" && tar -xpf -); }
rsync_like

# 1. Stock tools only.
mkdir -p "$T/stock"
age -d -i "$T/key.txt" "$A" | zstd -d | tar -xpf - -C "$T/stock"
diff <(manifest "$expected/data") <(manifest "$T/stock${S}") || fail "stock restore differs"
diff <(sums "$expected/data") <(sums "$T/stock${S}") || fail "stock restore contents differ"
ok "age -d | zstd -d | tar -x restores the tree"

# 2. Our restore (into DIR/<source>/).
"$BIN" --config "$T/br.yml" restore --to "$T/ours"
R=$T/ours/tree${S}
diff <(manifest "$expected/data") <(manifest "$R") || fail "our restore differs"
diff <(sums "$expected/data") <(sums "$R") || fail "our restore contents differ"
[ "$(stat -c %h "$R/numbers.txt")" = 2 ] || fail "hardlink lost"
[ "$(stat -c %i "$R/numbers.txt")" = "$(stat -c %i "$R/hardlink")" ] || fail "hardlink not linked"
alloc=$(du -k "$R/sparse.img" | cut -f1); [ "$alloc" -lt 10240 ] || fail "sparse file restored dense ($alloc KiB)"
[ ! -e "$R/node_modules" ] && [ ! -e "$R/debug.log" ] || fail "excludes not applied"
ok "our restore matches (names, types, modes, mtimes, links, sparse, hardlinks)"

# 3. zstd size is within 1.5% of zstd -3 on the same tar.
age -d -i "$T/key.txt" "$A" | zstd -d > "$T/plain.tar"
ours=$(age -d -i "$T/key.txt" "$A" | wc -c)
ref=$(zstd -3 -c "$T/plain.tar" | wc -c)
awk -v o="$ours" -v r="$ref" 'BEGIN { exit !(o <= r * 1.015) }' || fail "zstd output $ours > 1.015 x $ref"
ok "zstd stream $ours bytes vs zstd -3 $ref bytes"

# 4. Restoring again into the same place overwrites nothing: a source that
#    is there already is skipped (a re-run restores only what is missing).
"$BIN" --config "$T/br.yml" restore --to "$T/ours" > "$T/out" || fail "second restore failed"
grep -q "tree: skipped, $T/ours/tree exists already" "$T/out" || fail "no skip line: $(cat "$T/out")"
diff <(manifest "$expected/data") <(manifest "$R") || fail "second restore changed the target"
ok "second restore skips what is there, target unchanged"

# 5. Dry run prints the plan without touching the destination.
before=$(ls -A "$T/dest" | wc -l)
"$BIN" --debug --config "$T/br.yml" run --dry-run > "$T/plan.txt"
grep -q "kind=zstd concurrency=" "$T/plan.txt" || fail "plan lacks zstd node"
grep -q "^  edge tree/zstd -> tree/chunker" "$T/plan.txt" || fail "plan lacks edges"
"$BIN" --config "$T/br.yml" run --dry-run --format=dot | grep -q '^digraph' || fail "no DOT output"
[ "$(ls -A "$T/dest" | wc -l)" = "$before" ] || fail "dry-run wrote to the destination"
ok "dry-run prints text and DOT plans"
# 6. Extended attributes, POSIX ACLs (access and default) and file
#    capabilities survive our restore and GNU tar's (issue 20.12); ownership
#    is restored by number.
X=$T/xsrc; mkdir -p "$X/dir"
printf 'note\n' > "$X/note.txt"
setfattr -n user.note -v hello "$X/note.txt"
setfacl -m u:1234:rw "$X/note.txt"
setfacl -d -m u:1234:rx "$X/dir"
cp /bin/true "$X/ping-copy"; setcap cap_net_raw+ep "$X/ping-copy"
printf 'owned\n' > "$X/owned.txt"; chown 4321:4322 "$X/owned.txt"
SOURCE_NAME=xattrs write_config "$T/xa.yml" "$X"
"$BIN" --config "$T/xa.yml" run >/dev/null 2>"$T/err" || fail "xattr backup: $(cat "$T/err")"
XA=$(ls "$T"/dest/hostatlas-backup-xattrs-*.zst.age)
check_meta() { # check_meta DIR WHO
  [ "$(getfattr --only-values -n user.note "$1/note.txt" 2>/dev/null)" = hello ] || fail "$2: user.note lost"
  getfacl -p "$1/note.txt" 2>/dev/null | grep -q '^user:1234:rw-$' || fail "$2: access ACL lost"
  getfacl -p "$1/dir" 2>/dev/null | grep -q '^default:user:1234:r-x$' || fail "$2: default ACL lost"
  getcap "$1/ping-copy" | grep -q 'cap_net_raw=ep' || fail "$2: file capability lost: $(getcap "$1/ping-copy")"
  [ "$(stat -c %u:%g "$1/owned.txt")" = 4321:4322 ] || fail "$2: owner by number lost"
}
"$BIN" --config "$T/xa.yml" restore --to "$T/xr" >/dev/null 2>"$T/err" || fail "xattr restore: $(cat "$T/err")"
check_meta "$T/xr/xattrs$X" ours
mkdir -p "$T/xgnu"
age -d -i "$T/key.txt" "$XA" | zstd -d | tar --xattrs --xattrs-include='*' --acls -xpf - -C "$T/xgnu" 2>"$T/err"
[ ! -s "$T/err" ] || fail "GNU tar complained: $(cat "$T/err")"
check_meta "$T/xgnu$X" "GNU tar"
ok "xattrs (user.*, security.capability), access and default ACLs, numeric owners: restored by ours and by GNU tar"
# Not root: what cannot be set is said once, not per file.
NR=$T/nr; mkdir -p "$NR"; chmod 755 "$T"
cp "$T/key.txt" "$NR/key"; chown -R nobody "$NR"; chmod 700 "$NR"
sed "s|identity_file: $T/key.txt|identity_file: $NR/key|" "$T/xa.yml" > "$NR/c.yml"; chown nobody "$NR/c.yml"
chmod o+rx "$T/dest"; chmod o+r "$XA"
runuser -u nobody -- env HOSTATLAS_BACKUP_LOG_DIR="$NR/logs" XDG_RUNTIME_DIR="$NR" HOME="$NR" \
  "$BIN" --config "$NR/c.yml" restore --to "$NR/out" >/dev/null 2>"$T/err" || true
[ "$(grep -c 'could not be restored' "$T/err")" = 1 ] || fail "non-root: $(cat "$T/err")"
[ "$(getfattr --only-values -n user.note "$NR/out/xattrs$X/note.txt" 2>/dev/null)" = hello ] || fail "non-root: user.note lost"
ok "a non-root restore sets what it may and warns once for the rest"
echo "$CHECKS passed, 0 failed"

#!/usr/bin/env bash
# The everyday operator (issue 20) against the real binary: --format without
# --dry-run, {{ date }} folders found again (list, status, retention across
# days, restore), quiet under cron, list/verify, a missing key's closest
# keys, what the dry run tells (golden files), unused keys (schedule),
# partial results in status, the full example config, 12 sources under
# 48 MiB. HAB_UPDATE_GOLDEN=1 rewrites tests/e2e/golden/*.txt.
source "$(dirname "$0")/../lib/e2e.sh"
GOLDEN=$(cd "$(dirname "$0")" && pwd)/golden
DOCS=$(cd "$(dirname "$0")/../.." && pwd)/docs/config.md
HOST=$(hostname)
# Locks in the scratch dir: nothing is left in /run/hostatlas-backup, and no
# other test's config of the same file name can collide with ours.
mkdir -m 0700 "$T/lock"; export HOSTATLAS_BACKUP_LOCK_DIR=$T/lock

S=$T/src; mkdir -p "$S/sub"; seq 1 20000 > "$S/sub/n.txt"; head -c 200000 /dev/urandom > "$S/r.bin"
write_config "$T/plain.yml" "$S"

# Volatile parts of the text output: scratch dir, hostname, recipient,
# timestamps, dates, clock times, sizes. The source estimate depends on the
# machine (the used space of its filesystem, or a walk), so it goes entirely.
normalise() {
  sed -E -e "s|${T//./\\.}|\$T|g" -e "s|\\\$T/dated/$HOST|\$T/dated/HOST|g" -e "s|$RECIPIENT|RECIPIENT|g" \
    -e 's/[0-9]{8}T[0-9]{6}Z/TIMESTAMP/g' -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}/DATE/g' \
    -e 's/[0-9]{2}:[0-9]{2}:[0-9]{2}Z/TIME/g' -e 's/[0-9]+(\.[0-9]+)? (B|KiB|MiB|GiB|TiB)\b/N \2/g' \
    -e 's/^(    -> .*\.age) \((at most|source about) .*\)$/\1 (ESTIMATE)/' "$1"
}
# golden NAME FILE: FILE, normalised, equals tests/e2e/golden/NAME
# (HAB_UPDATE_GOLDEN=1 writes it instead).
golden() {
  normalise "$2" > "$T/golden.$1"
  if [ "${HAB_UPDATE_GOLDEN:-}" = 1 ]; then
    mkdir -p "$GOLDEN"; cp "$T/golden.$1" "$GOLDEN/$1"; echo "updated $GOLDEN/$1"; return 0
  fi
  [ -f "$GOLDEN/$1" ] || fail "no golden file $GOLDEN/$1 (HAB_UPDATE_GOLDEN=1 writes it)"
  diff -u "$GOLDEN/$1" "$T/golden.$1" > "$T/golden.diff" || fail "$1 differs from $GOLDEN/$1:
$(cat "$T/golden.diff")"
}
newest_log() { python3 -c "import glob,os; print(max(glob.glob('$T/logs/run-*.json'), key=os.path.getmtime))"; }

# 1. --format without --dry-run is a usage error: exit 2, nothing done (no
#    archive, no run log, no lock taken), and the hint names --dry-run.
for f in dot text; do
  expect_rc 2 "$BIN" --config "$T/plain.yml" run --format=$f >"$T/out" 2>"$T/err"
  grep -q -- "--format is only valid with --dry-run" "$T/err" || fail "--format=$f without --dry-run: $(cat "$T/err")"
  grep -q -- "run --dry-run --format=$f" "$T/err" || fail "no hint for --format=$f: $(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "--format=$f without --dry-run printed a plan: $(cat "$T/out")"
done
[ -z "$(ls -A "$T/dest")" ] || fail "--format without --dry-run wrote to the destination: $(ls -A "$T/dest")"
[ -z "$(ls "$T"/logs/run-*.json 2>/dev/null)" ] || fail "--format without --dry-run wrote a run log: $(ls "$T/logs")"
[ -z "$(ls -A "$T/lock")" ] || fail "--format without --dry-run took the lock: $(ls -A "$T/lock")"
"$BIN" --config "$T/plain.yml" run --dry-run --format=dot > "$T/out" 2>/dev/null || fail "run --dry-run --format=dot failed"
grep -q '^digraph ' "$T/out" || fail "--dry-run --format=dot printed no graph: $(head -3 "$T/out")"
ok "run --format=dot|text without --dry-run: exit 2, nothing written, no run log, no lock; with --dry-run a graph"

# 2. {{ date }} in the path: archives in several dated folders are one
#    history. Older days are made by moving a run's archive into the folder
#    of an older day under that day's name; each run has its own version.txt.
sed "s|^  path: $T/dest\$|  path: $T/dated/{{ hostname }}/{{ date }}|" "$T/plain.yml" > "$T/dated.yml"
printf 'retention:\n  keep_last: 2\nperformance:\n  parallelism: 2\nhooks:\n  pre: ["true"]\n  post: ["echo done"]\n' >> "$T/dated.yml"
grep -q '{{ date }}' "$T/dated.yml" || fail "test config lacks {{ date }}"
D=$T/dated/$HOST
# dated_run VERSION: runs the dated config, prints the new archive's key.
dated_run() {
  echo "$1" > "$S/version.txt"
  "$BIN" --config "$T/dated.yml" run >"$T/out" 2>"$T/err" || fail "dated run $1: $(cat "$T/err")"
  [ ! -s "$T/err" ] || fail "dated run $1 printed on stderr: $(cat "$T/err")"
  sed -n 's/^hostatlas-backup: tree: ok \([^ ]*\) .*/\1/p' "$T/out"
}
# back_date KEY DAYS: moves today's archive KEY to the folder DAYS days
# older, named with 03:00:00 of that day; prints its new key.
back_date() {
  local today=${1%%/*} day ts
  day=$(date -u -d "$today -$2 days" +%F); ts=$(date -u -d "$today -$2 days" +%Y%m%dT030000Z)
  mkdir -p "$D/$day" && mv "$D/$1" "$D/$day/hostatlas-backup-tree-$ts.tar.zst.age" && rmdir "$D/$today" \
    || fail "could not move $1 to $day"
  echo "$day/hostatlas-backup-tree-$ts.tar.zst.age"
}
k=$(dated_run v1)
[[ $k =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}/hostatlas-backup-tree-[0-9]{8}T[0-9]{6}Z\.tar\.zst\.age$ ]] || fail "key not under a dated folder: '$k'"
[ -f "$D/$k" ] || fail "archive not at $D/$k: $(find "$T/dated")"
TODAY=${k%%/*}
K1=$(back_date "$k" 28)
k=$(dated_run v2)
K2=$(back_date "$k" 14)
mkdir -p "$D/not-a-date"
NOT_A_DATE=$D/not-a-date/hostatlas-backup-tree-$(date -u -d "$TODAY -7 days" +%Y%m%dT030000Z).tar.zst.age
cp "$D/$K1" "$NOT_A_DATE"
[ ! -e "$D/$TODAY" ] || fail "today's folder should not exist yet"
"$BIN" --config "$T/dated.yml" status > "$T/status" 2>&1 || fail "status: $(cat "$T/status")"
grep -q "^  tree: 2 archives, .*, newest $K2\$" "$T/status" || fail "status before today's run (want 2 archives, newest $K2): $(cat "$T/status")"
ok "status counts archives in every dated folder (today's not there yet), ignores not-a-date/"

K3=$(dated_run v3)
[ "${K3%%/*}" = "$TODAY" ] || fail "today's run went to '$K3'"
grep -q "^hostatlas-backup: tree: retention deleted $K1\$" "$T/out" || fail "retention did not report deleting $K1: $(cat "$T/out")"
[ ! -e "$D/$K1" ] || fail "retention kept the oldest archive $K1 (keep_last must count across days)"
[ -f "$D/$K2" ] && [ -f "$D/$K3" ] || fail "retention deleted too much: $(find "$D" -type f)"
[ -f "$NOT_A_DATE" ] || fail "retention deleted the file in not-a-date/"
ok "keep_last 2 counts across dated folders: the oldest day's archive goes, not-a-date/ is left alone"

"$BIN" --config "$T/dated.yml" status > "$T/status" 2>&1 || fail "status: $(cat "$T/status")"
grep -q "^  tree: 2 archives, .*, newest $K3\$" "$T/status" || fail "status after today's run: $(cat "$T/status")"
"$BIN" --config "$T/dated.yml" list > "$T/list" 2>"$T/err" || fail "list: $(cat "$T/err")"
[ "$(grep -o 'hostatlas-backup-tree-.*' "$T/list" | tr '\n' ' ')" = "${K3#*/} ${K2#*/} " ] || fail "list is not [$K3, $K2]: $(cat "$T/list")"
grep -q "  $K3\$" "$T/list" && grep -q "  $K2\$" "$T/list" || fail "list does not print the keys with their folder: $(cat "$T/list")"
grep -q "not-a-date" "$T/list" && fail "list shows not-a-date/: $(cat "$T/list")"
golden list.txt "$T/list"
ok "status and list see both dated folders, newest first, without not-a-date/ (golden list.txt)"

"$BIN" --config "$T/dated.yml" restore --to "$T/rn" > "$T/out" 2>"$T/err" || fail "restore: $(cat "$T/err")"
[ "$(cat "$T/rn/tree$S/version.txt")" = v3 ] || fail "restore without --from did not restore today's archive"
grep -q "restored $K3 " "$T/out" || fail "restore does not name $K3: $(cat "$T/out")"
i=0
for from in "$K2" "${K2#*/}" "$D/$K2"; do
  i=$((i + 1))
  "$BIN" --config "$T/dated.yml" restore --to "$T/ro$i" --from "$from" > "$T/out" 2>"$T/err" || fail "restore --from $from: $(cat "$T/err")"
  [ "$(cat "$T/ro$i/tree$S/version.txt")" = v2 ] || fail "restore --from $from did not restore the older archive"
  cmp -s "$S/r.bin" "$T/ro$i/tree$S/r.bin" || fail "restore --from $from differs"
done
ok "restore: newest from today's folder; --from the older key as list prints it, as a bare name, as an absolute path"
(cd "$T/dated" && "$BIN" --config "$T/dated.yml" restore --to "$T/rrel" --from "./$HOST/../$HOST/$K2") >"$T/out" 2>"$T/err" \
  || fail "restore --from a relative path: $(cat "$T/err")"
[ "$(cat "$T/rrel/tree$S/version.txt")" = v2 ] || fail "restore --from a relative path did not restore $K2"
for bad in "--from=" "--to="; do
  expect_rc 2 "$BIN" --config "$T/dated.yml" restore --to "$T/rempty" "$bad" >"$T/out" 2>"$T/err"
  grep -q "restore: ${bad%=} needs a value" "$T/err" || fail "restore $bad: $(cat "$T/err")"
done
expect_rc 2 "$BIN" --config "$T/dated.yml" verify --from "" >"$T/out" 2>"$T/err"
grep -q "verify: --from needs a value" "$T/err" || fail "verify --from '': $(cat "$T/err")"
[ ! -e "$T/rempty" ] || fail "an empty flag restored something"
ok "restore --from a path relative to the working folder (with ./ and ..); an empty --from or --to is a usage error, not the newest"

# Only this config's archives count (helper-11's hostile run): a dump of
# another config's database source also named "tree", a name dated a year
# ahead (a clock that was ahead, or planted), and a folder that only looks
# like a date are neither counted nor deleted nor restored.
# On a copy of the dated history (later checks use the original).
cp -a "$T/dated" "$T/dated2"; sed "s|$T/dated/|$T/dated2/|" "$T/dated.yml" > "$T/dated2.yml"
grep -q "$T/dated2/" "$T/dated2.yml" || fail "dated2.yml"
D2=$T/dated2/$HOST
OLD=$(date -u -d "$TODAY -3 days" +%F); FUT=$(date -u -d "$TODAY +365 days" +%F)
mkdir -p "$D2/$OLD" "$D2/$FUT" "$D2/2026-13-45"
# The dump is dated two minutes ahead: newer than the run below makes, yet
# not "in the future" (5 minutes' slack), so only its kind keeps it out.
NOWDIR=$(date -u +%F); mkdir -p "$D2/$NOWDIR"
SQL=$D2/$NOWDIR/hostatlas-backup-tree-$(date -u -d '+2 minutes' +%Y%m%dT%H%M%SZ).sql.zst.age
FUTURE=$D2/$FUT/hostatlas-backup-tree-$(date -u -d "$FUT" +%Y%m%dT030000Z).tar.zst.age
NODATE=$D2/2026-13-45/hostatlas-backup-tree-$(date -u -d "$OLD" +%Y%m%dT040000Z).tar.zst.age
printf -- '-- MySQL dump\n' | zstd -q | age -r "$RECIPIENT" > "$SQL"
echo planted > "$FUTURE"; cp "$D2/$K2" "$NODATE"
sleep 1.1
echo v4 > "$S/version.txt"
"$BIN" --config "$T/dated2.yml" run >"$T/out" 2>"$T/err" || fail "run v4: $(cat "$T/err")"
# (ok_with_warnings: the future name is a warning)
K4=$(sed -n 's/^hostatlas-backup: tree: ok_with_warnings \([^ ]*\) .*/\1/p' "$T/out")
grep -q "^hostatlas-backup: tree: retention deleted $K2\$" "$T/out" || fail "retention v4 did not delete $K2: $(cat "$T/out")"
[ -n "$K4" ] && [ -f "$D2/$K3" ] && [ -f "$D2/$K4" ] && [ -f "$SQL" ] && [ -f "$FUTURE" ] && [ -f "$NODATE" ] \
  || fail "retention deleted what is not its own (K3 $K3, K4 $K4): $(find "$D2" -type f) $(cat "$T/out")"
grep -q "tree: retention: $FUT/.* is dated in the future" "$T/err" || fail "no warning for the future name: $(cat "$T/err")"
"$BIN" --config "$T/dated2.yml" restore --to "$T/rf" >"$T/out" 2>"$T/err" || fail "restore v4: $(cat "$T/err")"
[ "$(cat "$T/rf/tree$S/version.txt")" = v4 ] && [ ! -e "$T/rf/tree.sql" ] || fail "restore did not pick $K4: $(ls -R "$T/rf" | head)"
grep -q "tree: passed over $FUT/.*dated in the future" "$T/err" || fail "restore: no warning for the future name: $(cat "$T/err")"
# A second source whose only archive is dated in the future: restore and
# verify fail it by name (exit 1) instead of leaving it out.
OTHER_FUT=$D2/$FUT/hostatlas-backup-other-$(date -u -d "$FUT" +%Y%m%dT030000Z).tar.zst.age
echo planted > "$OTHER_FUT"
sed 's/^sources:$/sources:\n  - {type: files, name: other, paths: ["\/nonexistent"]}/' "$T/dated2.yml" > "$T/dated3.yml"
grep -q "name: other" "$T/dated3.yml" || fail "dated3.yml"
expect_rc 1 "$BIN" --config "$T/dated3.yml" restore --to "$T/rf3" >"$T/out" 2>"$T/err"
[ "$(cat "$T/rf3/tree$S/version.txt")" = v4 ] || fail "restore with a future-only source: tree not restored: $(cat "$T/err")"
grep -q "other: restore of $FUT/hostatlas-backup-other-.* failed: every archive of this source is dated in the future" "$T/err" \
  || fail "restore: the future-only source is not named: $(cat "$T/err")"
expect_rc 1 "$BIN" --config "$T/dated3.yml" verify >"$T/out" 2>"$T/err"
grep -q "other: .*every archive of this source is dated in the future" "$T/err" || fail "verify: the future-only source: $(cat "$T/out" "$T/err")"
ok "retention and restore take only this config's kind of archive, pass over a future name (with a warning) and a not-a-date folder; a source with only future names fails by name"

# Leftovers of another host (or outside the template's folders) are not
# ours to sweep; our own stale .partial is.
cat "$T/plain.yml" | sed "s|^  path: $T/dest\$|  path: $T/hd/{{ date }}/{{ hostname }}|" > "$T/hd.yml"
grep -q '{{ hostname }}' "$T/hd.yml" || fail "hd.yml"
mkdir -p "$T/hd/$TODAY/otherhost" "$T/hd/scratch/deep" "$T/hd/$OLD/$HOST"
P_OTHER=$T/hd/$TODAY/otherhost/hostatlas-backup-tree-$(date -u -d "$OLD" +%Y%m%dT030000Z).tar.zst.age.partial
P_SCRATCH=$T/hd/scratch/deep/hostatlas-backup-tree-$(date -u -d "$OLD" +%Y%m%dT030000Z).tar.zst.age.partial
P_OURS=$T/hd/$OLD/$HOST/hostatlas-backup-tree-$(date -u -d "$OLD" +%Y%m%dT030000Z).tar.zst.age.partial
for f in "$P_OTHER" "$P_SCRATCH" "$P_OURS"; do echo x > "$f"; touch -d '1 hour ago' "$f"; done
"$BIN" --config "$T/hd.yml" status >"$T/status" 2>&1 || fail "hd status: $(cat "$T/status")"
grep -q "unfinished archive.*$OLD/$HOST/" "$T/status" || fail "status does not show our leftover: $(cat "$T/status")"
grep -q "otherhost\|scratch" "$T/status" && fail "status shows another host's leftover: $(cat "$T/status")"
"$BIN" --config "$T/hd.yml" run >"$T/out" 2>"$T/err" || fail "hd run: $(cat "$T/err")"
[ ! -e "$P_OURS" ] && [ -f "$P_OTHER" ] && [ -f "$P_SCRATCH" ] || fail "sweep: $(find "$T/hd" -name '*.partial')"
ok "the leftover sweep takes this host's stale .partial only: another host's folder and a folder outside the template are left"

# A dated folder planted in a shared path (another user's symlink, or a
# folder another user made first): the run refuses to write there (exit 1,
# the folder named) and nothing lands in the other user's folder.
TODAY=$(date -u +%F)  # again: the run dates its folder now, not when the test began
mkdir -m 1777 "$T/shared"; mkdir "$T/shared/elsewhere"; chown nobody "$T/shared/elsewhere"
ln -s elsewhere "$T/shared/$TODAY"; chown -h nobody "$T/shared/$TODAY"
sed "s|^  path: $T/dest\$|  path: $T/shared/{{ date }}|" "$T/plain.yml" > "$T/shared.yml"
grep -q "$T/shared/{{ date }}" "$T/shared.yml" || fail "shared.yml"
expect_rc 1 "$BIN" --config "$T/shared.yml" run >"$T/out" 2>"$T/err"
grep -q "$T/shared/$TODAY is a symlink: archives are not written through a symlink" "$T/err" || fail "symlinked dated folder: $(cat "$T/err")"
[ -z "$(ls -A "$T/shared/elsewhere")" ] || fail "written through the symlink: $(ls -la "$T/shared/elsewhere")"
rm "$T/shared/$TODAY"; mkdir "$T/shared/$TODAY"; chown nobody "$T/shared/$TODAY"
expect_rc 1 "$BIN" --config "$T/shared.yml" run >"$T/out" 2>"$T/err"
grep -q "$T/shared/$TODAY belongs to uid $(id -u nobody), not to this user" "$T/err" || fail "foreign dated folder: $(cat "$T/err")"
[ -z "$(ls -A "$T/shared/$TODAY")" ] || fail "written into another user's folder: $(ls -la "$T/shared/$TODAY")"
# Another uid's dated folder under a parent nobody else can write to (what
# NFS root_squash gives root): fine.
mkdir -m 0755 "$T/squash"; mkdir "$T/squash/$TODAY"; chown nobody "$T/squash/$TODAY"
sed "s|^  path: $T/dest\$|  path: $T/squash/{{ date }}|" "$T/plain.yml" > "$T/squash.yml"
"$BIN" --config "$T/squash.yml" run >"$T/out" 2>"$T/err" || fail "another uid's folder under a private parent: $(cat "$T/err")"
[ -n "$(ls "$T/squash/$TODAY")" ] || fail "no archive in $T/squash/$TODAY"
ok "a dated folder that is a symlink, or another user's, in a shared path: exit 1 naming it, nothing written there; another uid's folder under a private parent is fine"

# 3. Quiet under cron.
"$BIN" --config "$T/plain.yml" run >"$T/out" 2>"$T/err" || fail "plain run: $(cat "$T/err")"
grep -q "^hostatlas-backup: tree: ok hostatlas-backup-tree-.*verification ok" "$T/out" || fail "no summary on stdout: $(cat "$T/out")"
[ ! -s "$T/err" ] || fail "a clean successful run wrote to stderr: $(cat "$T/err")"
[ "$(archives)" = 1 ] || fail "plain run: $(archives) archives"
ok "a successful run: summary on stdout, nothing on stderr"
sleep 1.1
"$BIN" -q --config "$T/plain.yml" run >"$T/out" 2>"$T/err" || fail "-q run failed: $(cat "$T/err")"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "-q printed on success: $(cat "$T/out" "$T/err")"
[ "$(archives)" = 2 ] || fail "-q run made no archive"
ok "-q success: exit 0, stdout and stderr empty, the archive is there"
expect_rc 1 env HOSTATLAS_BACKUP_FAULT=zstd:1 "$BIN" -q --config "$T/plain.yml" run >"$T/out" 2>"$T/err"
grep -q "error: tree: failed: .*injected fault in zstd" "$T/err" || fail "-q failure printed nothing: $(cat "$T/out" "$T/err")"
# Everything: a run where one source fails (a 3-chunk source, fault at the
# third zstd call) and one succeeds prints the same with and without -q.
head -c 9000000 /dev/urandom > "$T/big.bin"
cat > "$T/two.yml" <<YAML
sources:
  - {type: files, name: big, paths: [$T/big.bin]}
  - {type: files, name: small, paths: [$S]}
destination: {type: local, path: $T/dest2}
encryption: {recipient: $RECIPIENT, identity_file: $T/key.txt}
YAML
expect_rc 1 env HOSTATLAS_BACKUP_FAULT=zstd:3 "$BIN" --config "$T/two.yml" run >"$T/loud.out" 2>"$T/loud.err"
sleep 1.1
expect_rc 1 env HOSTATLAS_BACKUP_FAULT=zstd:3 "$BIN" -q --config "$T/two.yml" run >"$T/q.out" 2>"$T/q.err"
grep -q "small: ok" "$T/q.out" && grep -q "big: failed" "$T/q.err" || fail "-q with one failed source: $(cat "$T/q.out" "$T/q.err")"
for f in out err; do
  diff <(normalise "$T/loud.$f" | sed -E 's/[0-9.]+ s,/N s,/') <(normalise "$T/q.$f" | sed -E 's/[0-9.]+ s,/N s,/') >/dev/null || fail "-q with a failure printed differently on std$f: $(diff "$T/loud.$f" "$T/q.$f")"
done
ok "-q and a failure: exit 1, everything printed (same as without -q, the ok source included)"
sleep 1.1
EXTRA='schedule: "0 3 * * *"' write_config "$T/hb.yml" "$S"
"$BIN" -q --config "$T/hb.yml" run >"$T/out" 2>"$T/err" || fail "-q with a warning failed: $(cat "$T/err")"
grep -q "warning: .*schedule" "$T/err" || fail "-q with a warning: no warning printed: $(cat "$T/err")"
grep -q "^hostatlas-backup: tree: ok " "$T/out" || fail "-q with a warning: no summary: $(cat "$T/out")"
ok "-q and a warning: exit 0, warning and summary printed"

# 4. list, list --json and verify on the plain destination (3 archives).
[ "$(archives)" = 3 ] || fail "expected 3 archives, have $(archives)"
"$BIN" --config "$T/plain.yml" list > "$T/list" 2>"$T/err" || fail "list: $(cat "$T/err")"
[ "$(grep -o 'hostatlas-backup-tree-[^ ]*' "$T/list" | tr '\n' ' ')" = "$(ls "$T/dest" | sort -r | tr '\n' ' ')" ] \
  || fail "list is not every archive newest first: $(cat "$T/list")"
grep -q "^tree (3 archives)" "$T/list" || fail "list header: $(cat "$T/list")"
"$BIN" --config "$T/plain.yml" list --json > "$T/list.json" 2>"$T/err" || fail "list --json: $(cat "$T/err")"
python3 - "$T/list.json" "$T/dest" <<'PY' || fail "list --json: $(cat "$T/list.json")"
import json, os, sys
d = json.load(open(sys.argv[1])); dest = sys.argv[2]
a = d["archives"]
assert len(a) == 3, a
assert [x["source"] for x in a] == ["tree"] * 3, a
assert [x["time"] for x in a] == sorted((x["time"] for x in a), reverse=True), "not newest first"
for x in a:
    assert x["type"] == "files", x
    # RFC 3339, UTC; the key carries the same instant in compact form
    assert len(x["time"]) == 20 and x["time"][10] == "T" and x["time"].endswith("Z"), x
    compact = x["time"].replace("-", "").replace(":", "")
    assert x["key"] == "hostatlas-backup-tree-%s.tar.zst.age" % compact, x
    assert x["size"] == os.path.getsize(os.path.join(dest, x["key"])), x
PY
ok "list (text) and list --json: every archive, newest first, key/time/size right"

mapfile -t KEYS < <(ls "$T/dest" | sort -r)
for a in --latest --all "--from ${KEYS[2]}"; do
  "$BIN" --config "$T/plain.yml" verify $a > "$T/out" 2>"$T/err" || fail "verify $a on good archives: $(cat "$T/err")"
done
"$BIN" --config "$T/plain.yml" verify --all > "$T/out" 2>&1
[ "$(grep -c "tree: ok hostatlas-backup-tree-.*decrypted, decompressed and checked" "$T/out")" = 3 ] || fail "verify --all: $(cat "$T/out")"
"$BIN" --config "$T/plain.yml" verify --latest > "$T/out" 2>&1
grep -q "tree: ok ${KEYS[0]} " "$T/out" || fail "verify --latest did not check the newest: $(cat "$T/out")"
flip() { python3 - "$1" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, 'rb').read()); d[len(d) // 2] ^= 1; open(p, 'wb').write(d)
PY
}
cp "$T/dest/${KEYS[0]}" "$T/keep"; flip "$T/dest/${KEYS[0]}"
expect_rc 1 "$BIN" --config "$T/plain.yml" verify --latest > "$T/out" 2>"$T/err"
grep -q "verification of ${KEYS[0]} failed" "$T/err" || fail "verify --latest does not name the damaged archive: $(cat "$T/err")"
expect_rc 1 "$BIN" --config "$T/plain.yml" verify --all > "$T/out" 2>"$T/err"
grep -q "verification of ${KEYS[0]} failed" "$T/err" || fail "verify --all does not name the damaged archive: $(cat "$T/err")"
[ "$(grep -c "tree: ok " "$T/out")" = 2 ] || fail "verify --all did not check the good ones: $(cat "$T/out")"
expect_rc 1 "$BIN" --config "$T/plain.yml" verify --from "${KEYS[0]}" > "$T/out" 2>"$T/err"
grep -q "verification of ${KEYS[0]} failed" "$T/err" || fail "verify --from does not name the damaged archive: $(cat "$T/err")"
"$BIN" --config "$T/plain.yml" verify --from "${KEYS[1]}" >/dev/null 2>&1 || fail "verify --from a good archive failed next to a damaged one"
cp "$T/keep" "$T/dest/${KEYS[0]}"
ok "verify --latest/--all/--from: exit 0 on good archives, exit 1 naming a damaged one"

# 5. restore --from a key that does not exist: exit 2, closest keys and `list`.
MISSING=hostatlas-backup-tree-$(date -u -d "${K2%%/*} +1 day" +%Y%m%dT030000Z).tar.zst.age
expect_rc 2 "$BIN" --config "$T/dated.yml" restore --to "$T/rmiss" --from "$MISSING" 2>"$T/err"
grep -q "no archive \"$MISSING\"" "$T/err" || fail "missing key not named: $(cat "$T/err")"
grep -q "closest: $K2" "$T/err" || fail "the closest key ($K2) is not named first: $(cat "$T/err")"
grep -q "hostatlas-backup list" "$T/err" || fail "no hint to list: $(cat "$T/err")"
[ ! -e "$T/rmiss" ] || [ -z "$(ls -A "$T/rmiss")" ] || fail "restore of a missing key wrote files"
ok "restore --from a missing key: exit 2, names the closest keys and hostatlas-backup list"

# 6. What the dry run tells. State: $K2 and $K3 with keep_last 2, so the
#    new archive would push $K2 out.
"$BIN" --config "$T/dated.yml" run --dry-run > "$T/dry" 2>"$T/err" || fail "dry run: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "a clean dry run wrote to stderr: $(cat "$T/err")"
for want in "✓ source path: tree: $S: readable" '✓ hooks: pre: "true"' '✓ hooks: post: "echo done"' "✓ destination: local:$D" \
  "✓ memory: performance.memory_limit" "✓ free space" "✓ encryption" "  before: true" "  after:  echo done" \
  "would delete 1 (the oldest): $K2" "dated folders"; do
  grep -qF -- "$want" "$T/dry" || fail "dry run lacks '$want': $(cat "$T/dry")"
done
grep -qE '[0-9.]+ (KiB|MiB|GiB)' "$T/dry" || fail "no human sizes in the dry run"
normalise "$T/dry" | grep -E '[0-9]{4,}' && fail "raw numbers (byte counts?) in the dry run's default output"
golden dry_run.txt "$T/dry"
ok "dry run: a ✓ line per pre-flight check, hooks, what retention would delete, human sizes (golden dry_run.txt)"
"$BIN" --debug --config "$T/dated.yml" run --dry-run > "$T/dbg" 2>&1 || fail "dry run --debug: $(cat "$T/dbg")"
grep -q "kind=zstd concurrency=" "$T/dbg" || fail "--debug lacks the engine lines: $(cat "$T/dbg")"
grep -q "kind=zstd concurrency=" "$T/dry" && fail "engine lines in the default output"
ok "dry run --debug adds the engine lines (kind=zstd concurrency=)"

python3 - "$(newest_log)" "$(sed -n 's/^pre-flight (\([0-9]*\) checks):$/\1/p' "$T/dry")" "$(grep -cE '^  (✓|✗|!) ' "$T/dry")" <<'PY' || fail "dry-run run log"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2]); lines = int(sys.argv[3])
assert d["dry_run"] is True, d["dry_run"]
p = d["preflight"]
assert len(p) > 1 and len(p) == n == lines, (len(p), n, lines)
for e in p:
    assert e.get("check") and e.get("outcome") and "detail" in e and e["detail"], e
assert {e["check"] for e in p} >= {"source path", "hooks", "destination", "memory"}, p
PY
ok "the dry run's run log has one preflight entry (check/outcome/detail) per ✓ line"

sed "s|^      - $S\$|      - $T/no-such-dir|" "$T/dated.yml" > "$T/missing.yml"
expect_rc 2 "$BIN" --config "$T/missing.yml" run --dry-run > "$T/out" 2>"$T/err"
grep -q "✗ source path: tree: $T/no-such-dir: No such file or directory" "$T/out" || fail "plan lacks the ✗ line: $(cat "$T/out")"
grep -q "^retention:" "$T/out" || fail "a failed pre-flight cut the plan short: $(cat "$T/out")"
tail -1 "$T/err" | grep -q "error: pre-flight failed" || fail "stderr does not end with the errors: $(cat "$T/err")"
grep -q "error: pre-flight: source path: tree: $T/no-such-dir" "$T/err" || fail "the error is not on stderr: $(cat "$T/err")"
# As cron or a log file sees it: one stream, the errors must be its last lines.
expect_rc 2 "$BIN" --config "$T/missing.yml" run --dry-run > "$T/all" 2>&1
tail -2 "$T/all" | grep -c "error: pre-flight" | grep -qx 2 \
  || fail "dry run with a failed pre-flight, stdout and stderr into one file: the errors are not the last lines; first lines: $(head -3 "$T/all"); last lines: $(tail -2 "$T/all")"
# With a warning too, the errors still come last.
echo 'schedule: "0 3 * * *"' >> "$T/missing.yml"
expect_rc 2 "$BIN" --config "$T/missing.yml" run --dry-run > "$T/out" 2>"$T/err"
tail -1 "$T/err" | grep -q "error: pre-flight failed" || fail "with a warning, stderr does not end with the errors: $(cat "$T/err")"
ok "failed pre-flight: exit 2, the plan with a ✗ line, and the errors last"

# 7. Unused keys: schedule.
EXTRA='schedule: "0 3 * * *"' write_config "$T/sched.yml" "$S"
before=$(ls "$T/dest" | sort)
"$BIN" --config "$T/sched.yml" run --dry-run > "$T/out" 2>"$T/err" || fail "dry run with a schedule: $(cat "$T/err")"
grep -q "warning: pre-flight: schedule: 0 3 \* \* \*: nothing runs this config" "$T/err" || fail "no schedule warning: $(cat "$T/err")"
grep -q "hostatlas-backup schedule --install" "$T/err" || fail "the warning does not name schedule --install: $(cat "$T/err")"
grep -q "! schedule: 0 3 \* \* \*" "$T/out" || fail "the plan lacks the schedule warning: $(cat "$T/out")"
ok "schedule: a pre-flight warning that nothing runs it, naming hostatlas-backup schedule --install"
"$BIN" --config "$T/sched.yml" schedule > "$T/units" 2>"$T/err" || fail "schedule: $(cat "$T/err")"
for want in "[Service]" "ExecStart=$BIN --config $T/sched.yml run" "[Timer]" "OnCalendar=*-*-* 03:00:00" "WantedBy=timers.target"; do
  grep -qxF -- "$want" "$T/units" || fail "schedule lacks '$want': $(cat "$T/units")"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze calendar "$(sed -n 's/^OnCalendar=//p' "$T/units")" 2>&1 | grep -q "Normalized form: \*-\*-\* 03:00:00" \
    || fail "systemd-analyze does not accept the OnCalendar value"
fi
"$BIN" --config "$T/sched.yml" schedule --cron > "$T/cron" 2>"$T/err" || fail "schedule --cron: $(cat "$T/err")"
grep -qE "^0 3 \* \* \* root .*$BIN --config $T/sched.yml run\$" "$T/cron" || fail "schedule --cron: $(cat "$T/cron")"
[ ! -e /etc/systemd/system/hostatlas-backup-sched.timer ] && [ ! -e /etc/cron.d/hostatlas-backup-sched ] || fail "schedule without --install wrote to /etc"
ok "schedule prints a systemd service + timer (OnCalendar=*-*-* 03:00:00), --cron a cron.d line; nothing installed"
sed 's/^schedule: .*/schedule: "61 * * * *"/' "$T/sched.yml" > "$T/sched-bad.yml"
line=$(grep -n '^schedule:' "$T/sched-bad.yml" | cut -d: -f1)
for cmd in run schedule; do
  expect_rc 2 "$BIN" --config "$T/sched-bad.yml" $cmd > "$T/out" 2>"$T/err"
  grep -q "error: $T/sched-bad.yml:$line:11: schedule: minute: 61 is out of range" "$T/err" || fail "$cmd: invalid schedule not reported at line $line: $(cat "$T/err")"
done
[ "$(ls "$T/dest" | sort)" = "$before" ] || fail "a run with an invalid schedule wrote an archive"
ok "an invalid schedule is a config error at its line (file:$line:11), exit 2"

# --install --cron for two configs with the same file name (the default
# name is backup.yml): the second does not replace the first's entry, and
# pre-flight counts an entry as installed only when it runs this config.
# In a private mount namespace with a scratch folder over /etc/cron.d
# (Debian's e2fsprogs, a required package, ships it): nothing on the host
# is touched.
[ -d /etc/cron.d ] || fail "no /etc/cron.d to mount over"
host_cron_before=$(ls -la --time-style=full-iso /etc/cron.d)
mkdir -p "$T/a" "$T/b" "$T/crond"
cp "$T/sched.yml" "$T/a/backup.yml"; sed 's/^schedule: .*/schedule: "0 4 * * *"/' "$T/sched.yml" > "$T/b/backup.yml"
cat > "$T/ns.sh" <<SH
set -e
mount --bind "$T/crond" /etc/cron.d
"$BIN" --config "$T/a/backup.yml" schedule --install --cron > "$T/ns.a" 2>&1
set +e
"$BIN" --config "$T/b/backup.yml" schedule --install --cron > "$T/ns.b" 2>&1; echo \$? > "$T/ns.b.rc"
"$BIN" --config "$T/a/backup.yml" run --dry-run > /dev/null 2> "$T/ns.a.dry"
"$BIN" --config "$T/b/backup.yml" run --dry-run > /dev/null 2> "$T/ns.b.dry"
exit 0
SH
unshare -m bash "$T/ns.sh" || fail "unshare: $(cat "$T/ns.a" 2>/dev/null)"
grep -q "wrote /etc/cron.d/hostatlas-backup-backup" "$T/ns.a" || fail "first --install --cron: $(cat "$T/ns.a")"
[ "$(cat "$T/ns.b.rc")" = 2 ] && grep -q "/etc/cron.d/hostatlas-backup-backup exists and runs $T/a/backup.yml, not $T/b/backup.yml; not replaced" "$T/ns.b" \
  || fail "second config of the same name: rc $(cat "$T/ns.b.rc"): $(cat "$T/ns.b")"
grep -q "^0 3 \* \* \* root .*$T/a/backup.yml" "$T/crond/hostatlas-backup-backup" || fail "the first entry was changed: $(cat "$T/crond/hostatlas-backup-backup")"
grep -q "warning: pre-flight: schedule" "$T/ns.a.dry" && fail "the installed config still warns: $(cat "$T/ns.a.dry")"
grep -q "schedule: 0 4 \* \* \*: not installed for this config: /etc/cron.d/hostatlas-backup-backup runs $T/a/backup.yml" "$T/ns.b.dry" \
  || fail "the other config's dry run: $(cat "$T/ns.b.dry")"
[ "$(ls -la --time-style=full-iso /etc/cron.d)" = "$host_cron_before" ] || fail "the host's /etc/cron.d was written"
ok "schedule --install --cron: another config of the same file name is refused (exit 2), not replaced; pre-flight tells which config an entry runs"

# 8. Partial results visible: a failing post-hook, warnings in status.
EXTRA=$'hooks:\n  post: ["echo marker-xyz; exit 3"]' write_config "$T/post.yml" "$S"
sleep 1.1
"$BIN" --config "$T/post.yml" run > "$T/out" 2>"$T/post.err" || fail "a failing post-hook failed the run: $(cat "$T/post.err")"
grep -q 'warning: post-hook "echo marker-xyz; exit 3" failed (exit code 3)' "$T/post.err" || fail "post-hook failure: $(cat "$T/post.err")"
grep -q "marker-xyz" "$T/post.err" || fail "the hook's output tail is not on stderr: $(cat "$T/post.err")"
"$BIN" --config "$T/post.yml" status > "$T/status" 2>&1 || fail "status: $(cat "$T/status")"
grep -q '^  post-hook "echo marker-xyz; exit 3" failed (exit code 3): marker-xyz$' "$T/status" || fail "status lacks the failed post-hook: $(cat "$T/status")"
ok "failing post-hook: exit 0, output tail on stderr, status shows it"
mkdir -p "$T/wsrc"; echo x > "$T/wsrc/f"
python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$T/wsrc/sock"
SOURCE_NAME=sock write_config "$T/warn.yml" "$T/wsrc"
"$BIN" -q --config "$T/warn.yml" run > "$T/out" 2>"$T/err" || fail "run with a socket: $(cat "$T/err")"
grep -q "warning: sock: tar: .*sock" "$T/err" || fail "-q: no source warning printed: $(cat "$T/err")"
"$BIN" --config "$T/warn.yml" status > "$T/status" 2>&1 || fail "status: $(cat "$T/status")"
grep -q "^last run: ok, exit 0, .*, 1 warning(s)\$" "$T/status" || fail "status lacks the warnings count: $(cat "$T/status")"
ok "a source warning: printed under -q, status shows the last run's warnings count"
nw=$(grep -c "warning:" "$T/post.err")
"$BIN" --config "$T/post.yml" status > "$T/status" 2>&1 || fail "status: $(cat "$T/status")"
grep -q "^last run: ok, exit 0, .*, $nw warning(s)\$" "$T/status" \
  || fail "the run printed $nw warning(s) (failed post-hook) but status shows no warnings count: $(head -1 "$T/status")"
ok "status counts the failed post-hook among the last run's warnings"

# 9. example-config --full: accepted by the binary, and the text of the
#    reference block in docs/config.md.
"$BIN" example-config --full > "$T/full.yml" 2>"$T/err" || fail "example-config --full: $(cat "$T/err")"
sed -E -e "s|recipient: age1[a-z0-9]+|recipient: $RECIPIENT|" -e "s|^  path: .*|  path: $T/dest-full|" \
  -e "s|paths: \[[^]]*\]|paths: [$S]|" "$T/full.yml" > "$T/full-local.yml"
[ "$(diff "$T/full.yml" "$T/full-local.yml" | grep -c '^>')" = 3 ] || fail "test: the recipient/path/paths substitutions did not apply: $(diff "$T/full.yml" "$T/full-local.yml")"
set +e; "$BIN" --config "$T/full-local.yml" run --dry-run > "$T/out" 2>"$T/err"; set -e
grep -E "error: .*full-local\.yml:[0-9]+:[0-9]+:" "$T/err" && fail "example-config --full has config errors"
grep -q "^plan: back up 3 source(s)" "$T/out" || fail "example-config --full: no plan: $(cat "$T/out" "$T/err")"
grep "error: " "$T/err" | grep -vE "production-db|shop|pre-flight failed: fix the problems above" \
  && fail "example-config --full: pre-flight problems beyond the two database sources"
ok "example-config --full is accepted (no file:line:col problems; the database sources only fail pre-flight)"
python3 - "$DOCS" "$T/full.yml" <<'PY' || fail "docs/config.md and example-config --full differ (see above)"
import difflib, re, sys
doc = open(sys.argv[1]).read().splitlines(); full = open(sys.argv[2]).read().splitlines()
heads = [i for i, l in enumerate(doc) if l.startswith("#") and re.search(r"full reference", l, re.I)] or \
        [i for i, l in enumerate(doc) if l.startswith("#") and re.search(r"reference", l, re.I)]
if not heads:
    sys.exit("docs/config.md has no heading introducing the full reference config")
start = next((i for i in range(heads[0], len(doc)) if doc[i].strip() == "```yaml"), None)
if start is None:
    sys.exit("docs/config.md: no ```yaml block after the heading %r" % doc[heads[0]])
end = next(i for i in range(start + 1, len(doc)) if doc[i].strip() == "```")
block = doc[start + 1:end]
if block != full:
    print("FAIL: the ```yaml block after %r (docs/config.md:%d) is not the output of example-config --full:"
          % (doc[heads[0]], start + 2), file=sys.stderr)
    sys.stderr.writelines(l + "\n" for l in list(difflib.unified_diff(block, full, "docs/config.md", "example-config --full", lineterm=""))[:40])
    sys.exit(1)
PY
ok "docs/config.md's full reference block is the text of example-config --full"

# 10. Twelve files sources under a 48 MiB budget.
{
  echo "sources:"
  for i in $(seq 1 12); do
    mkdir -p "$T/many/s$i/d"; seq 1 $((i * 1000)) > "$T/many/s$i/d/n.txt"; head -c $((i * 10000)) /dev/urandom > "$T/many/s$i/r.bin"
    echo "  - {type: files, name: s$i, paths: [$T/many/s$i]}"
  done
  echo "destination: {type: local, path: $T/dest-many}"
  echo "encryption: {recipient: $RECIPIENT, identity_file: $T/key.txt}"
  echo "performance: {memory_limit: 48MiB}"
} > "$T/many.yml"
"$BIN" --config "$T/many.yml" run --dry-run > "$T/out" 2>"$T/err" || fail "12 sources dry run: $(cat "$T/err")"
grep -qE "^  [0-9]+ at once within memory_limit 48.0 MiB" "$T/out" || fail "the plan does not say how many run at once: $(cat "$T/out")"
grep -qE "✓ memory: performance.memory_limit: [0-9]+ of 12 sources at once" "$T/out" || fail "memory check: $(cat "$T/out")"
"$BIN" --config "$T/many.yml" run > "$T/out" 2>"$T/err" || fail "12 sources under 48 MiB: $(cat "$T/err")"
[ "$(ls "$T/dest-many" | grep -c '\.tar\.zst\.age$')" = 12 ] || fail "12 sources made $(ls "$T/dest-many")"
"$BIN" --config "$T/many.yml" restore --to "$T/rm" > "$T/out" 2>"$T/err" || fail "restore of 12: $(cat "$T/err")"
[ "$(ls "$T/rm" | wc -l)" = 12 ] || fail "restore gave $(ls "$T/rm")"
for i in $(seq 1 12); do diff -r "$T/many/s$i" "$T/rm/s$i$T/many/s$i" || fail "s$i restored differently"; done
ok "12 sources, memory_limit 48MiB: the plan says how many at once; 12 archives; restore gives the 12 trees"
rm -rf "$T/rm/s5"
"$BIN" --config "$T/many.yml" restore --to "$T/rm" > "$T/out" 2>"$T/err" || fail "second restore: $(cat "$T/out" "$T/err")"
[ "$(grep -c ": restored " "$T/out")" = 1 ] && grep -q "^hostatlas-backup: s5: restored " "$T/out" || fail "second restore: $(cat "$T/out")"
[ "$(grep -c ": skipped, " "$T/out" "$T/err" | awk -F: '{s += $2} END {print s}')" = 11 ] || fail "second restore did not skip 11: $(cat "$T/out" "$T/err")"
diff -r "$T/many/s5" "$T/rm/s5$T/many/s5" || fail "s5 restored differently the second time"
ok "a second restore into the same DIR restores only the missing tree, skips the 11 others"
echo "$CHECKS passed, 0 failed"

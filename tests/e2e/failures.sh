#!/usr/bin/env bash
# Failure paths against the real binary: injected faults in every node, a
# tiny memory budget, config errors, lock collisions, kill -9, signals,
# retention, corrupted and truncated archives.
source "$(dirname "$0")/../lib/e2e.sh"

S=$T/src; mkdir -p "$S/a"
head -c 20000000 /dev/urandom > "$S/a/big.bin"
seq 1 2000000 > "$S/a/seq.txt"
write_config "$T/fl-c.yml" "$S"

# 1. A fault in any node: exit 1, no archive and no .partial.
for node in tar zstd chunker age store; do
  expect_rc 1 env HOSTATLAS_BACKUP_FAULT="$node:2" "$BIN" --config "$T/fl-c.yml" run 2>"$T/err"
  grep -q "injected fault in $node" "$T/err" || fail "$node: error does not name the node: $(cat "$T/err")"
  [ "$(archives)" = 0 ] || fail "$node: an archive became visible"
  no_partials || fail "$node: .partial left behind"
done
expect_rc 1 env HOSTATLAS_BACKUP_FAULT="store:0" "$BIN" --config "$T/fl-c.yml" run 2>/dev/null
[ "$(archives)" = 0 ] && no_partials || fail "failed commit left a file"
ok "a fault in tar, zstd, chunker, age, store or the commit leaves nothing and exits 1"

# 2. Under a 2 MiB memory limit the run completes (no deadlock) and restores.
EXTRA=$'performance:\n  memory_limit: 2MiB\n  parallelism: 2' write_config "$T/fl-small.yml" "$S"
rm -rf "$T/logs"
timeout 300 "$BIN" --config "$T/fl-small.yml" run 2>/dev/null || fail "2 MiB run failed"
"$BIN" --config "$T/fl-small.yml" restore --to "$T/r1" 2>/dev/null
cmp "$S/a/big.bin" "$T/r1/tree$S/a/big.bin" || fail "2 MiB restore differs"
peak=$(python3 -c "import json,glob; print(max(json.load(open(f))['totals']['memory_budget_peak'] for f in glob.glob('$T/logs/run-*.json')))")
[ "$peak" -le $((2 << 20)) ] || fail "budget peak $peak above 2 MiB"
ok "2 MiB memory limit: completes, restores, budget peak $peak bytes"
rm -f "$T/dest"/*

# 3. Three independent config mistakes are all reported, exit 2.
cat > "$T/fl-bad.yml" <<YAML
sources:
  - type: files
    name: x
    paths: [relative]
destination:
  type: local
  path: $T/dest
  colour: red
encryption:
  recipient: age1bogus
YAML
expect_rc 2 "$BIN" --config "$T/fl-bad.yml" run 2>"$T/err"
grep -q "bad.yml:4:13: sources\[0\].paths\[0\]" "$T/err" || fail "missing problem 1: $(cat "$T/err")"
grep -q "bad.yml:8:3: destination.colour: unknown key" "$T/err" || fail "missing problem 2: $(cat "$T/err")"
grep -q "bad.yml:10:14: encryption.recipient" "$T/err" || fail "missing problem 3: $(cat "$T/err")"
ok "three config mistakes reported in one pass, exit 2"

# 4. Pre-flight: a missing source path and an unwritable destination, exit 2, nothing written.
write_config "$T/fl-pf.yml" "$T/does-not-exist"
expect_rc 2 "$BIN" --config "$T/fl-pf.yml" run 2>"$T/err"
grep -q "source path" "$T/err" || fail "pre-flight did not name the path: $(cat "$T/err")"
expect_rc 2 "$BIN" --config "$T/fl-pf.yml" run --dry-run >/dev/null 2>&1
ok "pre-flight failure exits 2 (run and dry-run)"

# 4b. Not enough room at the destination for 1.2 x the source: exit 2.
mkdir -p "$T/tiny"
if mount -t tmpfs -o size=8m tmpfs "$T/tiny" 2>/dev/null; then
  sed "s|path: $T/dest|path: $T/tiny|" "$T/fl-c.yml" > "$T/fl-tiny.yml"
  expect_rc 2 "$BIN" --config "$T/fl-tiny.yml" run 2>"$T/err"
  umount "$T/tiny"
  grep -q "free space: destination local:$T/tiny has 0.01 GiB free, needs 0.04 GiB" "$T/err" || fail "room check: $(cat "$T/err")"
  ok "destination without room for 1.2 x the estimated source: pre-flight exit 2"
else
  fail "cannot mount a small tmpfs for the free-space test (CI runs as root)"
fi

# 4c. A source on a small tmpfs: its filesystem's used space fits the
#     destination, so pre-flight does not walk the tree; the run succeeds.
mkdir -p "$T/smallsrc"
mount -t tmpfs -o size=16m tmpfs "$T/smallsrc" || fail "cannot mount a tmpfs source"
head -c 3000000 /dev/urandom > "$T/smallsrc/blob"
SOURCE_NAME=bound write_config "$T/fl-bound.yml" "$T/smallsrc"
"$BIN" --debug --config "$T/fl-bound.yml" run >/dev/null 2>"$T/err" || { umount "$T/smallsrc"; fail "tmpfs source run: $(cat "$T/err")"; }
umount "$T/smallsrc"
grep -q "size estimate: .*used space of its filesystem, fits: tree not walked" "$T/err" || fail "estimate: $(grep estimate "$T/err")"
grep -q "size estimate: .*(walked)" "$T/err" && fail "walked although the bound fits"
rm -f "$T"/dest/hostatlas-backup-bound-*
ok "a source whose filesystem fits the destination is not walked in pre-flight"

# 5. Lock: a second run of the same config exits 2 naming the holder's PID;
# a different config runs in parallel.
HOSTATLAS_BACKUP_FAULT="tar:delay=300" "$BIN" --config "$T/fl-c.yml" run >/dev/null 2>&1 &
first=$!
sleep 0.5
expect_rc 2 "$BIN" --config "$T/fl-c.yml" run 2>"$T/err"
grep -q "held by pid $first started 20" "$T/err" || fail "lock message does not name pid $first: $(cat "$T/err")"
write_config "$T/fl-other.yml" "$S/a/seq.txt"
SOURCE_NAME=other write_config "$T/fl-other.yml" "$S/a/seq.txt"
"$BIN" --config "$T/fl-other.yml" run 2>/dev/null || fail "a different config was blocked"
wait $first || fail "the first run failed"
rm -f "$T/dest"/*
ok "concurrent run of one config: exit 2 naming pid $first; another config runs alongside"

# 6. kill -9 mid-run: no lock left, no visible archive, next run succeeds.
HOSTATLAS_BACKUP_FAULT="tar:delay=300" "$BIN" --config "$T/fl-c.yml" run >/dev/null 2>&1 &
pid=$!
wait_partial || fail "expected a .partial while the run is in flight"
kill -9 $pid; wait $pid 2>/dev/null || true
[ "$(archives)" = 0 ] || fail "kill -9 left a visible archive"
sleep 1.1
"$BIN" --config "$T/fl-c.yml" run 2>/dev/null || fail "run after kill -9 failed"
[ "$(archives)" = 1 ] || fail "run after kill -9 made no archive"
rm -f "$T/dest"/*
ok "kill -9 leaves no lock and no archive (only a .partial); the next run succeeds"

# 7. SIGTERM: cancelled, exit 1, nothing visible, run log says cancelled.
HOSTATLAS_BACKUP_FAULT="tar:delay=300" "$BIN" --config "$T/fl-c.yml" run >/dev/null 2>&1 &
pid=$!
wait_partial || fail "expected a .partial while the run is in flight"
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
[ "$rc" = 1 ] || fail "SIGTERM exit $rc"
[ "$(archives)" = 0 ] && no_partials || fail "SIGTERM left files"
grep -l '"status":"cancelled"' "$T"/logs/run-*.json >/dev/null || fail "run log lacks cancelled status"
rm -f "$T/dest"/*
ok "SIGTERM cancels: exit 1, nothing visible, run log cancelled"

# 8. Retention keep_last: 2 after four runs keeps the two newest and a foreign file.
EXTRA=$'retention:\n  keep_last: 2' write_config "$T/fl-ret.yml" "$S"
echo foreign > "$T/dest/hostatlas-backup-manual.tar.zst.age"
echo foreign > "$T/dest/notes.txt"
for i in 1 2 3 4; do "$BIN" --config "$T/fl-ret.yml" run 2>/dev/null; sleep 1.1; done
[ "$(ls "$T/dest" | grep -c '^hostatlas-backup-tree-')" = 2 ] || fail "retention kept $(ls "$T/dest")"
[ -f "$T/dest/hostatlas-backup-manual.tar.zst.age" ] && [ -f "$T/dest/notes.txt" ] || fail "foreign file deleted"
ok "keep_last: 2 after four runs leaves two archives and the foreign files"

# 9. A failing source deletes nothing.
before=$(ls "$T/dest" | sort)
expect_rc 1 env HOSTATLAS_BACKUP_FAULT="zstd:1" "$BIN" --config "$T/fl-ret.yml" run 2>/dev/null
[ "$(ls "$T/dest" | sort)" = "$before" ] || fail "a failed run changed the destination"
ok "a failed run deletes nothing"

# 10. Corrupted or truncated archive: restore exits 1 and leaves the target untouched.
newest=$(ls "$T/dest"/hostatlas-backup-tree-* | sort | tail -1)
cp "$newest" "$T/keep"
python3 - "$newest" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, 'rb').read()); d[len(d) // 2] ^= 1; open(p, 'wb').write(d)
PY
mkdir -p "$T/r2"; echo precious > "$T/r2/existing"
expect_rc 1 "$BIN" --config "$T/fl-ret.yml" restore --to "$T/r2" 2>"$T/err"
[ "$(ls -A "$T/r2")" = existing ] || fail "corrupt restore left files: $(ls -A "$T/r2")"
head -c $(( $(stat -c %s "$T/keep") - 70000 )) "$T/keep" > "$newest"
expect_rc 1 "$BIN" --config "$T/fl-ret.yml" restore --to "$T/r2" 2>"$T/err"
[ "$(ls -A "$T/r2")" = existing ] || fail "truncated restore left files"
ok "corrupted and truncated archives: exit 1, target unchanged"

# 11. Wrong or unprotected identity: exit 2 with the fix.
chmod 644 "$T/key.txt"
expect_rc 2 "$BIN" --config "$T/fl-ret.yml" restore --to "$T/r3" 2>"$T/err"
grep -q "chmod 600" "$T/err" || fail "no chmod hint: $(cat "$T/err")"
chmod 600 "$T/key.txt"
ok "group-readable identity refused with a chmod 600 hint"

# 12. Every run log parses and has the schema's required fields.
python3 - "$T/logs" <<'PY'
import json, glob, sys
need = {"schema", "version", "commit", "host", "config", "dry_run", "started_at", "ended_at",
        "duration_seconds", "status", "exit_code", "preflight", "sources", "totals"}
src_need = {"name", "type", "archive_key", "status", "error", "bytes_in", "bytes_out", "sha256",
            "members", "verification", "duration_seconds", "warnings", "retention_deleted"}
files = glob.glob(sys.argv[1] + "/run-*.json")
assert files, "no run logs"
for f in files:
    d = json.load(open(f))
    missing = need - d.keys()
    assert not missing, (f, missing)
    assert d["status"] in ("ok", "failed", "cancelled", "preflight_failed"), d["status"]
    for s in d["sources"]:
        assert not (src_need - s.keys()), (f, src_need - s.keys())
        assert s["status"] in ("ok", "ok_with_warnings", "failed", "cancelled")
print(len(files), "run logs valid")
PY
ok "run logs parse and carry the schema fields"
echo "$CHECKS passed, 0 failed"

#!/usr/bin/env bash
# Issue 15 (hardening), against the real binary: what a hostile local user
# or a careless one could do to a run. Each block failed on commit 4673977.
source "$(dirname "$0")/../lib/e2e.sh"
[ "$(id -u)" = 0 ] || fail "needs root (runs parts as another user; CI runs as root)"

S=$T/src; mkdir -p "$S"; seq 1 50000 > "$S/n.txt"
write_config "$T/hd.yml" "$S"

# --- 1. The lock cannot be planted, held or forged by another user.
"$BIN" --config "$T/hd.yml" run 2>/dev/null || fail "plain run failed"
[ "$(stat -c '%U %a' /run/hostatlas-backup)" = "root 700" ] || fail "root lock dir: $(stat -c '%U %a' /run/hostatlas-backup)"
rm -f "$T/dest"/*; sleep 1.1
L=$T/lockdir; mkdir -m 0700 "$L"; export HOSTATLAS_BACKUP_LOCK_DIR=$L
echo "precious" > "$T/victim"
ln -s "$T/victim" "$L/hostatlas-backup-hd.lock"
expect_rc 2 "$BIN" --config "$T/hd.yml" run 2>"$T/err"
grep -q "is a symlink" "$T/err" || fail "symlinked lock: $(cat "$T/err")"
[ "$(cat "$T/victim")" = precious ] || fail "the symlink's target was written"
rm "$L/hostatlas-backup-hd.lock"; ln "$T/victim" "$L/hostatlas-backup-hd.lock"
expect_rc 2 "$BIN" --config "$T/hd.yml" run 2>"$T/err"
grep -q "2 links" "$T/err" || fail "hardlinked lock: $(cat "$T/err")"
[ "$(cat "$T/victim")" = precious ] || fail "the hardlink's target was written"
rm "$L/hostatlas-backup-hd.lock"; touch "$L/hostatlas-backup-hd.lock"; chown nobody "$L/hostatlas-backup-hd.lock"
expect_rc 2 "$BIN" --config "$T/hd.yml" run 2>"$T/err"
grep -q "not a plain file of ours (owner uid 65534" "$T/err" || fail "foreign lock file: $(cat "$T/err")"
rm "$L/hostatlas-backup-hd.lock"; chmod 0777 "$L"
expect_rc 2 "$BIN" --config "$T/hd.yml" run 2>"$T/err"
grep -q "lock directory $L is owned by uid 0 with mode 0777" "$T/err" || fail "open lock dir: $(cat "$T/err")"
chmod 0700 "$L"; chown nobody "$L"
expect_rc 2 "$BIN" --config "$T/hd.yml" run 2>"$T/err"
grep -q "owned by uid 65534" "$T/err" || fail "foreign lock dir: $(cat "$T/err")"
chown root "$L"
[ "$(archives)" = 0 ] || fail "a refused lock still ran the backup"
ok "lock: a planted symlink, a hardlink, a foreign file or an open/foreign directory is refused (exit 2), nothing written through it"

# The collision names the holder's config; the same stem from another
# directory shares the lock, and the hint says so.
HOSTATLAS_BACKUP_FAULT="tar:delay=300" "$BIN" --config "$T/hd.yml" run >/dev/null 2>&1 &
first=$!
for _ in $(seq 1 100); do grep -q "pid $first" "$L/hostatlas-backup-hd.lock" 2>/dev/null && break; sleep 0.05; done
mkdir -p "$T/other"; cp "$T/hd.yml" "$T/other/hd.yml"
expect_rc 2 "$BIN" --config "$T/other/hd.yml" run 2>"$T/err"
grep -q "held by pid $first started 20.* config $T/hd.yml" "$T/err" || fail "collision message: $(cat "$T/err")"
grep -q "hint: $T/hd.yml and $T/other/hd.yml have the same file name" "$T/err" || fail "no same-stem hint: $(cat "$T/err")"
# A symlink to the config under another name takes the same lock.
ln -s hd.yml "$T/nightly.yml"
expect_rc 2 "$BIN" --config "$T/nightly.yml" run 2>"$T/err"
grep -q "held by pid $first started 20.* config $T/hd.yml" "$T/err" || fail "a symlinked config name: $(cat "$T/err")"
kill -TERM $first; wait $first 2>/dev/null || true
rm -f "$T/dest"/*
ok "collision names pid, start and the holder's config path, with a hint for a shared stem; a symlinked config name shares the lock"
unset HOSTATLAS_BACKUP_LOCK_DIR

# A non-root run without XDG_RUNTIME_DIR: a /tmp/hostatlas-backup-<uid>
# someone else made is refused; a fresh one is created 0700.
NB=$T/nb; mkdir -p "$NB/src" "$NB/dest"; seq 1 1000 > "$NB/src/f"; chmod 755 "$T"
cp "$T/key.txt" "$NB/key.txt"
cat > "$NB/c.yml" <<YAML
sources: [{type: files, name: nb, paths: [$NB/src]}]
destination: {type: local, path: $NB/dest}
encryption: {recipient: $RECIPIENT}
YAML
chown -R nobody "$NB"
U=65534; rm -rf "/tmp/hostatlas-backup-$U"
mkdir -m 0777 "/tmp/hostatlas-backup-$U"
nb_run() { runuser -u nobody -- env -u XDG_RUNTIME_DIR HOME=/nonexistent HOSTATLAS_BACKUP_LOG_DIR="$NB/logs" "$BIN" --config "$NB/c.yml" "$@"; }
expect_rc 2 nb_run run 2>"$T/err"
grep -q "lock directory /tmp/hostatlas-backup-$U is owned by uid 0 with mode 0777" "$T/err" || fail "foreign /tmp lock dir: $(cat "$T/err")"
rmdir "/tmp/hostatlas-backup-$U"
nb_run run 2>"$T/err" || fail "non-root run failed: $(cat "$T/err")"
[ "$(stat -c '%U %a' "/tmp/hostatlas-backup-$U")" = "nobody 700" ] || fail "fallback dir: $(stat -c '%U %a' "/tmp/hostatlas-backup-$U")"
rm -rf "/tmp/hostatlas-backup-$U"
ok "non-root without XDG_RUNTIME_DIR: a foreign /tmp lock dir is refused, a fresh one is 0700 and ours"

# --- 2. restore --from never writes outside --to.
"$BIN" --config "$T/hd.yml" run 2>/dev/null || fail "run failed"
A=$(ls "$T/dest"/hostatlas-backup-tree-*.zst.age)
cp "$A" "$T/dest/hostatlas-backup-..-20250201T000000Z.tar.zst.age"
mkdir -p "$T/to/inner"
expect_rc 2 "$BIN" --config "$T/hd.yml" restore --to "$T/to/inner" \
  --from "hostatlas-backup-..-20250201T000000Z.tar.zst.age" 2>"$T/err"
grep -q "is not a hostatlas-backup archive name" "$T/err" || fail "hostile --from: $(cat "$T/err")"
[ -z "$(ls -A "$T/to/inner")" ] && [ "$(ls -A "$T/to")" = inner ] || fail "restore wrote outside --to: $(find "$T/to")"
"$BIN" --config "$T/hd.yml" restore --to "$T/to/inner" 2>"$T/err" || fail "restore of the listing: $(cat "$T/err")"
[ "$(ls -A "$T/to")" = inner ] && [ "$(ls -A "$T/to/inner")" = tree ] || fail "listing restore: $(ls -A "$T/to" "$T/to/inner")"
rm -f "$T/dest"/*
ok "restore: a '..' source name from --from or a listing is never joined into a path"

# --- 11/13. A server that accepts TCP and never answers: a dry run is
# bounded by the pre-flight timeout, and SIGTERM stops pre-flight at once.
HERE=$(cd "$(dirname "$0")/.." && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(free_port)
python3 "$HERE/services/silent_server.py" "$SP" & SILENT=$!
trap 'kill $SILENT 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$SP") 2>/dev/null && break; sleep 0.05; done
cat > "$T/silent.yml" <<YAML
sources: [{type: files, name: tree, paths: [$S]}]
destination: {type: s3, endpoint: "http://127.0.0.1:$SP", bucket: b, access_key_id: k, secret_access_key: s, timeout_seconds: 60}
encryption: {recipient: $RECIPIENT}
YAML
chmod 600 "$T/silent.yml"
s=$(date +%s.%N)
expect_rc 2 "$BIN" --config "$T/silent.yml" run --dry-run 2>"$T/err" >/dev/null
e=$(date +%s.%N)
awk -v a="$s" -v b="$e" 'BEGIN { exit !(b - a < 20) }' || fail "dry run against a silent server took $(echo "$e - $s" | bc) s"
grep -q "timed out" "$T/err" || fail "no timeout named: $(cat "$T/err")"
ok "dry run against a server that never answers ends within the pre-flight bound (exit 2, timed out)"
rm -rf "$T/logs"
"$BIN" --config "$T/silent.yml" run 2>"$T/err" & pid=$!
sleep 1.5
s=$(date +%s.%N); kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
e=$(date +%s.%N)
[ "$rc" = 2 ] || fail "SIGTERM during pre-flight: exit $rc"
awk -v a="$s" -v b="$e" 'BEGIN { exit !(b - a < 1.5) }' || fail "SIGTERM during pre-flight took $(echo "$e - $s" | bc) s"
grep -q '"status":"cancelled"' "$T"/logs/run-*.json || fail "run log not cancelled: $(cat "$T"/logs/run-*.json)"
ok "SIGTERM during pre-flight: exit 2 within a second, run log cancelled"

# --- 12. SIGTERM during a pre hook kills its process group, skips the
# backup, runs the post hooks, exits 1.
EXTRA=$(printf 'hooks:\n  pre: ["sleep 41.414 | cat"]\n  post: ["echo post-ran > %s/post.out"]' "$T") \
  write_config "$T/hook.yml" "$S"
rm -rf "$T/logs"
"$BIN" --config "$T/hook.yml" run 2>"$T/err" & pid=$!
for _ in $(seq 1 100); do pgrep -f "sleep 41.414" >/dev/null && break; sleep 0.05; done
s=$(date +%s.%N); kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
e=$(date +%s.%N)
[ "$rc" = 1 ] || fail "SIGTERM during a pre hook: exit $rc: $(cat "$T/err")"
awk -v a="$s" -v b="$e" 'BEGIN { exit !(b - a < 3) }' || fail "SIGTERM during a pre hook took $(echo "$e - $s" | bc) s"
sleep 0.2; ! pgrep -f "sleep 41.414" >/dev/null || fail "the hook's pipeline survived"
[ "$(cat "$T/post.out" 2>/dev/null)" = post-ran ] || fail "post hook did not run"
[ "$(archives)" = 0 ] || fail "the backup ran after SIGTERM"
grep -q '"status":"cancelled"' "$T"/logs/run-*.json || fail "run log not cancelled"
ok "SIGTERM during a pre hook: hook group killed, backup skipped, post hooks ran, exit 1"

# --- 15. kill -9 of our process leaves no hook (or dump) behind.
EXTRA=$'hooks:\n  pre: ["sleep 42.424 | cat"]' write_config "$T/hook9.yml" "$S"
"$BIN" --config "$T/hook9.yml" run >/dev/null 2>&1 & pid=$!
for _ in $(seq 1 100); do pgrep -f "sleep 42.424" >/dev/null && break; sleep 0.05; done
pgrep -f "sleep 42.424" >/dev/null || fail "hook never started"
kill -9 $pid; wait $pid 2>/dev/null || true
for _ in $(seq 1 40); do pgrep -f "sleep 42.424" >/dev/null || break; sleep 0.05; done
! pgrep -f "sleep 42.424" >/dev/null || { pkill -f "sleep 42.424"; fail "a hook outlived kill -9 of the run"; }
ok "kill -9 of the run kills its hook's whole process group (PR_SET_PDEATHSIG)"

# --- 4. Every identity file the run will use is checked in pre-flight.
chmod 644 "$T/key.txt"
EXTRA=$'verification: {mode: deep}' write_config "$T/id.yml" "$S"
expect_rc 2 "$BIN" --config "$T/id.yml" run 2>"$T/err"
grep -q "encryption: identity_file $T/key.txt: .*chmod 600" "$T/err" || fail "identity mode not checked: $(cat "$T/err")"
[ "$(archives)" = 0 ] || fail "the run committed an archive before failing"
chmod 600 "$T/key.txt"
OTHER=$("$BIN" keygen -o "$T/other.key" 2>&1 | sed 's/Public key: //')
sed "s|identity_file: $T/key.txt|identity_file: $T/other.key|" "$T/id.yml" > "$T/id2.yml"
expect_rc 2 "$BIN" --config "$T/id2.yml" run 2>"$T/err"
grep -q "matches none of the recipients" "$T/err" || fail "a foreign identity passed: $(cat "$T/err")"
ok "identity file: mode and match with the recipients checked in pre-flight (exit 2, nothing committed)"

# --- 5. A config holding a secret, readable by others, is warned about;
# without HOME a non-root run's logs have nowhere safe to go.
cat > "$T/secret.yml" <<YAML
sources: [{type: files, name: tree, paths: [$S]}]
destination: {type: s3, endpoint: "http://127.0.0.1:9", bucket: b, access_key_id: k, secret_access_key: sssecret}
encryption: {recipient: $RECIPIENT}
YAML
chmod 644 "$T/secret.yml"
"$BIN" --config "$T/secret.yml" run --dry-run >/dev/null 2>"$T/err" || true
grep -q "warning: pre-flight: config: $T/secret.yml: holds destination.secret_access_key and is readable by group or others (mode 0644)" "$T/err" \
  || fail "no config mode warning: $(cat "$T/err")"
grep -q "chmod 600 $T/secret.yml" "$T/err" || fail "no chmod hint"
! grep -q sssecret "$T/err" || fail "the secret was printed"
expect_rc 2 runuser -u nobody -- env -u HOME -u XDG_STATE_HOME -u HOSTATLAS_BACKUP_LOG_DIR "$BIN" --config "$NB/c.yml" run 2>"$T/err"
grep -q "HOME and XDG_STATE_HOME are unset" "$T/err" && grep -q "HOSTATLAS_BACKUP_LOG_DIR" "$T/err" || fail "HOME unset: $(cat "$T/err")"
[ ! -e /tmp/.local/state ] || fail "logs went to a shared /tmp/.local/state"
ok "a readable config with an inline secret is warned about; no HOME: refused, naming XDG_STATE_HOME"

# --- 6. Pre-flight in one pass: a bad recipient, a missing source path and
# a missing hook command are all reported at once.
cat > "$T/three.yml" <<YAML
sources: [{type: files, name: tree, paths: [$T/no-such-dir]}]
destination: {type: local, path: $T/dest}
encryption: {recipient: age1bogus}
hooks: {pre: ["no-such-hook-command-42"]}
YAML
expect_rc 2 "$BIN" --config "$T/three.yml" run 2>"$T/err"
grep -q "three.yml:3:25: encryption.recipient: not a valid age recipient" "$T/err" || fail "recipient: $(cat "$T/err")"
grep -q "pre-flight: source path: tree: $T/no-such-dir" "$T/err" || fail "source path not checked: $(cat "$T/err")"
grep -q "no-such-hook-command-42 not found" "$T/err" || fail "hook not checked: $(cat "$T/err")"
ok "a bad recipient does not hide a missing source path or hook: all three in one pass"

# --- 9. A dry run creates nothing, not even the destination's folders.
cat > "$T/dry.yml" <<YAML
sources: [{type: files, name: tree, paths: [$S]}]
destination: {type: local, path: $T/not/yet/there}
encryption: {recipient: $RECIPIENT}
YAML
"$BIN" --config "$T/dry.yml" run --dry-run >/dev/null 2>"$T/err" || fail "dry run failed: $(cat "$T/err")"
[ ! -e "$T/not" ] || fail "the dry run created $(find "$T/not")"
sed "s|path: $T/not/yet/there|path: $T/dest/../../etc/x|" "$T/dry.yml" > "$T/dotdot.yml"
expect_rc 2 "$BIN" --config "$T/dotdot.yml" run --dry-run >/dev/null 2>"$T/err"
grep -q "destination.path: \"..\" path components are not allowed" "$T/err" || fail "..: $(cat "$T/err")"
ok "dry run touches nothing (no folder created); '..' in destination.path is a config error"

# --- 16. A kill -9 during a write leaves a .partial: status reports it and
# the next run removes it.
head -c 20000000 /dev/urandom > "$S/big.bin"
HOSTATLAS_BACKUP_FAULT="tar:delay=300" "$BIN" --config "$T/hd.yml" run >/dev/null 2>&1 & pid=$!
wait_partial || fail "no .partial in flight"
"$BIN" --config "$T/hd.yml" status > "$T/status" 2>&1
grep -q "^run in progress: pid $pid, started 20" "$T/status" || fail "status during the run: $(cat "$T/status")"
kill -9 $pid; wait $pid 2>/dev/null || true
sleep 1.1
"$BIN" --config "$T/hd.yml" status > "$T/status" 2>&1
grep -q "unfinished archive: hostatlas-backup-tree-.*\.partial" "$T/status" || fail "status: $(cat "$T/status")"
grep -q "^last run to take the lock: pid $pid, started 20.*; no run log of it in $T/logs" "$T/status" || fail "status after kill -9: $(cat "$T/status")"
# The next run removes it once nothing has touched it for 10 minutes.
touch -d '-20 minutes' "$T"/dest/*.partial
"$BIN" --config "$T/hd.yml" run >/dev/null 2>"$T/err" || fail "run after kill -9: $(cat "$T/err")"
grep -q "removed a leftover of an interrupted run: hostatlas-backup-tree-.*\.partial" "$T/err" || fail "no sweep: $(cat "$T/err")"
no_partials || fail ".partial still there"
"$BIN" --config "$T/hd.yml" status > "$T/status" 2>&1
grep -q "unfinished run\|run in progress\|last run to take" "$T/status" && fail "status after a finished run still says: $(cat "$T/status")"
# Killed again, now after a run that wrote its log: the verdict.
sleep 1.1
HOSTATLAS_BACKUP_FAULT="tar:delay=300" "$BIN" --config "$T/hd.yml" run >/dev/null 2>&1 & pid=$!
wait_partial || fail "no .partial in flight (second kill)"
kill -9 $pid; wait $pid 2>/dev/null || true
"$BIN" --config "$T/hd.yml" status > "$T/status" 2>&1
grep -q "^unfinished run: pid $pid started 20.* and ended without a run log in $T/logs (killed" "$T/status" \
  || fail "status after the second kill -9: $(cat "$T/status")"
"$BIN" --config "$T/hd.yml" status --json | python3 -c "import json,sys; u=json.load(sys.stdin)['unfinished_run']; assert u['pid']==$pid and not u['running'], u" \
  || fail "status --json after kill -9"
rm -f "$T/dest"/*.partial
rm -f "$T/dest"/*
ok "kill -9 leftovers: status shows the run in progress, then the run that left no log and the .partial; the next run removes it"

# --- 17. A kill -9 during a restore leaves its staging folder: the next
# restore sweeps it; a failed restore into a new --to leaves no folder.
"$BIN" --config "$T/hd.yml" run >/dev/null 2>&1 || fail "run for the restore test"
HOSTATLAS_BACKUP_FAULT="read:delay=400" "$BIN" --config "$T/hd.yml" restore --to "$T/r17" >/dev/null 2>&1 & pid=$!
for _ in $(seq 1 100); do ls -a "$T/r17/tree" 2>/dev/null | grep -q '^\.hostatlas-restore-' && break; sleep 0.05; done
ls -a "$T/r17/tree" | grep -q '^\.hostatlas-restore-' || fail "no staging folder seen"
kill -9 $pid; wait $pid 2>/dev/null || true
"$BIN" --config "$T/hd.yml" restore --to "$T/r17" >/dev/null 2>"$T/err" || fail "restore after kill -9: $(cat "$T/err")"
! ls -a "$T/r17/tree" | grep -q '^\.hostatlas-restore-' || fail "stale staging left: $(ls -a "$T/r17/tree")"
cmp "$S/big.bin" "$T/r17/tree$S/big.bin" || fail "restored file differs"
A=$(ls "$T/dest"/hostatlas-backup-tree-*.zst.age)
python3 -c "import sys; p=sys.argv[1]; d=bytearray(open(p,'rb').read()); d[len(d)//2]^=1; open(p,'wb').write(d)" "$A"
expect_rc 1 "$BIN" --config "$T/hd.yml" restore --to "$T/r17new/x" 2>/dev/null
[ ! -e "$T/r17new/x" ] || fail "a failed restore left $(find "$T/r17new")"
rm -f "$T/dest"/* "$S/big.bin"
ok "restore: a dead restore's staging folder is swept; a failed restore leaves no new folder"

# --- 18. A file that shrinks while it is read: the source is
# ok_with_warnings (exit 0), in the summary, the run log and status.
head -c 64000000 /dev/urandom > "$S/shrinks.bin"
rm -rf "$T/logs"
HOSTATLAS_BACKUP_FAULT="tar:delay=300" "$BIN" --config "$T/hd.yml" run >"$T/out" 2>"$T/err" & pid=$!
sleep 1; truncate -s 1000000 "$S/shrinks.bin"
wait $pid || fail "a shrinking file failed the run: $(cat "$T/err")"
grep -q "^hostatlas-backup: tree: ok_with_warnings " "$T/out" || fail "summary: $(cat "$T/out")"
grep -q "shrinks.bin changed or failed while reading" "$T/err" || fail "no warning: $(cat "$T/err")"
grep -q '"status":"ok_with_warnings"' "$T"/logs/run-*.json || fail "run log: $(cat "$T"/logs/run-*.json)"
"$BIN" --config "$T/hd.yml" status > "$T/status"
grep -q "tree: ok_with_warnings.*1 warning" "$T/status" || fail "status: $(cat "$T/status")"
rm -f "$T/dest"/* "$S/shrinks.bin"
ok "a file that shrinks while read: ok_with_warnings in the summary, the run log and status, exit 0"

# --- 19. An archive whose members are refused restores with exit 1 and
# names them.
python3 - "$T/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name in ("../escape.txt", "/abs.txt"):
        data = b"evil\n"
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
PY
zstd -q -c "$T/evil.tar" | age -r "$RECIPIENT" > "$T/dest/hostatlas-backup-tree-20250101T000000Z.tar.zst.age"
expect_rc 1 "$BIN" --config "$T/hd.yml" restore --to "$T/r19" 2>"$T/err"
grep -q "2 member(s) refused, not restored" "$T/err" && grep -q "escape.txt" "$T/err" || fail "refused members: $(cat "$T/err")"
[ ! -e "$T/escape.txt" ] || fail "a member escaped"
rm -f "$T/dest"/*
ok "an archive whose every member is refused: exit 1, the members named"

# --- 20. status shows this config's last real run: not another config's,
# not a lock collision.
rm -rf "$T/logs"
"$BIN" --config "$T/hd.yml" run >/dev/null 2>&1 || fail "run hd"
SOURCE_NAME=other write_config "$T/other.yml" "$S"
sleep 1.1
"$BIN" --config "$T/other.yml" run >/dev/null 2>&1 || fail "run other"
"$BIN" --config "$T/hd.yml" status | sed '/^destination:/,$d' > "$T/status"
grep -q "^  tree: ok" "$T/status" && ! grep -q "^  other:" "$T/status" || fail "status showed another config's run: $(cat "$T/status")"
head -c 20000000 /dev/urandom > "$S/big.bin"
HOSTATLAS_BACKUP_FAULT="tar:delay=300" "$BIN" --config "$T/hd.yml" run >/dev/null 2>&1 & pid=$!
for _ in $(seq 1 100); do grep -q "pid $pid" /run/hostatlas-backup/hostatlas-backup-hd.lock 2>/dev/null && break; sleep 0.05; done
expect_rc 2 "$BIN" --config "$T/hd.yml" run 2>/dev/null
kill -TERM $pid; wait $pid 2>/dev/null || true
rm -f "$S/big.bin"
"$BIN" --config "$T/hd.yml" status > "$T/status"
grep -q "^last run: cancelled" "$T/status" || fail "status after a collision: $(cat "$T/status")"
rm -f "$T/dest"/*
ok "status: this config's runs only, and a lock collision is not the last run"

# --- Issue 20.8: a shared destination path (no {{ hostname }}) with an
# archive of one of our source names that this host never wrote: warned.
rm -rf "$T/logs"; rm -f "$T/dest"/*
"$BIN" --config "$T/hd.yml" run >/dev/null 2>&1 || fail "run for the shared-path test"
"$BIN" --config "$T/hd.yml" run --dry-run >/dev/null 2>"$T/err" || true
! grep -q "not written by this host" "$T/err" || fail "warned about our own archive: $(cat "$T/err")"
cp "$(ls "$T"/dest/hostatlas-backup-tree-*.zst.age)" "$T/dest/hostatlas-backup-tree-20200101T000000Z.tar.zst.age"
"$BIN" --config "$T/hd.yml" run --dry-run >/dev/null 2>"$T/err" || true
grep -q "warning: pre-flight: destination: local:$T/dest: 1 archive(s) of this config's source names were not written by this host (e.g. hostatlas-backup-tree-20200101T000000Z.tar.zst.age)" "$T/err" \
  || fail "no shared-path warning: $(cat "$T/err")"
grep -q "hint: put {{ hostname }} in the destination's path" "$T/err" || fail "no hint"
rm -f "$T/dest"/*
ok "a path without {{ hostname }} holding an archive this host did not write: pre-flight warns"

echo "$CHECKS passed, 0 failed"

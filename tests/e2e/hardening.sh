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
kill -TERM $first; wait $first 2>/dev/null || true
rm -f "$T/dest"/*
ok "collision names pid, start and the holder's config path, with a hint for a shared stem"
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

echo "$CHECKS passed, 0 failed"

#!/usr/bin/env bash
# Hooks, deep verification and status against the real binary.
source "$(dirname "$0")/../lib/e2e.sh"

S=$T/src; mkdir -p "$S"; seq 1 100000 > "$S/n.txt"; head -c 3000000 /dev/urandom > "$S/r.bin"

# 1. A failed pre-hook aborts: exit 1, nothing written; post hooks still run
#    and see the outcome in their environment.
EXTRA=$(printf 'hooks:\n  pre: ["echo pre-ran > %s/pre.out", "exit 3"]\n  post: ["env | grep ^HOSTATLAS_BACKUP_ > %s/post.env"]' "$T" "$T") \
  write_config "$T/lc1.yml" "$S"
expect_rc 1 "$BIN" --config "$T/lc1.yml" run 2>"$T/err"
grep -q 'pre-hook "exit 3" failed (exit code 3)' "$T/err" || fail "pre-hook failure not reported: $(cat "$T/err")"
[ "$(archives)" = 0 ] && no_partials || fail "a failed pre-hook wrote something"
grep -q '^HOSTATLAS_BACKUP_STATUS=failed$' "$T/post.env" || fail "post hook env: $(cat "$T/post.env")"
grep -q '^HOSTATLAS_BACKUP_EXIT_CODE=1$' "$T/post.env" || fail "post hook exit code env"
ok "failed pre-hook: exit 1, nothing written, post hooks told the outcome"

# 2. A failing post-hook leaves exit 0; its output tail lands in the run log.
EXTRA=$'hooks:\n  post: ["echo post-output-marker; exit 7"]' write_config "$T/lc2.yml" "$S"
"$BIN" --config "$T/lc2.yml" run 2>"$T/err" || fail "a failed post-hook failed the run"
grep -q 'post-hook .* failed (exit code 7)' "$T/err" || fail "post-hook failure not logged"
grep -l 'post-output-marker' "$T"/logs/run-*.json >/dev/null || fail "hook output tail not in the run log"
ok "failed post-hook: exit 0, logged with its output"
rm -f "$T/dest"/*; sleep 1.1

# 3. A hanging hook is killed at its timeout, with its whole process group.
EXTRA=$'hooks:\n  timeout_seconds: 1\n  pre: ["sleep 29.123 & sleep 29.123"]' write_config "$T/lc3.yml" "$S"
start=$(date +%s)
expect_rc 1 "$BIN" --config "$T/lc3.yml" run 2>"$T/err"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "hook timeout not enforced"
grep -q "killed after hooks.timeout_seconds (1 s)" "$T/err" || fail "timeout not reported: $(cat "$T/err")"
sleep 0.2; ! pgrep -f "sleep 29.123" >/dev/null || fail "hook's process group survived"
ok "hook timeout kills the process group"

# 4. A hook whose program is not in PATH fails pre-flight (exit 2).
EXTRA=$'hooks:\n  pre: ["definitely-not-a-command --flag"]' write_config "$T/lc4.yml" "$S"
expect_rc 2 "$BIN" --config "$T/lc4.yml" run 2>"$T/err"
grep -q "definitely-not-a-command not found" "$T/err" || fail "hook pre-flight: $(cat "$T/err")"
ok "unresolvable hook command fails pre-flight"

# 5. Deep verification passes on a good archive and catches one corrupted
#    between write and verify (the archive is then reported failed, exit 1).
EXTRA=$'verification:\n  mode: deep' write_config "$T/lc5.yml" "$S"
"$BIN" --config "$T/lc5.yml" run >"$T/out" 2>"$T/err" || fail "deep verification failed on a good archive: $(cat "$T/err")"
grep -q "verification ok" "$T/out" || fail "no verification ok"
rm -f "$T/dest"/*; sleep 1.1
expect_rc 1 env HOSTATLAS_BACKUP_FAULT="committed:1" "$BIN" --config "$T/lc5.yml" run 2>"$T/err"
grep -q "verification failed: deep" "$T/err" || fail "corruption not caught: $(cat "$T/err")"
ok "deep verification: passes a good archive, catches corruption after commit"
rm -f "$T/dest"/*; sleep 1.1

# 6. deep without an identity file is a pre-flight failure.
sed '/identity_file/d' "$T/lc5.yml" > "$T/lc6.yml"
expect_rc 2 "$BIN" --config "$T/lc6.yml" run 2>"$T/err"
grep -q "needs encryption.identity_file" "$T/err" || fail "deep pre-flight: $(cat "$T/err")"
ok "deep verification without identity_file fails pre-flight"

# 7. status: last run and destination snapshot, text and JSON.
"$BIN" --config "$T/lc2.yml" run 2>/dev/null
"$BIN" --config "$T/lc2.yml" status > "$T/status.txt"
grep -q "^last run: ok" "$T/status.txt" || fail "status: $(cat "$T/status.txt")"
grep -q "tree: 1 archives" "$T/status.txt" || fail "status snapshot: $(cat "$T/status.txt")"
"$BIN" --config "$T/lc2.yml" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["last_run"]["status"] == "ok", d
assert d["destination"]["sources"][0]["archives"] == 1, d'
ok "status prints the last run and the destination, as text and JSON"
echo "$CHECKS passed, 0 failed"

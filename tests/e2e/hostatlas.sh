#!/usr/bin/env bash
# HostAtlas (issue 18) against the strict fake of the API
# (tests/services/hostatlas_fake.py): login and its failure modes, auth.yml,
# heartbeat list/new, pings start/ok/fail with the run's rid, the run push
# byte for byte, the API down / hanging / 500 / 401 (same exit code and
# archive, bounded delay), the spool, status, logout, secrets kept out of
# output and run logs.
source "$(dirname "$0")/../lib/e2e.sh"
SERVICES=$(cd "$(dirname "$0")/../services" && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P=$(free_port)
F=http://127.0.0.1:$P
bash "$SERVICES/hostatlas.sh" start "$T/fake" "$P" --interval 1 || fail "the HostAtlas fake did not start"
trap 'bash "$SERVICES/hostatlas.sh" stop "$T/fake"; rm -rf "$T"' EXIT
export HOSTATLAS_AUTH_URL=$F HOSTATLAS_API_URL=$F
export HOSTATLAS_AUTH_FILE=$T/auth/hostatlas/auth.yml
mkdir -m 0700 "$T/lock"; export HOSTATLAS_BACKUP_LOCK_DIR=$T/lock
AUTH=$HOSTATLAS_AUTH_FILE
HOST=$(hostname)

fake() { # fake METHOD PATH [JSON]
  curl -sS -X "$1" ${3:+-H 'Content-Type: application/json' --data "$3"} "$F$2"
}
reset_fake() { fake POST "/_fake/reset${1:-}" >/dev/null; }
switch() { fake POST /_fake/config "$1" >/dev/null; }
# py EXPR...: runs Python with `state` (the fake's state), `reqs` (its
# request log) and `log(path)` (a run log) at hand.
py() {
  fake GET /_fake/state > "$T/state.json"; fake GET /_fake/requests > "$T/reqs.json"
  python3 - "$@" <<EOF
import json, sys
state = json.load(open("$T/state.json")); reqs = json.load(open("$T/reqs.json"))
def log(p): return json.load(open(p))
def pings(slug):  # the pings since the last reset, from the request log
    out = []
    for r in reqs:
        if r["method"] != "POST" or not r["path"].startswith("/ping/" + slug): continue
        kind = {"": "ok", "/start": "start", "/fail": "fail"}[r["path"][len("/ping/" + slug):]]
        out.append({"kind": kind, "rid": r["query"].split("=", 1)[1], "body": r["body"], "status": r["status"]})
    return out
def pushes(): return [r for r in reqs if r["path"] == "/api/v1/cli/backup-runs"]
$PY
EOF
}
newest_log() { ls -t "$T"/logs/run-*.json | head -1; }
S=$T/src; mkdir -p "$S"; seq 1 20000 > "$S/n.txt"
write_config "$T/c.yml" "$S"
archives_now() { ls "$T/dest" | grep -c '\.zst\.age$' || true; }

# 1. Login: the device flow (approved after 2 polls), auth.yml 0600 in a
#    0700 directory, written atomically; the code and URL printed; polls
#    spaced by the interval; the key, the token and the device code never
#    printed.
"$BIN" login --no-browser > "$T/out" 2> "$T/err" || fail "login failed: $(cat "$T/err")"
grep -q "$F/device?user_code=" "$T/out" || fail "login did not print the URL: $(cat "$T/out")"
UC=$(sed -n 's/.*user_code=\([A-Z-]*\).*/\1/p' "$T/out" | head -1)
grep -q "confirm the code  $UC" "$T/out" || fail "login did not print the user code: $(cat "$T/out")"
grep -q 'logged in to HostAtlas as "Example Ltd"' "$T/out" || fail "login did not name the account: $(cat "$T/out")"
[ "$(stat -c %a "$AUTH")" = 600 ] || fail "auth.yml mode $(stat -c %a "$AUTH")"
[ "$(stat -c %a "$(dirname "$AUTH")")" = 700 ] || fail "auth.yml directory mode $(stat -c %a "$(dirname "$AUTH")")"
[ "$(ls -A "$(dirname "$AUTH")")" = auth.yml ] || fail "left beside auth.yml: $(ls -A "$(dirname "$AUTH")")"
KEY=$(sed -n 's/^api_key: "\(.*\)"$/\1/p' "$AUTH")
KEY_ID=$(sed -n 's/^key_id: "\(.*\)"$/\1/p' "$AUTH")
[[ $KEY == ha_* ]] || fail "auth.yml has no ha_ key: $(sed 's/ha_.*/ha_.../' "$AUTH")"
for k in api_url key_id account created_at; do grep -q "^$k: " "$AUTH" || fail "auth.yml lacks $k"; done
grep -q "^api_url: \"$F\"" "$AUTH" || fail "auth.yml api_url is not $F"
PY='
polls = [r for r in reqs if r["path"] == "/oauth/token"]
assert len(polls) == 2, len(polls)
assert polls[1]["time"] - polls[0]["time"] >= 0.95, "polls closer than the interval"
keys = state["keys"]; assert len(keys) == 1 and keys[0]["name"] == "hostatlas-backup@'"$HOST"'", keys
assert all(r["headers"]["User-Agent"].startswith("hostatlas-backup/") for r in reqs)
print("\n".join(p["body"] for p in polls))' py > "$T/polls" || fail "login requests: $(cat "$T/reqs.json")"
DEVICE_CODE=$(sed -n 's/.*device_code=\([^&]*\).*/\1/p' "$T/polls" | head -1)
[ -n "$DEVICE_CODE" ] || fail "no device code seen in the polls"
for secret in "$KEY" "$DEVICE_CODE"; do
  ! grep -qF -- "$secret" "$T/out" "$T/err" || fail "a secret was printed by login"
done
ok "login: device flow, auth.yml 0600 in a 0700 directory, code and URL shown, polls at the interval, no secret printed"

# 2. heartbeat new / list (table and JSON).
"$BIN" heartbeat new nightly > "$T/out" 2> "$T/err" || fail "heartbeat new: $(cat "$T/err")"
SLUG=$(sed -n 's/^slug: //p' "$T/out")
[[ $SLUG == hb_* ]] || fail "heartbeat new printed no slug: $(cat "$T/out")"
grep -q "^ping URL: .*/ping/$SLUG$" "$T/out" || fail "heartbeat new printed no ping URL: $(cat "$T/out")"
"$BIN" heartbeat list > "$T/out" || fail "heartbeat list failed"
grep -q "^$SLUG  *nightly  *new  *never  *http" "$T/out" || fail "heartbeat list: $(cat "$T/out")"
"$BIN" heartbeat list --json | python3 -c "
import json, sys; d = json.load(sys.stdin)
assert [h['slug'] for h in d['heartbeats']] == ['$SLUG'] and d['heartbeats'][0]['last_ping_at'] is None, d" \
  || fail "heartbeat list --json"
ok "heartbeat new prints slug and ping URL; heartbeat list as a table and as JSON"

# 3. A run with a heartbeat: start then ok with the run's run_id, a text
#    body; the run log POSTed byte for byte as written (Idempotency-Key =
#    run_id), then the push outcome recorded in the file (the only change).
printf 'heartbeat:\n  slug: %s\nhostatlas:\n  server_uuid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427\n' "$SLUG" >> "$T/c.yml"
reset_fake
"$BIN" --config "$T/c.yml" run > "$T/out" 2> "$T/err" || fail "run with heartbeat failed: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "a run with the API up printed on stderr: $(cat "$T/err")"
L=$(newest_log)
PY='
l = log("'"$L"'"); rid = l["run_id"]
p = pings("'"$SLUG"'")
assert [x["kind"] for x in p] == ["start", "ok"] and all(x["status"] == 200 for x in p), p
assert all(x["rid"] == rid for x in p), (rid, p)
assert p[1]["body"].startswith("ok on "), p[1]["body"]
pu = pushes(); assert len(pu) == 1 and pu[0]["headers"]["Idempotency-Key"] == rid and pu[0]["status"] == 201, pu
run = [r for r in state["runs"] if r["idempotency_key"] == rid][0]
assert all(r["headers"]["Content-Type"].startswith("text/plain") for r in reqs if r["path"].startswith("/ping/"))
pushed = pu[0]["body"]; on_disk = open("'"$L"'").read()
h = l["hostatlas"]; assert h["logged_in"] and h["push"]["outcome"] == "ok" and h["push"]["id"] == run["id"], h
assert [p["outcome"] for p in h["heartbeat"]] == ["ok", "ok"], h["heartbeat"]
push = json.dumps(h["push"], separators=(",", ":"))
assert on_disk.count(push) == 1, "push field not found verbatim"
assert on_disk.replace(push, "{\"outcome\":\"pending\"}") == pushed, "the pushed body differs from the file beyond hostatlas.push"
assert [c for c in l["preflight"] if c["check"] == "heartbeat"][0]["outcome"] == "ok"
assert l["server_uuid"] == "1b4e28ba-2fa1-11d2-883f-0016d3cca427", l.get("server_uuid")  # sent unchanged (pushed == file)' py \
  || fail "run with heartbeat: $(cat "$T/state.json" | head -c 3000)"
ok "run: ping start then ok with the run_id, the run log pushed byte for byte (Idempotency-Key) with server_uuid, push outcome recorded"

# 4. A failing source: exit 1, ping fail naming the source.
reset_fake; sleep 1
expect_rc 1 env HOSTATLAS_BACKUP_FAULT=tar:1 "$BIN" --config "$T/c.yml" run > /dev/null 2> "$T/err"
PY='
p = pings("'"$SLUG"'"); l = log("'"$(newest_log)"'")
assert [x["kind"] for x in p] == ["start", "fail"] and all(x["rid"] == l["run_id"] for x in p), p
assert "source tree:" in p[1]["body"] and p[1]["body"].startswith("failed on "), p[1]["body"]
assert len(pushes()) == 1 and l["exit_code"] == 1' py || fail "failing source pings"
ok "a failing source: exit 1, ping fail naming the source, run pushed"

# 5. A broken config (pre-flight fails): exit 2, ping fail with the problem;
#    no start ping is missing its pair: start, then fail.
sed 's|^  recipient: .*|  recipient: age1notarecipient|' "$T/c.yml" > "$T/broken.yml"
# A hook command line may hold a secret: it must not reach the ping body.
printf 'hooks:\n  pre: ["nosuchprog --password=S3CRETPW"]\n' >> "$T/broken.yml"
reset_fake
expect_rc 2 "$BIN" --config "$T/broken.yml" run > /dev/null 2> "$T/err"
PY='
p = pings("'"$SLUG"'"); assert [x["kind"] for x in p] == ["start", "fail"], p
body = p[-1]["body"]; assert body.startswith("pre-flight failed"), body
assert "recipient" in body and "nosuchprog not found" in body, body
assert "S3CRETPW" not in body, body
assert log("'"$(newest_log)"'")["exit_code"] == 2 and len(pushes()) == 1' py || fail "broken config pings: $(cat "$T/err")"
ok "a broken config: exit 2, ping fail with the pre-flight problems (a hook by its program, not its command line), run pushed"

# 6. A dry run: no ping, no push (only the slug check).
reset_fake
"$BIN" --config "$T/c.yml" run --dry-run > "$T/out" 2>&1 || fail "dry run failed: $(cat "$T/out")"
grep -q "heartbeat.*$SLUG" "$T/out" || fail "the dry run shows no heartbeat check: $(cat "$T/out")"
PY='
bad = [r["method"] + " " + r["path"] for r in reqs if r["path"].startswith("/ping/") and r["method"] == "POST" or r["path"].endswith("/backup-runs")]
assert not bad, bad' py || fail "the dry run pinged or pushed"
ok "dry run: the slug is checked, nothing pinged or pushed"

# 7. The API down, failing (500, 401) or hanging: same exit code and
#    archive, warnings recorded, pushes spooled, the delay bounded.
#    Bounds (docs/hostatlas.md): once the API failed, later calls are
#    tried once; down/500/401: no back-off sleeps beyond 1 s + 3 s;
#    hanging: the background work gets 10 s past the backup, then the end
#    ping one attempt of 10 s, the push is spooled untried.
run_with() { # run_with NAME MAX_SECONDS: a run, its duration and checks
  local before t0 t1 secs
  sleep 1  # archive names have one-second resolution
  before=$(archives_now)
  t0=$(date +%s.%N)
  "$BIN" --config "$T/c.yml" run > "$T/out.$1" 2> "$T/err.$1" || fail "$1: the run failed: $(cat "$T/err.$1")"
  t1=$(date +%s.%N)
  secs=$(python3 -c "print(round($t1 - $t0, 1))")
  [ "$(archives_now)" = $((before + 1)) ] || fail "$1: no new archive"
  python3 -c "import sys; sys.exit(0 if $secs <= $2 else 1)" || fail "$1: the run took ${secs}s, bound $2 s"
  grep -q 'HostAtlas' "$T/err.$1" || fail "$1: no warning on stderr: $(cat "$T/err.$1")"
  L=$(newest_log)
  python3 -c "
import json; l = json.load(open('$L')); h = l['hostatlas']
assert l['exit_code'] == 0, l['exit_code']
assert any('HostAtlas' in w for w in l['warnings']), l['warnings']
assert h['push']['outcome'] == 'spooled', h['push']" || fail "$1: run log $(cat "$L")"
  echo "$1: ${secs}s" >> "$T/timings"
}
bash "$SERVICES/hostatlas.sh" stop "$T/fake"
run_with down 8
bash "$SERVICES/hostatlas.sh" start "$T/fake" "$P" --interval 1 || fail "fake restart"
# The fake lost its state: the key and the heartbeat come back as they were.
fake POST /_fake/keys "{\"id\":\"$KEY_ID\",\"key\":\"$KEY\"}" > /dev/null
fake POST /_fake/heartbeats "{\"slug\":\"$SLUG\",\"name\":\"nightly\"}" > /dev/null
switch '{"fail_status": 500}'
run_with http500 12
switch '{"fail_status": 401}'
run_with http401 12
grep -q 'login` again' "$T/err.http401" || fail "401: no hint to log in again: $(cat "$T/err.http401")"
switch '{"fail_status": 0, "hang": true}'
run_with hang 24
switch '{"hang": false}'
[ "$(ls "$T/logs/hostatlas-spool" | wc -l)" = 4 ] || fail "spool: $(ls "$T/logs/hostatlas-spool")"
ok "API down / 500 / 401 / hanging: exit 0, archive made, warning recorded, push spooled; $(tr '\n' ' ' < "$T/timings")"

# 8. status: the spool count; the heartbeat's state from the API.
"$BIN" --config "$T/c.yml" status > "$T/out" 2>&1 || fail "status: $(cat "$T/out")"
grep -q "push spool: 4 run log(s) waiting" "$T/out" || fail "status shows no spool: $(cat "$T/out")"
grep -q "heartbeat $SLUG: " "$T/out" || fail "status shows no heartbeat: $(cat "$T/out")"
"$BIN" --config "$T/c.yml" status --json | python3 -c "
import json, sys; h = json.load(sys.stdin)['hostatlas']
assert h['logged_in'] and h['spool_waiting'] == 4 and h['heartbeat']['slug'] == '$SLUG', h" || fail "status --json"

# 9. The next run sends the spool, oldest first, and empties it.
reset_fake; sleep 1
"$BIN" --config "$T/c.yml" run > /dev/null 2> "$T/err" || fail "run after the outage: $(cat "$T/err")"
[ -z "$(ls "$T/logs/hostatlas-spool")" ] || fail "spool not emptied: $(ls "$T/logs/hostatlas-spool")"
PY='
pu = pushes(); assert len(pu) == 5 and all(r["status"] == 201 for r in pu), pu
order = [json.loads(r["body"])["started_at"] for r in pu[:4]]
assert order == sorted(order), order
l = log("'"$(newest_log)"'"); assert l["hostatlas"]["spool"]["sent"] == 4, l["hostatlas"]' py || fail "spool retry"
"$BIN" --config "$T/c.yml" status > "$T/out" 2>&1
! grep -q "push spool" "$T/out" || fail "status still shows a spool: $(cat "$T/out")"
grep -q "heartbeat $SLUG: up, last ping 20" "$T/out" || fail "status: heartbeat state: $(cat "$T/out")"
ok "status shows the spool count and the heartbeat's state; the next run sends the spool oldest first and empties it"

# 10. Offline status: "unknown (offline)".
switch '{"fail_status": 503}'
"$BIN" --config "$T/c.yml" status > "$T/out" 2>&1
grep -q "heartbeat $SLUG: unknown (offline)" "$T/out" || fail "status offline: $(cat "$T/out")"
switch '{"fail_status": 0}'
ok "status with the API failing: heartbeat unknown (offline)"

# 11. auth.yml others can read: refused with the chmod hint (heartbeat:
#     exit 2; run: a warning, not pushed, exit 0).
chmod 640 "$AUTH"
expect_rc 2 "$BIN" heartbeat list > /dev/null 2> "$T/err"
grep -q "chmod 600 $AUTH" "$T/err" || fail "no chmod hint: $(cat "$T/err")"
reset_fake; sleep 1
"$BIN" --config "$T/c.yml" run > /dev/null 2> "$T/err" || fail "run with a readable auth.yml failed"
grep -q "chmod 600 $AUTH" "$T/err" || fail "run: no chmod hint: $(cat "$T/err")"
PY='assert not pushes()' py || fail "pushed with a readable auth.yml"
chmod 600 "$AUTH"
ok "a group-readable auth.yml is refused (chmod 600 hint): heartbeat exits 2, run warns and does not push"

# 12. The secrets never reach a run log, the spool or a ping body.
! grep -rqF -- "$KEY" "$T/logs" || fail "the API key is in a run log"
! grep -rqF -- "$DEVICE_CODE" "$T/logs" || fail "the device code is in a run log"
PY='
for h in state["heartbeats"]:
    for p in h["pings"]: assert "'"$KEY"'" not in p["body"]
for r in reqs:
    assert "'"$KEY"'" not in r["path"] + r["query"] + r["body"]' py || fail "a secret went where it should not"
ok "the key and the device code are in no run log, ping body, URL or pushed body"

# 13. logout: the key is revoked (DELETE with its own Bearer), the file gone.
reset_fake
# A file others could read: its key may have leaked, so logout still revokes it.
chmod 640 "$AUTH"
"$BIN" logout > "$T/out" 2> "$T/err" || fail "logout: $(cat "$T/err")"
[ ! -e "$AUTH" ] || fail "auth.yml still there after logout"
grep -q "revoked key $KEY_ID" "$T/out" || fail "logout did not say it revoked: $(cat "$T/out")"
PY='
d = [r for r in reqs if r["method"] == "DELETE"]
assert len(d) == 1 and d[0]["path"] == "/api/v1/cli/api-keys/'"$KEY_ID"'" and d[0]["status"] == 204, d
assert [k for k in state["keys"] if k["id"] == "'"$KEY_ID"'"][0]["revoked"]' py || fail "revoke request"
"$BIN" logout > "$T/out" 2>&1 || fail "a second logout failed"
grep -q "not logged in" "$T/out" || fail "second logout: $(cat "$T/out")"
ok "logout revokes the key (DELETE seen, 204; also from a group-readable auth.yml) and removes it; a second logout says there is nothing to do"

# 14. Without auth.yml: heartbeat commands exit 2 ("login first"); a run
#     pings (the slug needs no key) and does not push; --debug says why.
expect_rc 2 "$BIN" heartbeat list > /dev/null 2> "$T/err"
grep -q 'run `hostatlas-backup login` first' "$T/err" || fail "heartbeat list without login: $(cat "$T/err")"
expect_rc 2 "$BIN" heartbeat new x > /dev/null 2> "$T/err"
grep -q 'run `hostatlas-backup login` first' "$T/err" || fail "heartbeat new without login: $(cat "$T/err")"
reset_fake; sleep 1
"$BIN" --config "$T/c.yml" run > /dev/null 2> "$T/err" || fail "standalone run failed"
[ ! -s "$T/err" ] || fail "a standalone run printed on stderr: $(cat "$T/err")"
sleep 1; "$BIN" --debug --config "$T/c.yml" run > /dev/null 2> "$T/err" || fail "standalone --debug run failed"
[ "$(grep -c 'not logged in' "$T/err")" = 1 ] || fail "--debug: no single 'not logged in' line: $(cat "$T/err")"
PY='
assert not pushes()
assert [x["kind"] for x in pings("'"$SLUG"'")] == ["start", "ok", "start", "ok"], pings("'"$SLUG"'")
assert not any("Authorization" in r["headers"] for r in reqs)
assert [c for c in log("'"$(newest_log)"'")["preflight"] if c["check"] == "heartbeat"], "no slug check"' py \
  || fail "standalone run"
ok "without auth.yml: heartbeat commands exit 2 (login first); runs ping without a key, push nothing, --debug says so once"

# 15. Login failure modes, each leaving no auth.yml and no temp file:
#     denied, expired, a proxy's empty codes, slow_down without end (the
#     clock); slow_down twice then approval works.
login_fails() { # login_fails NAME SWITCHES MESSAGE
  reset_fake; switch "$2"
  expect_rc 1 "$BIN" login --no-browser > "$T/out" 2> "$T/err"
  grep -q "$3" "$T/err" || fail "login $1: $(cat "$T/err")"
  [ -z "$(ls -A "$(dirname "$AUTH")")" ] || fail "login $1 left $(ls -A "$(dirname "$AUTH")")"
}
login_fails denied '{"deny": true}' "login was denied"
login_fails expired '{"expire": true}' "the code expired, run login again"
login_fails empty '{"empty_codes": true}' "proxy"
login_fails clock '{"slow_down_polls": 99}' "clock"
reset_fake; switch '{"slow_down_polls": 2}'
"$BIN" login --no-browser > /dev/null 2> "$T/err" || fail "login after 2 slow_downs: $(cat "$T/err")"
PY='
polls = [r["time"] for r in reqs if r["path"] == "/oauth/token"]
assert len(polls) == 3 and polls[1] - polls[0] >= 5.9 and polls[2] - polls[1] >= 10.9, polls' py \
  || fail "slow_down did not add 5 s per answer"
rm -f "$AUTH"
ok "login: denied, expired, empty codes and endless slow_down exit 1 and write nothing; slow_down adds 5 s"

# 16. Ctrl-C while waiting for approval: nothing written.
reset_fake; switch '{"approve_after_polls": 1000}'
"$BIN" login --no-browser > "$T/out" 2> "$T/err" &
pid=$!
for _ in $(seq 1 100); do grep -q user_code "$T/out" 2>/dev/null && break; sleep 0.1; done
sleep 1.5; kill -INT $pid
set +e; wait $pid; rc=$?; set -e
[ "$rc" = 1 ] || fail "login after SIGINT exited $rc"
grep -q "cancelled" "$T/err" || fail "login SIGINT: $(cat "$T/err")"
[ -z "$(ls -A "$(dirname "$AUTH")")" ] || fail "SIGINT left $(ls -A "$(dirname "$AUTH")")"
ok "Ctrl-C during login: exit 1, no auth.yml, no temp file"

# 17. Plain http to a host that is not loopback is refused before a byte.
expect_rc 2 "$BIN" login --no-browser --auth-url http://example.com > /dev/null 2> "$T/err"
grep -q "https" "$T/err" || fail "http auth URL: $(cat "$T/err")"
expect_rc 2 env HOSTATLAS_API_URL=http://10.0.0.1 "$BIN" login --no-browser > /dev/null 2> "$T/err"
ok "plain-http URLs to non-loopback hosts are refused (exit 2)"

# 18. API errors of the heartbeat commands are exit 1 (2 is for local
#     settings); a token answer that asking again cannot change ends the
#     login at once.
reset_fake; "$BIN" login --no-browser > /dev/null 2>&1 || fail "login for the error checks"
reset_fake; switch '{"fail_status": 422, "fail_paths": ["/api/v1/heartbeats"]}'
expect_rc 1 "$BIN" heartbeat new x > /dev/null 2> "$T/err"
grep -q "injected 422" "$T/err" || fail "422 message: $(cat "$T/err")"
expect_rc 1 "$BIN" heartbeat list > /dev/null 2> "$T/err"
reset_fake; switch '{"fail_status": 400, "fail_paths": ["/oauth/token"], "fail_error": "invalid_grant", "fail_message": "the code is not known"}'
t0=$(date +%s)
expect_rc 1 "$BIN" login --no-browser > /dev/null 2> "$T/err"
[ $(( $(date +%s) - t0 )) -lt 10 ] || fail "login kept polling after invalid_grant"
grep -q "the code is not known" "$T/err" || fail "invalid_grant message: $(cat "$T/err")"
grep -q '^api_key' "$AUTH" || fail "a failed login touched the existing auth.yml"
ok "heartbeat commands exit 1 on API errors (422); login stops at once on invalid_grant, auth.yml untouched"

# 19. SIGINT while the push hangs: the run ends within about a second,
#     exit code unchanged, the run log spooled.
reset_fake; switch '{"hang": true, "hang_paths": ["/api/v1/cli/backup-runs"]}'
sleep 1
"$BIN" --config "$T/c.yml" run > "$T/out" 2> "$T/err" &
pid=$!
for _ in $(seq 1 100); do
  fake GET /_fake/requests | grep -q backup-runs && break; sleep 0.1
done
t0=$(date +%s.%N); kill -INT $pid
set +e; wait $pid; rc=$?; set -e
secs=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
switch '{"hang": false}'
[ "$rc" = 0 ] || fail "SIGINT during the push changed the exit code to $rc: $(cat "$T/err")"
python3 -c "import sys; sys.exit(0 if $secs <= 2.5 else 1)" || fail "SIGINT during the push: ended after ${secs}s"
python3 -c "
import json; h = json.load(open('$(newest_log)'))['hostatlas']
assert h['push']['outcome'] == 'spooled', h['push']" || fail "SIGINT during the push: not spooled"
ok "SIGINT while the push hangs: ended ${secs}s after the signal, exit 0, run log spooled"

# 20. SIGINT while the key is being minted: the key the server made is
#     revoked again, nothing written.
rm -f "$AUTH"
reset_fake; switch '{"approve_after_polls": 1, "hang": true, "hang_paths": ["/api/v1/cli/api-keys"]}'
"$BIN" login --no-browser > "$T/out" 2> "$T/err" &
pid=$!
for _ in $(seq 1 100); do
  fake GET /_fake/requests | grep -q '"/api/v1/cli/api-keys"' && break; sleep 0.1
done
kill -INT $pid; sleep 0.5
switch '{"hang": false}'  # the mint answers now: the key exists on the server
set +e; wait $pid; rc=$?; set -e
[ "$rc" = 1 ] || fail "SIGINT during the mint: exit $rc: $(cat "$T/err")"
[ -z "$(ls -A "$(dirname "$AUTH")")" ] || fail "SIGINT during the mint left $(ls -A "$(dirname "$AUTH")")"
PY='
ks = state["keys"]; assert ks and ks[-1]["revoked"], ks  # the newest: minted while cancelled' py || fail "the minted key was not revoked"
ok "SIGINT while the key is minted: exit 1, nothing written, the minted key revoked"

echo "hostatlas: $CHECKS checks passed"

#!/usr/bin/env bash
# SFTP destination (issue 17) against a private OpenSSH 9.2 sshd on loopback
# (tests/services/sshd.sh), cross-checked with the stock sftp, age, zstd and
# tar: backup, retention, status/list, restore and verify as root; key
# (ed25519, ECDSA, RSA, passphrase-protected) and password auth, a chroot and
# a server without posix-rename; host-key checks (one type each, hashed,
# unknown, changed, unreadable lines); a frozen, a killed and a full server,
# one that never answers; a dry run that creates nothing.
source "$(dirname "$0")/../lib/e2e.sh"
[ "$(id -u)" = 0 ] || fail "needs root (sshd.sh makes system accounts and a chroot; CI runs as root)"
HERE=$(cd "$(dirname "$0")/.." && pwd)
SSHD=$HERE/services/sshd.sh
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
D=$T/ssh
BG=; SILENT=
cleanup() {
  # BG: a run in flight (under `timeout`, which passes SIGTERM on).
  [ -n "$BG" ] && kill -TERM "$BG" 2>/dev/null || true
  [ -n "$SILENT" ] && kill "$SILENT" 2>/dev/null || true
  bash "$SSHD" stop "$D" >/dev/null 2>&1 || true   # also thaws a frozen server
  [ -n "$BG" ] && wait "$BG" 2>/dev/null || true
  mountpoint -q "$T/full" 2>/dev/null && umount "$T/full" || true
  rm -rf "$T"
}
trap cleanup EXIT
# Our own lock directory: nothing is left in /run/hostatlas-backup.
export HOSTATLAS_BACKUP_LOCK_DIR=$T/lock; mkdir -m 0700 "$T/lock"
P=$(free_port)
bash "$SSHD" start "$D" "$P" >/dev/null || fail "sshd did not start: $(cat "$D/log" 2>/dev/null)"
HOST=$(hostname)
fp() { ssh-keygen -lf "$1" | awk '{print $2}'; }   # SHA256:... of a public key file
now() { date +%s.%N; }
within() { awk -v a="$1" -v b="$(now)" -v m="$2" 'BEGIN { exit !(b - a < m) }'; }
since() { echo "$(now) - $1" | bc; }
# The key of the newest run log's first source (its archive name).
last_key() { python3 -c "import json,glob,os; f=max(glob.glob('$T/logs/run-*.json'), key=os.path.getmtime); print(json.load(open(f))['sources'][0]['archive_key'])"; }
# Waits (up to 20 s) for a .partial in folder $1.
wait_remote_partial() {
  for _ in $(seq 1 400); do ls "$1" 2>/dev/null | grep -q '\.partial$' && return 0; sleep 0.05; done
  return 1
}

# The source tree: text, incompressible data, a name with spaces, a
# symlink, an empty folder, a deeper level.
S=$T/src; mkdir -p "$S/sub/deeper" "$S/empty"
seq 1 200000 > "$S/numbers.txt"
head -c 2000000 /dev/urandom > "$S/sub/random.bin"
echo "spaces" > "$S/sub/with space.txt"
echo "deep" > "$S/sub/deeper/d.txt"
ln -s ../numbers.txt "$S/sub/link"
# 30 MB of random data for the runs that are interrupted in flight.
BIGS=$T/big; mkdir -p "$BIGS"; head -c 30000000 /dev/urandom > "$BIGS/random.bin"

# sftp_config FILE USER PATH DEST_LINE...: a config with destination type
# sftp on the test server; DEST_LINE: extra destination keys (auth etc.).
# $KH: known_hosts_file (default DIR/known_hosts); $SRC: the source folder
# (default $S); $EXTRA: top-level YAML.
sftp_config() {
  local file=$1 user=$2 path=$3 l; shift 3
  {
    echo "sources:"
    echo "  - {type: files, name: ${SOURCE_NAME:-tree}, paths: [\"${SRC:-$S}\"]}"
    echo "destination:"
    echo "  type: sftp"
    echo "  host: 127.0.0.1"
    echo "  port: $P"
    echo "  user: $user"
    echo "  known_hosts_file: ${KH:-$D/known_hosts}"
    for l in "$@"; do echo "  $l"; done
    echo "  path: \"$path\""
    echo "encryption: {recipient: $RECIPIENT, identity_file: $T/key.txt}"
    echo "${EXTRA:-}"
  } > "$file"
}
ED="identity_file: $D/client_ed25519"
# The server accepted a publickey login of USER with the key FILE.pub (its log).
accepted() { grep -q "Accepted publickey for $1 from 127.0.0.1 port [0-9]* ssh2: $2 $(fp "$3.pub")" "$D/log"; }

# ---------------------------------------------------------------------------
# 1. Root, ed25519 key, deep verification, keep_last 2, three runs.
RR=$T/remote
EXTRA=$'verification: {mode: deep}\nretention: {keep_last: 2}' sftp_config "$T/main.yml" root "$RR/{{ hostname }}" "$ED"
names=()
for i in 1 2 3; do
  [ "$i" = 1 ] || sleep 1.1
  "$BIN" --config "$T/main.yml" run >"$T/out" 2>"$T/err" || fail "run $i to sftp failed: $(cat "$T/out" "$T/err")"
  grep -q "^hostatlas-backup: tree: ok .*verification ok" "$T/out" || fail "run $i: no deep verification: $(cat "$T/out")"
  names+=("$(last_key)")
done
left=$(ls -A "$RR/$HOST")
[ "$left" = "$(printf '%s\n' "${names[1]}" "${names[2]}")" ] \
  || fail "keep_last 2 after 3 runs left: $left (runs wrote: ${names[*]})"
accepted root ED25519 "$D/client_ed25519" || fail "the server did not log an ed25519 login: $(tail -5 "$D/log")"
ok "3 runs as root (ed25519 key), deep verification: keep_last 2 leaves the 2 newest, nothing else (no .partial, no probe)"

"$BIN" --config "$T/main.yml" status >"$T/status" 2>&1 || fail "status: $(cat "$T/status")"
grep -qx "destination: sftp://root@127.0.0.1:$P$RR/$HOST" "$T/status" || fail "status destination: $(cat "$T/status")"
grep -q "^  tree: 2 archives, .* newest ${names[2]}$" "$T/status" || fail "status snapshot: $(cat "$T/status")"
"$BIN" --config "$T/main.yml" list >"$T/list" 2>&1 || fail "list: $(cat "$T/list")"
grep -qx "destination: sftp://root@127.0.0.1:$P$RR/$HOST" "$T/list" && grep -qx "tree (2 archives)" "$T/list" \
  && grep -q " ${names[1]}$" "$T/list" && grep -q " ${names[2]}$" "$T/list" || fail "list: $(cat "$T/list")"
ok "status and list show the SFTP destination and its 2 archives"

"$BIN" --config "$T/main.yml" restore --to "$T/r1" >"$T/out" 2>"$T/err" || fail "restore: $(cat "$T/err")"
diff -r --no-dereference "$S" "$T/r1/tree$S" || fail "restored tree differs"
ok "restore --to from SFTP gives the tree back (diff -r)"

"$BIN" --config "$T/main.yml" verify --all >"$T/out" 2>"$T/err" || fail "verify --all: $(cat "$T/out" "$T/err")"
[ "$(grep -c "^hostatlas-backup: tree: ok .*(decrypted, decompressed and checked" "$T/out")" = 2 ] \
  || fail "verify --all did not check both archives: $(cat "$T/out")"
ok "verify --all reads back both archives over SFTP"

# ---------------------------------------------------------------------------
# 2. Cross-checks with OpenSSH's sftp and the stock age/zstd/tar.
echo "get $RR/$HOST/${names[2]} $T/dl.age" | sftp -q -F "$D/ssh_config" -b - hab >/dev/null 2>"$T/err" \
  || fail "sftp get: $(cat "$T/err")"
mkdir "$T/stock"
age -d -i "$T/key.txt" "$T/dl.age" | zstd -d -q | tar -xf - -C "$T/stock"
diff -r --no-dereference "$S" "$T/stock$S" || fail "the stock tools read a different tree"
ok "an archive we uploaded: sftp -b get + age -d | zstd -d | tar -x give the tree back"

NEWKEY=hostatlas-backup-tree-20300101T000000Z.tar.zst.age
tar -cf - -C / "${S#/}" | zstd -q -3 | age -r "$RECIPIENT" > "$T/$NEWKEY"
echo "put $T/$NEWKEY $RR/$HOST/$NEWKEY" | sftp -q -F "$D/ssh_config" -b - hab >/dev/null 2>"$T/err" \
  || fail "sftp put: $(cat "$T/err")"
"$BIN" --config "$T/main.yml" restore --to "$T/r2" --from "$NEWKEY" >"$T/out" 2>"$T/err" \
  || fail "restore --from of the sftp upload: $(cat "$T/err")"
diff -r --no-dereference "$S" "$T/r2/tree$S" || fail "restore of the sftp-uploaded archive differs"
ok "an archive made by tar | zstd | age and put with sftp -b restores with ours (restore --from)"

# ---------------------------------------------------------------------------
# 3. Authentication.
sftp_config "$T/ecdsa.yml" root "$T/auth" "identity_file: $D/client_ecdsa"
"$BIN" --config "$T/ecdsa.yml" run >/dev/null 2>"$T/err" || fail "ECDSA key: $(cat "$T/err")"
accepted root ECDSA "$D/client_ecdsa" || fail "the server did not log an ECDSA login"
ok "ECDSA client key"

# OpenSSH 9.2 refuses SHA-1 "ssh-rsa" signatures: a login with the RSA key
# can only be rsa-sha2-256/512.
/usr/sbin/sshd -T -f "$D/sshd_config" | grep '^pubkeyacceptedalgorithms ' | tr ' ,' '\n\n' | grep -qx 'ssh-rsa' \
  && fail "this sshd still accepts ssh-rsa (SHA-1) signatures: the RSA check would prove nothing"
sleep 1.1
sftp_config "$T/rsa.yml" root "$T/auth" "identity_file: $D/client_rsa"
"$BIN" --config "$T/rsa.yml" run >/dev/null 2>"$T/err" || fail "RSA key: $(cat "$T/err")"
accepted root RSA "$D/client_rsa" || fail "the server did not log an RSA login"
ok "RSA client key (rsa-sha2: OpenSSH 9.2 accepts no ssh-rsa signatures)"

sleep 1.1
[ "$(stat -c %a "$D/client_ed25519_pass.passphrase")" = 600 ] || fail "passphrase file not 0600"
sftp_config "$T/pass.yml" root "$T/auth" "identity_file: $D/client_ed25519_pass" \
  "identity_passphrase_file: $D/client_ed25519_pass.passphrase"
"$BIN" --config "$T/pass.yml" run >/dev/null 2>"$T/err" || fail "passphrase-protected key: $(cat "$T/err")"
accepted root ED25519 "$D/client_ed25519_pass" || fail "the server did not log the passphrase-protected key's login"
sftp_config "$T/nopass.yml" root "$T/auth" "identity_file: $D/client_ed25519_pass"
expect_rc 2 "$BIN" --config "$T/nopass.yml" run 2>"$T/err" >/dev/null
grep -q "identity_file $D/client_ed25519_pass: cannot use the key" "$T/err" || fail "no passphrase: $(cat "$T/err")"
grep -q "identity_passphrase_file" "$T/err" || fail "no hint at identity_passphrase_file: $(cat "$T/err")"
grep -qF "$(cat "$D/client_ed25519_pass.passphrase")" "$T/err" && fail "the passphrase was printed"
cp "$D/client_ed25519_pass.passphrase" "$T/pp.open"; chmod 644 "$T/pp.open"
sftp_config "$T/ppopen.yml" root "$T/auth" "identity_file: $D/client_ed25519_pass" "identity_passphrase_file: $T/pp.open"
expect_rc 2 "$BIN" --config "$T/ppopen.yml" run 2>"$T/err" >/dev/null
grep -q "identity_passphrase_file $T/pp.open is accessible by group or others (mode 0644)" "$T/err" \
  && grep -q "chmod 600 $T/pp.open" "$T/err" || fail "open passphrase file: $(cat "$T/err")"
ok "passphrase-protected ed25519 key: works with identity_passphrase_file (0600); without it exit 2 naming identity_file; a 0644 passphrase file refused"

# Password user habsftp (password only), relative dated path in its home.
PW=$(cat "$D/password")
[ -n "$PW" ] && [ "$(stat -c %a "$D/password")" = 600 ] || fail "sshd.sh password file"
: > "$T/pwout"
sftp_config "$T/pwf.yml" habsftp "{{ hostname }}/{{ date }}" "password_file: $D/password"
d0=$(date -u +%F)
"$BIN" --config "$T/pwf.yml" run >>"$T/pwout" 2>&1 || fail "password_file: $(cat "$T/pwout")"
k=$(last_key)
case "$k" in "$d0"/hostatlas-backup-tree-*|"$(date -u +%F)"/hostatlas-backup-tree-*) ;; *) fail "archive key not in a dated folder: $k";; esac
[ -f "$D/home/habsftp/$HOST/$k" ] || fail "no archive under habsftp's home: $(find "$D/home/habsftp")"
"$BIN" --config "$T/pwf.yml" list >"$T/list" 2>&1 || fail "list as habsftp: $(cat "$T/list")"
cat "$T/list" >> "$T/pwout"
grep -q "destination: sftp://habsftp@127.0.0.1:$P/~/" "$T/list" && grep -q " $k$" "$T/list" || fail "list as habsftp: $(cat "$T/list")"
sleep 1.1
sftp_config "$T/pwe.yml" habsftp "{{ hostname }}/{{ date }}" "password_env: HAB_TEST_SFTP_PW"
HAB_TEST_SFTP_PW=$PW "$BIN" --config "$T/pwe.yml" run >>"$T/pwout" 2>&1 || fail "password_env: $(cat "$T/pwout")"
[ "$(find "$D/home/habsftp/$HOST" -name 'hostatlas-backup-tree-*.tar.zst.age' | wc -l)" = 2 ] \
  || fail "password_env run: $(find "$D/home/habsftp")"
HAB_TEST_SFTP_PW=$PW "$BIN" --config "$T/pwe.yml" run --dry-run >>"$T/pwout" 2>&1 || fail "password_env dry run: $(cat "$T/pwout")"
"$BIN" --config "$T/pwf.yml" status >>"$T/pwout" 2>&1 || fail "status as habsftp"
ok "password auth as habsftp: password_file (0600) and password_env, dated folder in the login folder"

# The password is in no output, no run log, and no process's command line
# while a run is in flight (a slow source keeps it going).
SRC=$BIGS sftp_config "$T/pwslow.yml" habsftp "slow" "password_env: HAB_TEST_SFTP_PW"
HAB_TEST_SFTP_PW=$PW HOSTATLAS_BACKUP_FAULT=tar:delay=300 timeout -s KILL 60 "$BIN" --config "$T/pwslow.yml" run >>"$T/pwout" 2>&1 & BG=$!
# The pattern comes from a file: a grep with the password in its own
# arguments would find itself.
(umask 077; printf '%s\n' "$PW" > "$T/pw.pattern")
seen= scans=0
while kill -0 "$BG" 2>/dev/null; do
  for f in $(grep -laF -f "$T/pw.pattern" /proc/[0-9]*/cmdline 2>/dev/null || true); do
    seen="$seen $(basename "$(dirname "$f")"):$(tr '\0' ' ' < "$f" 2>/dev/null | cut -d' ' -f1)"
  done
  scans=$((scans + 1)); sleep 0.05
done
wait "$BG" || fail "slow password run: $(cat "$T/pwout")"; BG=
[ "$scans" -ge 10 ] || fail "the run was too short to scan /proc ($scans scans)"
[ -z "$seen" ] || fail "the password appeared in /proc/PID/cmdline of:$seen"
grep -qF -f "$T/pw.pattern" "$T/pwout" && fail "the password appeared in our output: $(grep -nF -f "$T/pw.pattern" "$T/pwout" | cut -d: -f1 | sed s/^/line\ /)"
grep -rqF -f "$T/pw.pattern" "$T/logs" && fail "the password appeared in a run log: $(grep -rlF -f "$T/pw.pattern" "$T/logs")"
cp "$D/password" "$T/pw.open"; chmod 640 "$T/pw.open"
sftp_config "$T/pwopen.yml" habsftp "x" "password_file: $T/pw.open"
expect_rc 2 "$BIN" --config "$T/pwopen.yml" run 2>"$T/err" >/dev/null
grep -q "password_file $T/pw.open is accessible by group or others (mode 0640)" "$T/err" \
  && grep -q "chmod 600 $T/pw.open" "$T/err" || fail "open password file: $(cat "$T/err")"
grep -qF -f "$T/pw.pattern" "$T/err" && fail "the password appeared in the refusal"
ok "the password is in no output, no run log, no /proc/*/cmdline during a run ($scans scans); a 0640 password_file is refused"

echo "wrong-$RANDOM-password" > "$T/pw.wrong"; chmod 600 "$T/pw.wrong"
sftp_config "$T/pwwrong.yml" habsftp "x" "password_file: $T/pw.wrong"
expect_rc 2 "$BIN" --config "$T/pwwrong.yml" run 2>"$T/err" >/dev/null
grep -q "authentication as habsftp@127.0.0.1:$P: password refused (the server accepts: password)" "$T/err" \
  || fail "wrong password: $(cat "$T/err")"
grep -qF -- "$(cat "$T/pw.wrong")" "$T/err" && fail "the wrong password was printed"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger"
sftp_config "$T/stranger.yml" root "$T/auth" "identity_file: $T/stranger"
expect_rc 2 "$BIN" --config "$T/stranger.yml" run 2>"$T/err" >/dev/null
grep -q "authentication as root@127.0.0.1:$P: publickey (identity_file $T/stranger) refused (the server accepts: publickey)" "$T/err" \
  || fail "unauthorized key: $(cat "$T/err")"
ok "a wrong password / a key not authorized: exit 2, \"authentication as USER@HOST:PORT\" and the server's accepted methods"

sftp_config "$T/chroot.yml" habchroot "/upload" "$ED"
"$BIN" --config "$T/chroot.yml" run >/dev/null 2>"$T/err" || fail "chroot user: $(cat "$T/err")"
k=$(last_key)
[ -f "$D/chroot/upload/$k" ] || fail "no archive in the chroot's /upload: $(ls -la "$D/chroot/upload")"
"$BIN" --config "$T/chroot.yml" restore --to "$T/r3" >/dev/null 2>"$T/err" || fail "restore as habchroot: $(cat "$T/err")"
diff -r --no-dereference "$S" "$T/r3/tree$S" || fail "restore from the chroot differs"
ok "chroot user habchroot, path /upload: backup and restore"

cp "$D/client_ed25519" "$T/grkey"; chmod 640 "$T/grkey"
sftp_config "$T/grkey.yml" root "$T/grdest" "identity_file: $T/grkey"
expect_rc 2 "$BIN" --config "$T/grkey.yml" run 2>"$T/err" >/dev/null
grep -q "identity_file $T/grkey is accessible by group or others (mode 0640)" "$T/err" \
  && grep -q "hint: chmod 600 $T/grkey" "$T/err" || fail "group-readable key: $(cat "$T/err")"
[ ! -e "$T/grdest" ] || fail "a refused run created $T/grdest"
ok "a group-readable identity_file: exit 2 with a chmod 600 hint, nothing created"

# ---------------------------------------------------------------------------
# 4. Host keys.
for kh in ed25519 ecdsa rsa hashed; do
  KH=$D/known_hosts.$kh sftp_config "$T/kh-$kh.yml" root "$T/hk-$kh" "$ED"
  "$BIN" --config "$T/kh-$kh.yml" run >/dev/null 2>"$T/err" || fail "known_hosts.$kh only: $(cat "$T/err")"
  [ -f "$T/hk-$kh/$(last_key)" ] || fail "known_hosts.$kh: no archive"
done
ok "known_hosts with only the ed25519, only the ECDSA, only the RSA host key, or hashed: each works"

: > "$T/kh.empty"
KH=$T/kh.empty sftp_config "$T/kh-empty.yml" root "$T/hk2" "$ED"
expect_rc 2 "$BIN" --config "$T/kh-empty.yml" run 2>"$T/err" >/dev/null
grep -q "127.0.0.1:$P is not in $T/kh.empty" "$T/err" || fail "unknown host: $(cat "$T/err")"
scan=$(grep -o "ssh-keyscan -p $P -t [a-z0-9]* 127.0.0.1" "$T/err" | head -1)
[ -n "$scan" ] || fail "no ssh-keyscan line: $(cat "$T/err")"
ktype=${scan#ssh-keyscan -p $P -t }; ktype=${ktype% 127.0.0.1}
grep -qF "(it offers $(fp "$D/host_$ktype.pub"))" "$T/err" || fail "fingerprint is not the $ktype host key's: $(cat "$T/err")"
[ ! -e "$T/hk2" ] || fail "an unverified host was written to"
$scan 2>/dev/null >> "$T/kh.empty"
"$BIN" --config "$T/kh-empty.yml" run >/dev/null 2>"$T/err" || fail "after the hint's ssh-keyscan line: $(cat "$T/err")"
ok "a host not in known_hosts: exit 2, \"is not in\", the host key's SHA256 fingerprint, and the hint's \"$scan\" line fixes it"

ssh-keygen -q -t ed25519 -N '' -C impostor -f "$T/impostor"
echo "[127.0.0.1]:$P $(cut -d' ' -f1,2 "$T/impostor.pub")" > "$T/kh.changed"
KH=$T/kh.changed sftp_config "$T/kh-changed.yml" root "$T/hk3" "$ED"
expect_rc 2 "$BIN" --config "$T/kh-changed.yml" run 2>"$T/err" >/dev/null
grep -q "host key: the key of 127.0.0.1:$P has CHANGED (it offers $(fp "$D/host_ed25519.pub"))" "$T/err" \
  || fail "changed host key: $(cat "$T/err")"
grep -q "ssh-keyscan -p $P -t ed25519 127.0.0.1" "$T/err" || fail "no keyscan hint: $(cat "$T/err")"
[ ! -e "$T/hk3" ] || fail "a host with a changed key was written to"
ok "known_hosts holding another ed25519 key for the host: exit 2, CHANGED with the server's fingerprint, nothing written"

# Unreadable lines are skipped with a warning naming the line.
{ echo "garbage"; echo "[127.0.0.1]:$P ssh-ed25519 @@not-base64@@"; cat "$D/known_hosts"; } > "$T/kh.garbage"
KH=$T/kh.garbage sftp_config "$T/kh-garbage.yml" root "$T/hk4" "$ED"
"$BIN" --config "$T/kh-garbage.yml" run --dry-run >/dev/null 2>"$T/err" || fail "garbage lines: $(cat "$T/err")"
grep -q "warning: pre-flight: destination: .*$T/kh.garbage:1: skipped" "$T/err" \
  && grep -q "warning: pre-flight: destination: .*$T/kh.garbage:2: skipped" "$T/err" || fail "no skipped warnings: $(cat "$T/err")"
"$BIN" --config "$T/kh-garbage.yml" run >/dev/null 2>"$T/err" || fail "garbage lines, real run: $(cat "$T/err")"
grep -q "$T/kh.garbage:1: skipped" "$T/err" || fail "real run: no skipped warning: $(cat "$T/err")"
ok "known_hosts with a one-word line and a non-base64 key plus the good lines: works, pre-flight warns \"skipped\" for each"

# A line for this host whose key was cut short (base64 still valid, not a
# key): skipped with a warning as well, and it must not make a good line
# for the same host look CHANGED (OpenSSH's ssh connects with such a file).
cut40=$(cut -d' ' -f2 "$D/host_ed25519.pub" | cut -c1-40)
{ echo "[127.0.0.1]:$P ssh-ed25519 $cut40"; cat "$D/known_hosts"; } > "$T/kh.cut"
KH=$T/kh.cut sftp_config "$T/kh-cut.yml" root "$T/hk5" "$ED"
"$BIN" --config "$T/kh-cut.yml" run --dry-run >/dev/null 2>"$T/err" || fail "truncated key line: $(cat "$T/err")"
grep -q "warning: pre-flight: destination: .*$T/kh.cut:1: skipped" "$T/err" \
  || fail "a truncated host key line (known_hosts:1) is not reported as skipped: $(cat "$T/err")"
{ echo "[127.0.0.1]:$P ssh-ed25519 $cut40"; cat "$D/known_hosts.rsa"; } > "$T/kh.cut"
ssh -q -o BatchMode=yes -o UserKnownHostsFile="$T/kh.cut" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
  -i "$D/client_ed25519" -p "$P" root@127.0.0.1 true || fail "OpenSSH's ssh refuses $T/kh.cut too"
"$BIN" --config "$T/kh-cut.yml" run --dry-run >/dev/null 2>"$T/err" \
  || fail "a truncated ed25519 line + the good RSA line: $(grep error "$T/err")"
ok "a truncated key line for the host: skipped with a warning; the good line still verifies the host"

# A host known by a pattern (OpenSSH's matching; the key compared blob
# against blob): it connects, and a changed key for it is CHANGED, never
# "not in ... add it". A key marked @revoked is refused even where another
# line lists it.
EDKEY=$(cut -d' ' -f1,2 "$D/host_ed25519.pub")
echo "[127.0.0.?]:$P,!nothing $EDKEY" > "$T/kh.glob"
ssh -q -o BatchMode=yes -o UserKnownHostsFile="$T/kh.glob" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
  -i "$D/client_ed25519" -p "$P" root@127.0.0.1 true || fail "OpenSSH's ssh refuses $T/kh.glob"
KH=$T/kh.glob sftp_config "$T/kh-glob.yml" root "$T/hk6" "$ED"
"$BIN" --config "$T/kh-glob.yml" run --dry-run >/dev/null 2>"$T/err" || fail "a pattern entry: $(cat "$T/err")"
echo "[127.0.0.?]:$P $(cut -d' ' -f1,2 "$T/impostor.pub")" > "$T/kh.glob2"
KH=$T/kh.glob2 sftp_config "$T/kh-glob2.yml" root "$T/hk7" "$ED"
expect_rc 2 "$BIN" --config "$T/kh-glob2.yml" run --dry-run >/dev/null 2>"$T/err"
grep -q "has CHANGED (it offers $(fp "$D/host_ed25519.pub"))" "$T/err" || fail "pattern entry, other key: $(cat "$T/err")"
{ echo "@revoked * $EDKEY"; cat "$D/known_hosts.ed25519"; } > "$T/kh.revoked"
KH=$T/kh.revoked sftp_config "$T/kh-revoked.yml" root "$T/hk8" "$ED"
expect_rc 2 "$BIN" --config "$T/kh-revoked.yml" run --dry-run >/dev/null 2>"$T/err"
grep -q "offers $(fp "$D/host_ed25519.pub"), a key marked @revoked in $T/kh.revoked" "$T/err" || fail "revoked: $(cat "$T/err")"
ok "a host known by a pattern connects, its changed key is CHANGED; a key marked @revoked is refused"

# ---------------------------------------------------------------------------
# 5. A server without posix-rename@openssh.com: the plain-rename fallback.
EXTRA='verification: {mode: deep}' sftp_config "$T/norename.yml" habnorename "norename/{{ hostname }}" "$ED"
"$BIN" --config "$T/norename.yml" run >"$T/out" 2>"$T/err" || fail "habnorename backup: $(cat "$T/out" "$T/err")"
grep -q "verification ok" "$T/out" || fail "habnorename: $(cat "$T/out")"
k=$(last_key)
[ "$(ls -A "$D/home/habnorename/norename/$HOST")" = "$k" ] || fail "habnorename: $(ls -la "$D/home/habnorename/norename/$HOST")"
"$BIN" --config "$T/norename.yml" restore --to "$T/r4" >/dev/null 2>"$T/err" || fail "habnorename restore: $(cat "$T/err")"
diff -r --no-dereference "$S" "$T/r4/tree$S" || fail "habnorename restore differs"
ok "no posix-rename (habnorename): backup (plain rename), deep verification and restore work"

# ---------------------------------------------------------------------------
# 6. Faults.
# The server frozen (SIGSTOP) mid-upload: timeout_seconds 3 ends the run.
SRC=$BIGS sftp_config "$T/freeze.yml" root "$T/fz" "$ED" "timeout_seconds: 3"
HOSTATLAS_BACKUP_FAULT=tar:delay=1000 timeout -s KILL 60 "$BIN" --config "$T/freeze.yml" run >/dev/null 2>"$T/err" & BG=$!
wait_remote_partial "$T/fz" || fail "no .partial in flight: $(cat "$T/err")"
bash "$SSHD" freeze "$D"; s=$(now)
set +e; wait "$BG"; rc=$?; set -e; BG=
took=$(since "$s")
bash "$SSHD" thaw "$D"
[ "$rc" = 1 ] || fail "frozen server: exit $rc: $(cat "$T/err")"
within "$s" 15 || fail "frozen server: the run took $took s after the freeze (timeout_seconds: 3)"
grep -q "no answer for 3 s (timeout_seconds)" "$T/err" || fail "frozen server: no timeout named: $(cat "$T/err")"
k=$(last_key); [ -n "$k" ] && [ ! -e "$T/fz/$k" ] || fail "frozen server: $k exists"
ok "server frozen mid-upload: exit 1 after $took s (timeout_seconds 3), the timeout named, nothing at the final name"

# The server stopped (every session killed) mid-upload.
SRC=$BIGS sftp_config "$T/kill.yml" root "$T/kd" "$ED" "timeout_seconds: 5"
HOSTATLAS_BACKUP_FAULT=tar:delay=1000 timeout -s KILL 60 "$BIN" --config "$T/kill.yml" run >/dev/null 2>"$T/err" & BG=$!
wait_remote_partial "$T/kd" || fail "no .partial in flight: $(cat "$T/err")"
bash "$SSHD" stop "$D"; s=$(now)
set +e; wait "$BG"; rc=$?; set -e; BG=
[ "$rc" = 1 ] || fail "killed server: exit $rc: $(cat "$T/err")"
within "$s" 15 || fail "killed server: the run took $(since "$s") s after the stop"
grep -q "connection lost" "$T/err" || fail "killed server: $(cat "$T/err")"
k=$(last_key); [ -n "$k" ] && [ ! -e "$T/kd/$k" ] || fail "killed server: $k exists"
bash "$SSHD" start "$D" "$P" >/dev/null || fail "sshd did not restart: $(cat "$D/log")"   # fresh keys and known_hosts
ok "server killed mid-upload: exit 1 (connection lost), no archive at the final name"

# SIGTERM while the upload waits on the network (its session frozen, the
# server still taking new connections): the run stops within seconds and
# removes its .partial through a fresh connection.
SRC=$BIGS sftp_config "$T/term.yml" root "$T/tm" "$ED"
HOSTATLAS_BACKUP_FAULT=tar:delay=1000 timeout -s KILL 60 "$BIN" --config "$T/term.yml" run >/dev/null 2>"$T/err" & BG=$!
wait_remote_partial "$T/tm" || fail "no .partial in flight: $(cat "$T/err")"
bash "$SSHD" freeze-sessions "$D"
sleep 3   # the writer's first chunk is larger than the SSH window: it now waits on the socket
s=$(now); kill -TERM "$BG"
set +e; wait "$BG"; rc=$?; set -e; BG=
took=$(since "$s")
bash "$SSHD" thaw "$D"
[ "$rc" = 1 ] || fail "SIGTERM mid-upload: exit $rc: $(cat "$T/err")"
within "$s" 10 || fail "SIGTERM mid-upload: the run took $took s to stop"
grep -q "cancelled" "$T/err" || fail "SIGTERM mid-upload: $(cat "$T/err")"
[ -z "$(ls -A "$T/tm" 2>/dev/null)" ] || fail "SIGTERM mid-upload left: $(ls -la "$T/tm")"
ok "SIGTERM while the upload waits on a frozen session: exit 1 after $took s, the .partial removed, nothing left"

# A full disk on the server. A tmpfs smaller than the data: pre-flight
# refuses (1.2 x the source must fit), nothing is written.
mkdir "$T/full"; mount -t tmpfs -o size=8m tmpfs "$T/full"
head -c 20000000 /dev/urandom > "$T/big20.bin"; mkdir "$T/src20"; mv "$T/big20.bin" "$T/src20/"
SRC=$T/src20 sftp_config "$T/full.yml" root "$T/full" "$ED" "timeout_seconds: 5"
expect_rc 2 "$BIN" --config "$T/full.yml" run >/dev/null 2>"$T/err"
grep -q "pre-flight: free space: destination sftp://root@127.0.0.1:$P$T/full has [0-9.]* GiB free, needs [0-9.]* GiB" "$T/err" \
  || fail "small tmpfs: $(cat "$T/err")"
[ -z "$(ls -A "$T/full")" ] || fail "small tmpfs: $(ls -la "$T/full")"
umount "$T/full"
ok "destination smaller than the source: pre-flight free-space check, exit 2, nothing written"
# The disk fills during the upload (pre-flight saw room): exit 1, the error
# says so, neither the .partial nor an archive stays. (OpenSSH's sftp-server
# answers ENOSPC with SSH_FX_FAILURE, not SSH_FX_NO_SPACE_ON_FILESYSTEM.)
mount -t tmpfs -o size=32m tmpfs "$T/full"
HOSTATLAS_BACKUP_FAULT=tar:delay=1000 timeout -s KILL 60 "$BIN" --config "$T/full.yml" run >/dev/null 2>"$T/err" & BG=$!
wait_remote_partial "$T/full" || fail "no .partial in flight: $(cat "$T/err")"
head -c 64M /dev/zero > "$T/full/filler" 2>/dev/null || true   # ENOSPC expected
set +e; wait "$BG"; rc=$?; set -e; BG=
[ "$rc" = 1 ] || fail "full disk: exit $rc: $(cat "$T/err")"
grep -qi "no space" "$T/err" || fail "full disk: the error does not say the server's disk is full: $(cat "$T/err")"
[ "$(ls -A "$T/full")" = filler ] || fail "full disk left: $(ls -la "$T/full")"
umount "$T/full"
ok "the server's disk fills mid-upload: exit 1, \"no space\", no .partial and no archive left"

# A server that accepts TCP and never answers. The config is the first
# one's (deep verification, keep_last 2): the dry run's whole pre-flight,
# retention plan included, must stay within the bound.
SP=$(free_port)
python3 "$HERE/services/silent_server.py" "$SP" & SILENT=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$SP") 2>/dev/null && break; sleep 0.05; done
sed "s/^  port: $P\$/  port: $SP/" "$T/main.yml" > "$T/silent.yml"
grep -q "port: $SP" "$T/silent.yml" || fail "silent config"
s=$(now)
expect_rc 2 "$BIN" --config "$T/silent.yml" run --dry-run >/dev/null 2>"$T/err"
took=$(since "$s")
within "$s" 15 || fail "dry run against a silent server took $took s"
grep -q "handshake at root@127.0.0.1:$SP: no answer for 10 s (the pre-flight bound)" "$T/err" || fail "no timeout named: $(cat "$T/err")"
ok "a server that never answers: dry run exit 2 after $took s, the handshake timeout named"
"$BIN" --config "$T/silent.yml" run --dry-run >/dev/null 2>"$T/err" & BG=$!
sleep 1.5
s=$(now); kill -TERM "$BG"
set +e; wait "$BG"; rc=$?; set -e; BG=
took=$(since "$s")
[ "$rc" = 2 ] || fail "SIGTERM during the dry run: exit $rc: $(cat "$T/err")"
within "$s" 1.5 || fail "SIGTERM during the dry run took $took s"
grep -q "cancelled" "$T/err" || fail "SIGTERM: $(cat "$T/err")"
kill "$SILENT"; wait "$SILENT" 2>/dev/null || true; SILENT=
ok "SIGTERM while waiting on the silent server: exit 2 after $took s, cancelled"

# ---------------------------------------------------------------------------
# 7. A dry run touches nothing: a path under folders that do not exist.
sftp_config "$T/dry.yml" root "$T/not/yet/there/{{ hostname }}" "$ED"
"$BIN" --config "$T/dry.yml" run --dry-run >"$T/out" 2>"$T/err" || fail "dry run: $(cat "$T/err")"
grep -q "destination: sftp://root@127.0.0.1:$P$T/not/yet/there/$HOST: reachable" "$T/out" || fail "dry run: $(cat "$T/out")"
[ ! -e "$T/not" ] || fail "the dry run created $(find "$T/not")"
sftp_config "$T/dry2.yml" habsftp "not/yet/{{ hostname }}" "password_file: $D/password"
"$BIN" --config "$T/dry2.yml" run --dry-run >/dev/null 2>"$T/err" || fail "dry run as habsftp: $(cat "$T/err")"
[ ! -e "$D/home/habsftp/not" ] || fail "the dry run created $(find "$D/home/habsftp/not")"
ls -A "$D/home/habsftp" | grep -q probe && fail "a probe file was left"
ok "dry run: an absolute and a relative path under missing folders are not created"

echo "$CHECKS passed, 0 failed"

#!/usr/bin/env bash
# Private OpenSSH server (Debian's /usr/sbin/sshd, 9.2) with SFTP on loopback.
# Needs `apt-get install openssh-server` (no system sshd gets started). Run as root.
#   sshd.sh start DIR PORT   -> keys, known_hosts, sshd_config in DIR; pid in DIR/pid, log in DIR/log
#   sshd.sh stop DIR         -> stops the server and its open sessions, removes its BASE
#   sshd.sh keyscan DIR [PORT]  -> ssh-keyscan output for all three host key types
#   sshd.sh freeze DIR | thaw DIR -> SIGSTOP / SIGCONT the server and every session
#                                (to test client timeouts mid-transfer)
#   sshd.sh freeze-sessions DIR  -> SIGSTOP the open sessions only: the
#                                server still takes new connections
#
# Files in DIR after start:
#   host_{ed25519,ecdsa,rsa}[.pub]     host keys (rsa 3072)
#   known_hosts                        [127.0.0.1]:PORT lines for all three types
#   known_hosts.{ed25519,ecdsa,rsa}    one type each;  known_hosts.hashed: ssh-keygen -H of known_hosts
#   client_{ed25519,ecdsa,rsa}[.pub]   client keys, OpenSSH format, no passphrase (rsa 3072)
#   client_ed25519_pass[.pub]          passphrase-protected; passphrase in client_ed25519_pass.passphrase (0600)
#   password                           habsftp's password (0600)
#   ssh_config                         for the CLI: sftp -F DIR/ssh_config hab   (root, client_ed25519)
#   chroot -> BASE/chroot, home -> BASE/home   (symlinks, see below)
#   sshd_config, port, pid, log
#
# Users (all authorized client keys work for root, habchroot, habnorename):
#   root         public key only; any path.
#   habsftp      password only (Match block; UsePAM no, so sshd checks /etc/shadow);
#                SFTP starts in DIR/home/habsftp (owned by habsftp).
#   habchroot    public key; ForceCommand internal-sftp, ChrootDirectory BASE/chroot:
#                it sees "/" (root-owned, not writable) and "/upload" (writable).
#   habnorename  public key; ForceCommand internal-sftp -P posix-rename: the server does
#                not advertise posix-rename@openssh.com in SSH_FXP_VERSION (it would answer
#                SSH_FX_PERMISSION_DENIED if sent anyway). libssh2 1.11.1 then refuses
#                libssh2_sftp_posix_rename_ex client-side with rc = +8; OpenSSH's sftp CLI
#                silently falls back to plain SSH_FXP_RENAME. SFTP starts in DIR/home/habnorename.
# The three system accounts are created on first use (useradd --system, shell nologin,
# home /nonexistent; habchroot/habnorename get password "*" so sshd does not see them as
# locked). habsftp's password is random, made once and kept in
# /var/lib/hab-sshd/habsftp.password (root 0600).
#
# Where things live: sshd checks that every component of a ChrootDirectory path is
# root-owned and not group/other-writable, and that fails under /tmp (1777); and the
# non-root users must be able to read authorized_keys and reach their directories, which
# fails in a 0700 mktemp dir. So the chroot, the homes and authorized_keys live in
# BASE=/var/lib/hab-sshd/PORT (root-owned 0755 parents, wiped on start and stop), and DIR
# may be anywhere (e.g. under /tmp); DIR/chroot and DIR/home are symlinks into BASE.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
STATE=/var/lib/hab-sshd
USERS=(habsftp habchroot habnorename)

# All processes of this instance: the listener and every descendant (sessions).
tree_pids() {
  local todo=("$1") p
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}")
    [ -d "/proc/$p" ] || continue
    echo "$p"
    todo+=($(ps -o pid= --ppid "$p" 2>/dev/null || true))
  done
}

cmd=${1:-} D=${2:-}
case "$cmd" in
  start)
    PORT=$3
    [ -x /usr/sbin/sshd ] || { echo "sshd.sh: /usr/sbin/sshd missing: apt-get install openssh-server" >&2; exit 1; }
    [ "$(id -u)" = 0 ] || { echo "sshd.sh: must run as root" >&2; exit 1; }
    mkdir -p "$D"; D=$(cd "$D" && pwd)
    BASE=$STATE/$PORT
    install -d -m 0755 -o root -g root "$STATE" /run/sshd   # /run/sshd: privilege separation dir

    # System accounts and habsftp's password, once (serialised for parallel starts).
    (
      flock 9
      for u in "${USERS[@]}"; do
        id -u "$u" >/dev/null 2>&1 ||
          useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
      done
      # Without PAM, sshd refuses accounts whose shadow password starts with "!"
      # (useradd's default: "account is locked"); "*" = no password, not locked.
      for u in habchroot habnorename; do
        case "$(getent shadow "$u" | cut -d: -f2)" in '!'*) usermod -p '*' "$u";; esac
      done
      if [ ! -s "$STATE/habsftp.password" ]; then
        (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$STATE/habsftp.password")
      fi
      echo "habsftp:$(cat "$STATE/habsftp.password")" | chpasswd
    ) 9>"$STATE/.lock"
    (umask 077; cp "$STATE/habsftp.password" "$D/password"); chmod 600 "$D/password"

    # Keys (fresh each start).
    rm -f "$D"/host_* "$D"/client_* "$D"/known_hosts*
    for t in ed25519 ecdsa rsa; do
      b=(); [ $t = rsa ] && b=(-b 3072)
      ssh-keygen -q -t $t "${b[@]}" -N '' -C "hab-host-$t" -f "$D/host_$t"
      ssh-keygen -q -t $t "${b[@]}" -N '' -C "hab-client-$t" -f "$D/client_$t"
    done
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '\n' > "$D/client_ed25519_pass.passphrase")
    ssh-keygen -q -t ed25519 -N "$(cat "$D/client_ed25519_pass.passphrase")" -C hab-client-ed25519-pass \
      -f "$D/client_ed25519_pass"
    for t in ed25519 ecdsa rsa; do
      echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$D/host_$t.pub")" > "$D/known_hosts.$t"
      cat "$D/known_hosts.$t" >> "$D/known_hosts"
    done
    cp "$D/known_hosts" "$D/known_hosts.hashed"
    ssh-keygen -q -H -f "$D/known_hosts.hashed" >/dev/null 2>&1; rm -f "$D/known_hosts.hashed.old"

    # BASE: authorized_keys, chroot, homes.
    rm -rf "$BASE"
    install -d -m 0755 -o root -g root "$BASE" "$BASE/chroot" "$BASE/home"
    install -d -m 0755 -o habchroot -g habchroot "$BASE/chroot/upload"
    for u in habsftp habnorename; do install -d -m 0755 -o "$u" -g "$u" "$BASE/home/$u"; done
    cat "$D"/client_*.pub > "$BASE/authorized_keys"; chmod 644 "$BASE/authorized_keys"
    ln -sfn "$BASE/chroot" "$D/chroot"; ln -sfn "$BASE/home" "$D/home"
    echo "$BASE" > "$D/base"; echo "$PORT" > "$D/port"

    cat > "$D/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $D/host_ed25519
HostKey $D/host_ecdsa
HostKey $D/host_rsa
PidFile none
AuthorizedKeysFile $BASE/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
AllowUsers root habsftp habchroot habnorename
AllowTcpForwarding no
X11Forwarding no
MaxStartups 64
LoginGraceTime 30
LogLevel VERBOSE
Subsystem sftp internal-sftp

Match User habsftp
  PasswordAuthentication yes
  AuthenticationMethods password
  ForceCommand internal-sftp -d $BASE/home/habsftp
Match User habnorename
  ForceCommand internal-sftp -P posix-rename -d $BASE/home/habnorename
Match User habchroot
  ChrootDirectory $BASE/chroot
  ForceCommand internal-sftp
EOF
    cat > "$D/ssh_config" <<EOF
Host hab
  HostName 127.0.0.1
  Port $PORT
  User root
  IdentityFile $D/client_ed25519
  IdentitiesOnly yes
  BatchMode yes
  UserKnownHostsFile $D/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
EOF
    /usr/sbin/sshd -t -f "$D/sshd_config"
    setsid /usr/sbin/sshd -D -e -f "$D/sshd_config" >"$D/log" 2>&1 < /dev/null &
    echo $! > "$D/pid"
    wait_tcp "$PORT" "$D/log"
    ;;
  stop)
    if [ -f "$D/pid" ]; then
      pid=$(cat "$D/pid")
      pids=$(tree_pids "$pid")
      if [ -n "$pids" ]; then
        kill -TERM $pids 2>/dev/null || true
        kill -CONT $pids 2>/dev/null || true
        # gone, or a zombie waiting for init to reap it (the port is free then)
        for _ in $(seq 1 100); do
          st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
          [ -z "$st" ] || [ "$st" = Z ] && break; sleep 0.05
        done
      fi
      rm -f "$D/pid"
    fi
    if [ -f "$D/base" ]; then
      b=$(cat "$D/base")
      case "$b" in "$STATE"/[0-9]*) rm -rf "$b";; esac
      rm -f "$D/base" "$D/chroot" "$D/home"
    fi
    ;;
  keyscan)
    PORT=${3:-$(cat "$D/port")}
    ssh-keyscan -p "$PORT" -t ed25519,ecdsa,rsa 127.0.0.1 2>/dev/null
    ;;
  freeze|thaw)
    sig=STOP; [ "$cmd" = thaw ] && sig=CONT
    kill -$sig $(tree_pids "$(cat "$D/pid")")
    ;;
  freeze-sessions)
    s=$(tree_pids "$(cat "$D/pid")" | grep -vx "$(cat "$D/pid")" || true)
    [ -n "$s" ] || { echo "sshd.sh: no open session to freeze" >&2; exit 1; }
    kill -STOP $s
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR | keyscan DIR [PORT] | freeze DIR | freeze-sessions DIR | thaw DIR" >&2; exit 2;;
esac

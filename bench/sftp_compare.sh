#!/usr/bin/env bash
# SFTP destination against the stock tools over a private OpenSSH sshd on
# loopback (tests/services/sshd.sh; root, ed25519 key), alternating runs:
#   1. backup, end to end, of DATA/tree and DATA/bigfile:
#        our `run` (sftp destination)  vs
#        tar -cf - DIR | zstd -3 -T0 | age -r R | ssh ... 'cat > F.partial && mv F.partial F'
#   2. upload alone, a 2 GiB random file:
#        our SFTP writer alone (bench/sftp_write_bench: SftpDestination,
#        4 MiB writes, commit)  vs  sftp -b (put); for reference, cat F | ssh
#        ... 'cat > F', our `run` backing the file up to the same server
#        (tar, zstd storing, age, SHA-256 and the writer), and that run to a
#        local destination (the same pipeline without SFTP)
#   3. restore of our newest archive of each data set:
#        our `restore --to`  vs  ssh ... cat F | age -d | zstd -d | tar -x
# Prints medians, ratios (shell/ours: > 1 means ours is faster) and our
# peak RSS (/usr/bin/time).
#
# usage: bench/sftp_compare.sh BINARY DATA [RUNS] [MEMORY_LIMIT]
#   DATA: the folder ../shared/bench/make-dataset.sh made (with tree/ and
#   bigfile/), e.g. /var/tmp/hab-data. Needs root (sshd.sh), openssh-server,
#   age, zstd. Work files (and the 2 GiB file) go to a fresh /var/tmp/hab-sftp-bench.*;
#   RAND_SIZE=512M (head -c syntax) shrinks phase 2. RESTORE_DIR=/dev/shm/x:
#   restore into that folder instead of the work folder (tmpfs: see
#   bench/compare.sh; ext4 mostly measures inode allocation).
set -euo pipefail
BIN0=$(readlink -f "$1"); DATA=$(readlink -f "$2"); RUNS=${3:-3}; MEM=${4:-256MiB}
RAND_SIZE=${RAND_SIZE:-2G}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SSHD=$HERE/tests/services/sshd.sh
[ -d "$DATA/tree" ] && [ -d "$DATA/bigfile" ] || { echo "no $DATA/tree or $DATA/bigfile" >&2; exit 2; }
W=$(mktemp -d /var/tmp/hab-sftp-bench.XXXXXX)
D=$W/ssh
trap 'bash "$SSHD" stop "$D" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
# A copy of the binary: the build folder may be rebuilt while we measure.
cp "$BIN0" "$W/hab"; BIN=$W/hab
# The SFTP writer alone (bench/sftp_write_bench.cc, built beside the binary).
WB0=$(dirname "$BIN0")/sftp_write_bench
[ -x "$WB0" ] || { echo "no $WB0 (ninja -C build sftp_write_bench)" >&2; exit 2; }
cp "$WB0" "$W/wb"; WB=$W/wb
export HOSTATLAS_BACKUP_LOG_DIR=$W/logs XDG_RUNTIME_DIR=$W HOSTATLAS_BACKUP_LOCK_DIR=$W/lock
mkdir -m 0700 "$W/lock"
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bash "$SSHD" start "$D" "$P" >/dev/null
"$BIN" keygen -o "$W/key" 2>/dev/null
R=$(age-keygen -y "$W/key")
SSH=(ssh -i "$D/client_ed25519" -p "$P" -o UserKnownHostsFile="$D/known_hosts" -o GlobalKnownHostsFile=/dev/null
     -o BatchMode=yes -o IdentitiesOnly=yes root@127.0.0.1)
# config NAME SOURCE_DIR: our config for one data set (remote folder
# $W/ours/NAME); config NAME-local SOURCE_DIR: the same to a local folder.
config() {
  local dest="{type: sftp, host: 127.0.0.1, port: $P, user: root, known_hosts_file: $D/known_hosts, identity_file: $D/client_ed25519, path: $W/ours/$1}"
  case $1 in *-local) dest="{type: local, path: $W/ours/$1}";; esac
  cat > "$W/$1.yml" <<YAML
sources:
  - {type: files, name: ${1%-local}, paths: [$2]}
destination: $dest
encryption: {recipient: $R, identity_file: $W/key}
verification: {mode: none}
performance: {memory_limit: $MEM}
YAML
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# timed FILE CMD...: appends "wall_s max_rss_kib" of CMD to FILE.
timed() { local f=$1; shift; /usr/bin/time -f "%e %M" -a -o "$f" "$@" >/dev/null 2>"$W/last.err" || { cat "$W/last.err" >&2; exit 1; }; }
col() { cut -d' ' -f"$2" "$W/$1" | median; }
mbs() { echo "$1 / $2 / 1000000" | bc -l; }
mkdir -p "$W/ours" "$W/shell"
RD=${RESTORE_DIR:-$W/restore}; mkdir -p "$RD"
trap 'bash "$SSHD" stop "$D" >/dev/null 2>&1 || true; rm -rf "$W" "$RD/o" "$RD/s"; rmdir "$RD" 2>/dev/null || true' EXIT

echo "sshd: OpenSSH $(/usr/sbin/sshd -V 2>&1 | head -1), port $P; runs: $RUNS; memory_limit: $MEM; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "shell backup:  tar -cf - -C / DIR | zstd -3 -T0 -q | age -r R | ${SSH[*]} 'cat > F.partial && mv F.partial F'"
echo "shell restore: ${SSH[*]} cat F | age -d -i KEY | zstd -d -q | tar -xf - -C OUT"
echo "upload alone:  sftp -q -F $D/ssh_config -b - hab <<< 'put FILE REMOTE'   and   cat FILE | ${SSH[*]} 'cat > REMOTE'"

# ---------------------------------------------------------------------------
# 1. Backup, end to end; 3. restore of the last backup of each data set.
for set in tree bigfile; do
  src=$DATA/$set; bytes=$(du -sb "$src" | cut -f1)
  config "$set" "$src"
  : > "$W/b-ours"; : > "$W/b-shell"
  for i in $(seq 1 "$RUNS"); do
    # Alternate who goes first; each side starts from an empty remote folder
    # with earlier writes flushed.
    for side in $([ $((i % 2)) = 1 ] && echo "ours shell" || echo "shell ours"); do
      rm -rf "$W/ours/$set" "$W/shell/$set"; mkdir -p "$W/shell/$set"; sync
      if [ "$side" = ours ]; then
        timed "$W/b-ours" "$BIN" --config "$W/$set.yml" run
      else
        F=$W/shell/$set/hostatlas-backup-$set-$(date -u +%Y%m%dT%H%M%SZ).tar.zst.age
        timed "$W/b-shell" bash -c "tar -cf - -C / '${src#/}' | zstd -3 -T0 -q | age -r $R | ${SSH[*]} 'cat > $F.partial && mv $F.partial $F'"
      fi
    done
  done
  # The last run of ours is at $W/ours/$set (when "ours" went last, else redo one).
  [ -n "$(ls "$W/ours/$set" 2>/dev/null)" ] || "$BIN" --config "$W/$set.yml" run >/dev/null 2>&1
  A=$(ls "$W/ours/$set"/*.age)
  abytes=$(stat -c %s "$A")
  : > "$W/r-ours"; : > "$W/r-shell"
  ours_restore() { sync; timed "$W/r-ours" "$BIN" --config "$W/$set.yml" restore --to "$RD/o"; rm -rf "$RD/o"; }
  shell_restore() { sync; mkdir -p "$RD/s"; timed "$W/r-shell" bash -c "${SSH[*]} cat '$A' | age -d -i '$W/key' | zstd -d -q | tar -xf - -C '$RD/s'"; rm -rf "$RD/s"; }
  ours_restore; shell_restore; : > "$W/r-ours"; : > "$W/r-shell"   # one untimed round (page cache, inodes)
  for i in $(seq 1 "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then ours_restore; shell_restore; else shell_restore; ours_restore; fi
  done
  bo=$(col b-ours 1); bs=$(col b-shell 1); ro=$(col r-ours 1); rs=$(col r-shell 1)
  brss=$(cut -d' ' -f2 "$W/b-ours" | sort -n | tail -1); rrss=$(cut -d' ' -f2 "$W/r-ours" | sort -n | tail -1)
  echo
  echo "== $set: $src ($bytes bytes; archive $abytes bytes)"
  printf "backup   ours %.2fs (%.0f MB/s)  shell %.2fs (%.0f MB/s)  shell/ours %.2fx   our peak RSS %d MiB\n" \
    "$bo" "$(mbs "$bytes" "$bo")" "$bs" "$(mbs "$bytes" "$bs")" "$(echo "$bs / $bo" | bc -l)" $((brss / 1024))
  printf "restore  ours %.2fs (%.0f MB/s)  shell %.2fs (%.0f MB/s)  shell/ours %.2fx   our peak RSS %d MiB\n" \
    "$ro" "$(mbs "$bytes" "$ro")" "$rs" "$(mbs "$bytes" "$rs")" "$(echo "$rs / $ro" | bc -l)" $((rrss / 1024))
  echo "runs (wall s): backup ours $(cut -d' ' -f1 "$W/b-ours" | paste -sd' ') | shell $(cut -d' ' -f1 "$W/b-shell" | paste -sd' ')"
  echo "runs (wall s): restore ours $(cut -d' ' -f1 "$W/r-ours" | paste -sd' ') | shell $(cut -d' ' -f1 "$W/r-shell" | paste -sd' ')"
  rm -rf "$W/ours/$set" "$W/shell/$set"
done

# ---------------------------------------------------------------------------
# 2. Upload alone: a random file through our SFTP writer alone and through
# sftp put; our whole run of it and the shell's ssh cat for reference.
mkdir -p "$W/rand"; head -c "$RAND_SIZE" /dev/urandom > "$W/rand/rand.bin"
rbytes=$(stat -c %s "$W/rand/rand.bin")
config rand "$W/rand"; config rand-local "$W/rand"
: > "$W/u-ours"; : > "$W/u-sftp"; : > "$W/u-ssh"; : > "$W/u-local"; : > "$W/u-writer"
for i in $(seq 1 "$RUNS"); do
  order="writer sftp ours ssh local"; [ $((i % 3)) = 2 ] && order="sftp writer ssh local ours"; [ $((i % 3)) = 0 ] && order="ssh local ours sftp writer"
  for side in $order; do
    rm -rf "$W/ours/rand" "$W/ours/rand-local" "$W/shell/rand"; mkdir -p "$W/shell/rand"; sync
    case $side in
      ours) timed "$W/u-ours" "$BIN" --config "$W/rand.yml" run;;
      writer) timed "$W/u-writer" "$WB" 127.0.0.1 "$P" root "$D/client_ed25519" "$D/known_hosts" "$W/shell/rand" "$W/rand/rand.bin";;
      local) timed "$W/u-local" "$BIN" --config "$W/rand-local.yml" run;;
      sftp) timed "$W/u-sftp" bash -c "echo 'put $W/rand/rand.bin $W/shell/rand/rand.bin' | sftp -q -F '$D/ssh_config' -b - hab";;
      ssh)  timed "$W/u-ssh" bash -c "cat '$W/rand/rand.bin' | ${SSH[*]} 'cat > $W/shell/rand/rand.bin'";;
    esac
  done
done
rm -rf "$W/ours/rand" "$W/ours/rand-local" "$W/shell/rand" "$W/rand"
uo=$(col u-ours 1); us=$(col u-sftp 1); uh=$(col u-ssh 1); ul=$(col u-local 1); uw=$(col u-writer 1)
urss=$(cut -d' ' -f2 "$W/u-ours" | sort -n | tail -1)
echo
echo "== upload alone: $rbytes random bytes"
printf "our SFTP writer alone %.2fs (%.0f MB/s)   sftp -b put %.2fs (%.0f MB/s)   ours/sftp speed %.2fx (goal >= 0.9x)\n" \
  "$uw" "$(mbs "$rbytes" "$uw")" "$us" "$(mbs "$rbytes" "$us")" "$(echo "$us / $uw" | bc -l)"
printf "reference: our run of the file to the server (tar+zstd-store+age+SHA-256+writer) %.2fs (%.0f MB/s), peak RSS %d MiB\n" \
  "$uo" "$(mbs "$rbytes" "$uo")" $((urss / 1024))
printf "reference: cat | ssh 'cat > F' %.2fs (%.0f MB/s)   ssh/ours %.2fx\n" "$uh" "$(mbs "$rbytes" "$uh")" "$(echo "$uh / $uo" | bc -l)"
printf "reference: our run to a local destination (same pipeline, no SFTP) %.2fs (%.0f MB/s)\n" "$ul" "$(mbs "$rbytes" "$ul")"
echo "runs (wall s): writer $(cut -d' ' -f1 "$W/u-writer" | paste -sd' ') | run $(cut -d' ' -f1 "$W/u-ours" | paste -sd' ') | sftp $(cut -d' ' -f1 "$W/u-sftp" | paste -sd' ') | ssh $(cut -d' ' -f1 "$W/u-ssh" | paste -sd' ') | local $(cut -d' ' -f1 "$W/u-local" | paste -sd' ')"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

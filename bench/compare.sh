#!/usr/bin/env bash
# End-to-end comparison on the same data, alternating runs:
#   backup:  our `run`  vs  tar -cf - DIR | zstd -3 -T0 | age -r R > out
#   ceiling: zstd -3 -T0 alone on a pre-made tar of the same data
#   restore: our `restore`  vs  age -d | zstd -d | tar -x
# Prints medians, ratios and our peak RSS (from /usr/bin/time -v).
#
# usage: bench/compare.sh BINARY DATA_DIR [RUNS] [MEMORY_LIMIT]
#   RESTORE_DIR=/dev/shm/x: restore into that directory instead of the work
#   directory (tmpfs measures the tools; ext4 on these VMs mostly measures
#   inode allocation after the previous run's 50,000 deletions).
#   DATA_DIR: e.g. the `tree` or `bigfile` folder made by
#   ../shared/bench/make-dataset.sh
set -euo pipefail
BIN=$(readlink -f "$1"); DATA=$(readlink -f "$2"); RUNS=${3:-5}; MEM=${4:-256MiB}
W=$(mktemp -d /var/tmp/hab-bench.XXXXXX)
RD=${RESTORE_DIR:-$W}
mkdir -p "$RD"
trap 'rm -rf "$W" "$RD/r1b" "$RD/r2"' EXIT
export HOSTATLAS_BACKUP_LOG_DIR=$W/logs XDG_RUNTIME_DIR=$W
"$BIN" keygen -o "$W/key" 2>/dev/null
R=$(age-keygen -y "$W/key")
cat > "$W/c.yml" <<YAML
sources:
  - {type: files, name: bench, paths: [$DATA]}
destination: {type: local, path: $W/dest}
encryption: {recipient: $R, identity_file: $W/key}
verification: {mode: none}
performance: {memory_limit: $MEM}
YAML
bytes=$(du -sb "$DATA" | cut -f1)
tar -cf "$W/pre.tar" -C / "${DATA#/}"
t() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
: > "$W/ours"; : > "$W/shell"; : > "$W/ceiling"; : > "$W/rss"; : > "$W/rours"; : > "$W/rshell"; : > "$W/rours_t"; : > "$W/rshell_t"
# Backups first, alternating ours / shell / ceiling.
for i in $(seq 1 "$RUNS"); do
  rm -rf "$W/dest"; sync
  /usr/bin/time -v -o "$W/time.txt" "$BIN" --config "$W/c.yml" run >/dev/null 2>&1
  grep -E "Elapsed" "$W/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }' >> "$W/ours"
  grep "Maximum resident" "$W/time.txt" | awk '{print $NF}' >> "$W/rss"
  t bash -c "tar -cf - -C / '${DATA#/}' | zstd -3 -T0 -q | age -r $R > '$W/shell.age'" >> "$W/shell"
  t bash -c "zstd -3 -T0 -q -c '$W/pre.tar' > /dev/null" >> "$W/ceiling"
done
# Then the restores, of the last backup, in a phase of their own: the first
# GBs written after the backups' page-cache churn cost the kernel about a
# second more of system time on these VMs, whoever writes them (measured in
# the third session), so one untimed restore of each kind goes first.
A=$(ls "$W"/dest/*.age)
# Restores write GBs: flush earlier writes first, alternate who goes first,
# and each side deletes its output right after its own run, so neither side
# pays for the other's writeback or leftover files.
ours_restore() { sync; /usr/bin/time -f "%e %U %S" -a -o "$W/rours_t" "$BIN" --config "$W/c.yml" restore --to "$RD/r1b" >/dev/null 2>&1; tail -1 "$W/rours_t" | cut -d' ' -f1 >> "$W/rours"; rm -rf "$RD/r1b"; }
shell_restore() { sync; /usr/bin/time -f "%e %U %S" -a -o "$W/rshell_t" bash -c "age -d -i '$W/key' '$A' | zstd -d -q | tar -xf - -C '$RD/r2'"; tail -1 "$W/rshell_t" | cut -d' ' -f1 >> "$W/rshell"; rm -rf "$RD/r2"; mkdir -p "$RD/r2"; }
rm -rf "$RD/r1b" "$RD/r2"; mkdir -p "$RD/r2"
ours_restore; shell_restore
: > "$W/rours"; : > "$W/rshell"; : > "$W/rours_t"; : > "$W/rshell_t"
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) = 1 ]; then ours_restore; shell_restore; else shell_restore; ours_restore; fi
done
rm -rf "$RD/r2"
mo=$(median < "$W/ours"); ms=$(median < "$W/shell"); mc=$(median < "$W/ceiling")
ro=$(median < "$W/rours"); rs=$(median < "$W/rshell"); rss=$(sort -n "$W/rss" | tail -1)
echo "data: $DATA ($bytes bytes), runs: $RUNS, memory_limit: $MEM, restore into: $RD"
printf "backup  ours %.2fs (%.0f MB/s)  shell %.2fs (%.0f MB/s)  shell/ours %.2fx  ours/zstd-ceiling %.2fx (ceiling %.2fs)\n" \
  "$mo" "$(echo "$bytes / $mo / 1000000" | bc -l)" "$ms" "$(echo "$bytes / $ms / 1000000" | bc -l)" \
  "$(echo "$ms / $mo" | bc -l)" "$(echo "$mo / $mc" | bc -l)" "$mc"
printf "restore ours %.2fs  shell %.2fs  shell/ours %.2fx\n" "$ro" "$rs" "$(echo "$rs / $ro" | bc -l)"
echo "peak RSS (backup): $((rss / 1024)) MiB"
echo "runs (s): backup ours $(paste -sd' ' "$W/ours") | shell $(paste -sd' ' "$W/shell") | ceiling $(paste -sd' ' "$W/ceiling")"
echo "runs (wall user sys, s): restore ours $(paste -sd, "$W/rours_t") | shell $(paste -sd, "$W/rshell_t")"

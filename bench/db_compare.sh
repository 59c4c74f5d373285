#!/usr/bin/env bash
# Database benchmarks on the pgbench cluster of ../shared/bench/make-dataset.sh:
#  1. our `run` of one database vs pg_dump -Fc --compress=0 | zstd -3 -T0 | age
#  2. two databases + a files tree in one run vs the same three run one after
#     the other (three configs), alternating.
# usage: bench/db_compare.sh BINARY DATASET_DIR TREE_DIR [RUNS]
set -euo pipefail
BIN=$(readlink -f "$1"); DS=$(readlink -f "$2"); TREE=$(readlink -f "$3"); RUNS=${4:-3}
W=$(mktemp -d /var/tmp/hab-dbbench.XXXXXX)
PGC=$(dirname "$0")/../../shared/bench/pg-cluster.sh
[ -f "$PGC" ] || PGC=/work/shared/bench/pg-cluster.sh
trap 'bash "$PGC" stop "$DS" || true; rm -rf "$W"' EXIT
bash "$PGC" start "$DS"
eval "$(bash "$PGC" env "$DS")"
psql -X -q -c "DROP DATABASE IF EXISTS bench2" -c "CREATE DATABASE bench2 TEMPLATE bench" postgres
export HOSTATLAS_BACKUP_LOG_DIR=$W/logs XDG_RUNTIME_DIR=$W
"$BIN" keygen -o "$W/key" 2>/dev/null; R=$(age-keygen -y "$W/key")
pgsrc() { echo "  - {type: postgres, name: $1, host: $PGHOST, port: $PGPORT, user: postgres, database: $2}"; }
mk() { # mk FILE SOURCES...
  local f=$1; shift
  { echo "sources:"; for s in "$@"; do echo "$s"; done
    echo "destination: {type: local, path: $W/dest}"
    echo "encryption: {recipient: $R}"
    echo "verification: {mode: none}"; } > "$f"
}
mk "$W/one.yml" "$(pgsrc db bench)"
mk "$W/all.yml" "$(pgsrc db bench)" "$(pgsrc db2 bench2)" "  - {type: files, name: tree, paths: [$TREE]}"
mk "$W/s1.yml" "$(pgsrc db bench)"
mk "$W/s2.yml" "$(pgsrc db2 bench2)"
mk "$W/s3.yml" "  - {type: files, name: tree, paths: [$TREE]}"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for i in $(seq 1 "$RUNS"); do
  rm -rf "$W/dest"; t "$BIN" --config "$W/one.yml" run >> "$W/one"
  t bash -c "pg_dump -Fc --compress=0 bench | zstd -3 -T0 -q | age -r $R > $W/shell.age" >> "$W/shell"
  rm -rf "$W/dest"; sleep 1.1; t "$BIN" --config "$W/all.yml" run >> "$W/all"
  rm -rf "$W/dest"; sleep 1.1
  t bash -c "'$BIN' --config $W/s1.yml run && '$BIN' --config $W/s2.yml run && '$BIN' --config $W/s3.yml run" >> "$W/seq"
done
bytes=$(pg_dump -Fc --compress=0 bench | wc -c)
o=$(median < "$W/one"); s=$(median < "$W/shell"); a=$(median < "$W/all"); q=$(median < "$W/seq")
echo "pg_dump stream: $bytes bytes, runs: $RUNS"
printf "one database: ours %.2fs  pg_dump|zstd -T0|age %.2fs  shell/ours %.2fx\n" "$o" "$s" "$(echo "$s / $o" | bc -l)"
printf "2 databases + tree: one run %.2fs  three runs in a row %.2fs  sequential/concurrent %.2fx\n" "$a" "$q" "$(echo "$q / $a" | bc -l)"

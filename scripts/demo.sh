#!/usr/bin/env bash
# A real backup and restore on the embedded default config: a sample tree,
# a local destination and a freshly generated key, then a comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/build/hostatlas-backup
D=$(mktemp -d /tmp/hostatlas-backup-demo.XXXXXX)
export HOSTATLAS_BACKUP_LOG_DIR=$D/logs XDG_RUNTIME_DIR=$D
mkdir -p "$D/sample/docs" "$D/sample/data"
cp -r README.md docs "$D/sample/docs/" 2>/dev/null || true
seq 1 200000 > "$D/sample/data/numbers.txt"
head -c 4000000 /dev/urandom > "$D/sample/data/random.bin"
ln -s numbers.txt "$D/sample/data/link"
"$BIN" version
"$BIN" keygen -o "$D/age.key"
"$BIN" example-config --source "$D/sample" --dest "$D/archives" \
  --recipient "$(grep '^# public key:' "$D/age.key" | cut -d' ' -f4)" > "$D/backup.yml"
echo "== config: $D/backup.yml"; cat "$D/backup.yml"
echo "== plan"; "$BIN" --config "$D/backup.yml" run --dry-run
echo "== backup"; "$BIN" --config "$D/backup.yml" run
ls -l "$D/archives"
echo "== restore"; "$BIN" --config "$D/backup.yml" restore --to "$D/restored" --identity "$D/age.key"
diff -r "$D/sample" "$D/restored/demo$D/sample" && echo "== restored tree is identical to the source"
echo "== the same archive with the stock tools only"
mkdir -p "$D/stock"
age -d -i "$D/age.key" "$D"/archives/*.zst.age | zstd -d | tar -x -C "$D/stock"
diff -r "$D/sample" "$D/stock$D/sample" && echo "== age -d | zstd -d | tar -x gives the same tree"
echo "demo files are in $D"

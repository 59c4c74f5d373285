# Shared helpers for the end-to-end scripts: each script gets the binary as
# $1, a scratch directory, a fresh age key and a config writer.
set -euo pipefail
BIN=$(readlink -f "$1")
T=$(mktemp -d /tmp/hab-e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap '[[ $- == *e* ]] && echo "FAIL: ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND (exit $?)" >&3' ERR
export HOSTATLAS_BACKUP_LOG_DIR=$T/logs
export XDG_RUNTIME_DIR=$T/run
mkdir -p "$T/run" "$T/dest"
"$BIN" keygen -o "$T/key.txt" 2>/dev/null
RECIPIENT=$(age-keygen -y "$T/key.txt")
CHECKS=0

# Failures go to the script's original stderr (fd 3), even from inside a
# command whose stderr a test redirected.
exec 3>&2
fail() { echo "FAIL: $*" >&3; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok: $*"; }
expect_rc() { # expect_rc WANT CMD...
  local want=$1; shift
  set +e; "$@"; local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "expected exit $want, got $rc: $*"
}

# write_config FILE SOURCE_PATHS... (extra YAML from $EXTRA)
write_config() {
  local file=$1; shift
  {
    echo "sources:"
    echo "  - type: files"
    echo "    name: ${SOURCE_NAME:-tree}"
    echo "    paths:"
    for p in "$@"; do echo "      - $p"; done
    echo "destination:"
    echo "  type: local"
    echo "  path: $T/dest"
    echo "encryption:"
    echo "  recipient: $RECIPIENT"
    echo "  identity_file: $T/key.txt"
    echo "${EXTRA:-}"
  } > "$file"
}

# Waits (up to 20 s) until a run has an archive in flight at the destination.
wait_partial() {
  for _ in $(seq 1 200); do ls "$T/dest" 2>/dev/null | grep -q '\.partial$' && return 0; sleep 0.1; done
  return 1
}
archives() { ls "$T/dest" | grep -c '\.zst\.age$' || true; }
no_partials() { ! ls -a "$T/dest" | grep -q '\.partial$'; }

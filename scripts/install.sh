#!/bin/sh
# HostAtlas Backup installer, served as https://install.hostatlas.app/backup.sh:
#
#   curl -sSL https://install.hostatlas.app/backup.sh | sudo bash
#   curl -sSL https://install.hostatlas.app/backup.sh | sh -s -- --user
#
# Detects the OS and architecture, resolves the matching binary from the
# release's JSON (version.json for the latest release, <version>/files.json
# for a pinned one), downloads it, checks its size and SHA-256, and installs
# it atomically as <dir>/hostatlas-backup (default /usr/local/bin).
#
# POSIX sh. Everything lives in functions and the only command outside them
# is the call to main on the last line, so a download cut short runs nothing.
set -eu

say() { printf 'hostatlas-backup install: %s\n' "$*"; }
warn() { printf 'hostatlas-backup install: %s\n' "$*" >&2; }
die() {
  warn "$*"
  exit 1
}
usage_error() {
  warn "$*"
  warn "run with --help for usage"
  exit 2
}

usage() {
  cat <<'EOF'
usage: install.sh [--version=X.Y.Z] [--user | --dir=PATH] [--no-verify] [--base-url=URL]

installs hostatlas-backup for this OS and architecture

  --version=X.Y.Z   install that release instead of the latest
  --user            install to $HOME/.local/bin, no sudo needed
  --dir=PATH        install into PATH (default /usr/local/bin; wins over --user)
  --no-verify       skip the SHA-256 check (not recommended; the size is still checked)
  --base-url=URL    release server (default https://install.hostatlas.app,
                    or $HOSTATLAS_INSTALL_BASE_URL; the flag wins)
  -h, --help        show this help

examples:
  curl -sSL https://install.hostatlas.app/backup.sh | sudo bash
  curl -sSL https://install.hostatlas.app/backup.sh | sh -s -- --user
  curl -sSL https://install.hostatlas.app/backup.sh | sudo sh -s -- --version=0.1.0
EOF
}

# shquote WORD: WORD as one shell word (single-quoted when it holds anything
# but letters, digits and / . _ - + : , @ %).
shquote() {
  case $1 in
    "" | *[!A-Za-z0-9/._+:,@%-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
  esac
}

# Cleanup of the scratch dir and of a staged binary left in the target dir.
cleanup() {
  if [ -n "${HAB_STAGED:-}" ]; then rm -f "$HAB_STAGED"; fi
  if [ -n "${HAB_TMP:-}" ]; then rm -rf "$HAB_TMP"; fi
}

valid_version() { # valid_version X.Y.Z (digits only, no leading/trailing/double dots)
  case $1 in
    "" | *[!0-9.]* | .* | *. | *..* | *.*.*.*) return 1 ;;
    [0-9]*.[0-9]*.[0-9]*) return 0 ;;
    *) return 1 ;;
  esac
}

need_value() { # need_value FLAG VALUE
  if [ -z "$2" ]; then usage_error "$1 needs a value"; fi
}

# ---- platform ---------------------------------------------------------------

detect_platform() { # sets RAW_OS RAW_ARCH OS ARCH (OS/ARCH empty when unsupported)
  RAW_OS=$(uname -s 2>/dev/null || echo unknown)
  RAW_ARCH=$(uname -m 2>/dev/null || echo unknown)
  case $RAW_OS in
    Linux) OS=linux ;;
    Darwin) OS=darwin ;;
    *) OS= ;;
  esac
  case $RAW_ARCH in
    x86_64 | amd64) ARCH=amd64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) ARCH= ;;
  esac
  # An x86_64 shell under Rosetta on Apple silicon: install the native binary.
  if [ "$OS" = darwin ] && [ "$ARCH" = amd64 ] &&
    [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
    ARCH=arm64
  fi
}

# ---- downloads --------------------------------------------------------------

pick_downloader() { # sets DL
  if command -v curl >/dev/null 2>&1; then
    DL=curl
  elif command -v wget >/dev/null 2>&1; then
    DL=wget
  else
    die "neither curl nor wget found; install one of them and rerun"
  fi
}

check_url() { # check_url URL: http(s) only; plain http only if the base is http too
  case $1 in
    https://*) ;;
    http://*)
      if [ "$PROTO" = "=https" ]; then die "refusing a non-https download url: $1"; fi
      ;;
    *) die "refusing a download url that is not http(s): $1" ;;
  esac
}

fetch() { # fetch URL FILE
  check_url "$1"
  if [ "$DL" = curl ]; then
    curl -fsSL --proto "$PROTO" --proto-redir "$PROTO" \
      --connect-timeout 20 --max-time 900 --retry 3 --retry-delay 2 \
      -o "$2" "$1"
  elif wget --version 2>/dev/null | grep -q 'GNU Wget'; then
    if [ "$PROTO" = "=https" ]; then
      # --https-only holds for recursive downloads only: a redirect to plain
      # http is followed. The response headers (-S) tell; such a download
      # is thrown away.
      wget -q -S --https-only --timeout=30 --tries=3 -O "$2" "$1" 2>"$2.headers" || {
        rm -f "$2.headers"
        return 1
      }
      if grep -qi '^ *location: *http:' "$2.headers"; then
        rm -f "$2" "$2.headers"
        die "refusing $1: the server redirected it to plain http"
      fi
      rm -f "$2.headers"
    else
      wget -q --timeout=30 --tries=3 -O "$2" "$1"
    fi
  else
    # BusyBox wget: fewer options. -T only where its help lists it: Debian
    # 12's BusyBox is built without it and crashes when given it (then no
    # read timeout applies; Ctrl-C stops a stalled download).
    if wget --help 2>&1 | grep -q -- '-T SEC'; then
      wget -q -T 30 -O "$2" "$1"
    else
      wget -q -O "$2" "$1"
    fi
  fi
}

# ---- JSON -------------------------------------------------------------------
#
# Only our own flat release format is understood: objects of string and
# integer values. Whitespace is dropped (no value of ours contains any), the
# text is cut into one line per object at the braces and brackets, and each
# key is looked up by name within its line, so key order does not matter.
# The only escape understood is \/ (some encoders write it); any other
# backslash is refused rather than interpreted.

json_lines() { # json_lines FILE URL > LINES
  if sed 's#\\/#/#g' "$1" | grep -q '[\]'; then
    die "unexpected escape sequence in $2; refusing to guess"
  fi
  # shellcheck disable=SC2020 # each of the four characters becomes a newline
  sed 's#\\/#/#g' "$1" | tr -d ' \t\r\n' | tr '{}[]' '\n\n\n\n'
}

# json_top KEY LINES: the value of a top-level KEY (a line without "filename").
json_top() {
  awk -v k="$1" '
    function get(s, key,   re, v) {
      re = "\"" key "\":(\"[^\"]*\"|-?[0-9]+)"
      if (!match(s, re)) return ""
      v = substr(s, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
      gsub(/"/, "", v)
      return v
    }
    index($0, "\"filename\":") == 0 { v = get($0, k); if (v != "") { print v; exit } }' "$2"
}

# json_entry FILENAME LINES: "size sha256 url" of the entry named FILENAME
# (empty fields print as "-"); nothing if absent; exit 3 if listed twice.
json_entry() {
  awk -v want="$1" '
    function get(s, key,   re, v) {
      re = "\"" key "\":(\"[^\"]*\"|-?[0-9]+)"
      if (!match(s, re)) return ""
      v = substr(s, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
      gsub(/"/, "", v)
      return v
    }
    function dash(v) { return v == "" ? "-" : v }
    get($0, "filename") == want {
      n++
      out = dash(get($0, "size")) " " dash(get($0, "sha256")) " " dash(get($0, "url"))
    }
    END { if (n > 1) exit 3; if (n == 1) print out }' "$2"
}

# json_filenames LINES: every published filename, comma-separated.
json_filenames() {
  awk '
    match($0, /"filename":"[^"]*"/) {
      v = substr($0, RSTART + 12, RLENGTH - 13)
      list = list (list == "" ? "" : ", ") v
    }
    END { print list }' "$1"
}

# ---- checksums --------------------------------------------------------------

pick_hasher() { # sets HASHER (empty with --no-verify and no tool)
  if command -v sha256sum >/dev/null 2>&1; then
    HASHER=sha256sum
  elif command -v shasum >/dev/null 2>&1; then
    HASHER=shasum
  else
    HASHER=
  fi
}

sha256_of() { # sha256_of FILE
  if [ "$HASHER" = sha256sum ]; then
    sha256sum "$1" | awk '{ print tolower($1) }'
  else
    shasum -a 256 "$1" | awk '{ print tolower($1) }'
  fi
}

# ---- target directory -------------------------------------------------------

# check_writable DIR: DIR, or its nearest existing parent, must be writable.
check_writable() {
  d=$1
  while [ ! -d "$d" ]; do
    case $d in
      */*) d=${d%/*} ;;
      *) d=. ;;
    esac
    if [ -z "$d" ]; then d=/; fi
  done
  if [ -w "$d" ]; then return 0; fi
  if [ "$(id -u)" = 0 ]; then
    die "cannot write to $1 (even as root; read-only file system?)"
  fi
  die "cannot write to $1; rerun with sudo (curl -sSL https://install.hostatlas.app/backup.sh | sudo bash), or use --user to install to \$HOME/.local/bin"
}

on_path() { # on_path DIR
  case ":${PATH:-}:" in
    *":$1:"* | *":$1/:"*) return 0 ;;
    *) return 1 ;;
  esac
}

# ---- main -------------------------------------------------------------------

main() {
  VERSION=
  USER_MODE=0
  DIR=
  VERIFY=1
  BASE=${HOSTATLAS_INSTALL_BASE_URL:-}
  BASE_FLAG=

  while [ $# -gt 0 ]; do
    case $1 in
      -h | --help)
        usage
        exit 0
        ;;
      --version=*) VERSION=${1#*=} && need_value --version "$VERSION" ;;
      --version)
        need_value --version "${2:-}"
        VERSION=$2
        shift
        ;;
      --dir=*) DIR=${1#*=} && need_value --dir "$DIR" ;;
      --dir)
        need_value --dir "${2:-}"
        DIR=$2
        shift
        ;;
      --base-url=*) BASE_FLAG=${1#*=} && need_value --base-url "$BASE_FLAG" ;;
      --base-url)
        need_value --base-url "${2:-}"
        BASE_FLAG=$2
        shift
        ;;
      --user) USER_MODE=1 ;;
      --no-verify) VERIFY=0 ;;
      --) shift && break ;;
      *) usage_error "unknown option: $1" ;;
    esac
    shift
  done
  if [ $# -gt 0 ]; then usage_error "unexpected argument: $1"; fi

  if [ -n "$VERSION" ]; then
    VERSION=${VERSION#v}
    valid_version "$VERSION" || usage_error "--version wants X.Y.Z (digits), got: $VERSION"
  fi

  if [ -n "$BASE_FLAG" ]; then BASE=$BASE_FLAG; fi
  if [ -z "$BASE" ]; then BASE=https://install.hostatlas.app; fi
  while :; do
    case $BASE in
      */) BASE=${BASE%/} ;;
      *) break ;;
    esac
  done
  case $BASE in
    https://?*) PROTO="=https" ;;
    http://?*)
      PROTO="=http,https"
      warn "warning: base url $BASE is not https; the downloads are not protected in transit"
      ;;
    *) usage_error "--base-url must be an http(s) url, got: $BASE" ;;
  esac

  if [ -z "$DIR" ]; then
    if [ "$USER_MODE" = 1 ]; then
      [ -n "${HOME:-}" ] || die "--user needs \$HOME to be set"
      DIR=$HOME/.local/bin
    else
      DIR=/usr/local/bin
    fi
  fi
  case $DIR in
    /) ;;
    */) DIR=${DIR%/} ;;
  esac

  # Everything that can be known up front is checked before any download.
  pick_downloader
  pick_hasher
  if [ "$VERIFY" = 1 ] && [ -z "$HASHER" ]; then
    die "neither sha256sum nor shasum found, so the download cannot be verified; install coreutils (or perl's shasum), or rerun with --no-verify (not recommended)"
  fi
  check_writable "$DIR"

  if [ -d "$DIR/hostatlas-backup" ]; then
    die "$DIR/hostatlas-backup is a directory; move it away and rerun"
  fi
  HAB_TMP=$(mktemp -d 2>/dev/null || mktemp -d /tmp/hostatlas-backup.XXXXXX 2>/dev/null) ||
    die "cannot create a temporary folder (TMPDIR=${TMPDIR:-unset}); point TMPDIR at a writable folder"
  HAB_STAGED=
  trap cleanup EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM

  detect_platform

  if [ -n "$VERSION" ]; then
    index_url=$BASE/backup/$VERSION/files.json
    pinned=1
  else
    index_url=$BASE/backup/version.json
    pinned=0
  fi
  say "fetching $index_url"
  if ! fetch "$index_url" "$HAB_TMP/index.json"; then
    if [ -n "$VERSION" ]; then die "cannot download $index_url (is $VERSION a published version?)"; fi
    die "cannot download $index_url"
  fi
  json_lines "$HAB_TMP/index.json" "$index_url" >"$HAB_TMP/index.lines"
  lines=$HAB_TMP/index.lines

  if [ "$pinned" = 0 ]; then
    VERSION=$(json_top version "$lines")
    valid_version "$VERSION" || die "no valid \"version\" in $index_url"
  fi

  published=$(json_filenames "$lines")
  [ -n "$published" ] || die "no binaries listed in $index_url"
  if [ -z "$OS" ] || [ -z "$ARCH" ]; then
    die "unsupported platform $RAW_OS/$RAW_ARCH; release $VERSION publishes: $published"
  fi
  FILE=hostatlas-backup-$OS-$ARCH

  rc=0
  entry=$(json_entry "$FILE" "$lines") || rc=$?
  if [ "$rc" = 3 ]; then die "$FILE is listed more than once in $index_url; refusing to guess"; fi
  [ "$rc" = 0 ] || die "cannot read $index_url"
  if [ -z "$entry" ]; then
    die "no $FILE in release $VERSION ($RAW_OS/$RAW_ARCH is not published); release $VERSION publishes: $published"
  fi
  read -r size sha url <<EOF
$entry
EOF

  case $size in
    - | *[!0-9]*) die "no valid size for $FILE in $index_url" ;;
  esac
  sha=$(printf '%s' "$sha" | tr 'A-F' 'a-f')
  case $sha in
    *[!0-9a-f]* | -) sha= ;;
  esac
  if [ "${#sha}" != 64 ]; then
    if [ "$VERIFY" = 1 ]; then die "no valid sha256 for $FILE in $index_url; refusing to install unverified"; fi
    sha=
  fi
  if [ "$url" = - ] || [ "$pinned" = 1 ]; then
    url=$BASE/backup/$VERSION/$FILE
  fi

  say "downloading hostatlas-backup $VERSION ($OS/$ARCH) from $url"
  fetch "$url" "$HAB_TMP/$FILE" || die "cannot download $url"

  got_size=$(wc -c <"$HAB_TMP/$FILE" | tr -d ' ')
  if [ "$got_size" != "$size" ]; then
    die "size mismatch for $FILE: expected $size bytes, got $got_size; nothing installed"
  fi
  if [ "$VERIFY" = 1 ]; then
    got_sha=$(sha256_of "$HAB_TMP/$FILE")
    if [ "$got_sha" != "$sha" ]; then
      die "sha256 mismatch for $FILE: expected $sha, got $got_sha; nothing installed"
    fi
    say "sha256 ok ($sha)"
  else
    warn "warning: --no-verify: the SHA-256 checksum of $FILE was NOT checked"
    warn "warning: nothing vouches for this binary; use --no-verify only if you checked it some other way"
  fi

  # Stage next to the target (same file system), prove it runs, then rename
  # over the old binary in one step: a running binary is never half-replaced.
  mkdir -p "$DIR" || die "cannot create $DIR"
  # A fresh name nobody else can have made (a folder or a file planted at
  # a predictable name would misdirect or block the install).
  HAB_STAGED=$(mktemp "$DIR/.hostatlas-backup.new.XXXXXX") || die "cannot create a file in $DIR"
  install -m 0755 "$HAB_TMP/$FILE" "$HAB_STAGED" || die "cannot write $HAB_STAGED"
  "$HAB_STAGED" version >/dev/null 2>&1 </dev/null ||
    die "the downloaded binary does not run on this host; nothing installed"
  mv -f "$HAB_STAGED" "$DIR/hostatlas-backup" || die "cannot move the binary into $DIR"
  HAB_STAGED=

  installed=$("$DIR/hostatlas-backup" version </dev/null) ||
    die "$DIR/hostatlas-backup was installed but 'version' failed"
  say "installed $installed at $DIR/hostatlas-backup"

  cmd=hostatlas-backup
  if ! on_path "$DIR"; then
    warn "warning: $DIR is not on your PATH; add it, e.g. export PATH=$(shquote "$DIR"):\"\$PATH\" in your shell profile"
    cmd=$(shquote "$DIR/hostatlas-backup")
  else
    first=$(command -v hostatlas-backup 2>/dev/null || true)
    if [ -n "$first" ] && [ "$first" != "$DIR/hostatlas-backup" ]; then
      warn "warning: $first comes first on your PATH and shadows $DIR/hostatlas-backup"
    fi
  fi

  # The binary's own config location: /etc as root, XDG otherwise.
  if [ "$(id -u)" = 0 ]; then
    confdir=/etc/hostatlas/backup
  else
    confdir=${XDG_CONFIG_HOME:-${HOME:-}/.config}/hostatlas/backup
  fi
  # Printed for copy and paste: quoted where the shell would split or expand.
  confdir=$(shquote "$confdir")
  say "next steps:"
  say "  1. make an encryption key (it prints its age1... recipient):"
  say "       mkdir -p -m 0700 $confdir && $cmd keygen -o $confdir/age.key"
  say "  2. write the config $confdir/backup.yml, e.g. from the embedded example:"
  say "       $cmd example-config --source /var/www --dest /var/backups/hostatlas --recipient age1... > $confdir/backup.yml"
  say "  3. check it: $cmd run --dry-run"
}

main "$@"

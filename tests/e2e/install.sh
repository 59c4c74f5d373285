#!/usr/bin/env bash
# The installer (scripts/install.sh, served as install.hostatlas.app/backup.sh)
# against fake release trees served over HTTP from $T, with the real binary as
# the linux-amd64 download. Every install goes to a directory under $T.
source "$(dirname "$0")/../lib/e2e.sh"
cd "$(dirname "$0")/../.."
INSTALLER=scripts/install.sh
SH=$(command -v sh)
PY=$(python3 -c 'import sys; print(sys.executable)')
BINVER=$("$BIN" version)
export TMPDIR=$T/tmp # the installer's own scratch dir lands in $T too
mkdir -p "$TMPDIR"

# 1. shellcheck is part of the test: missing shellcheck fails it.
command -v shellcheck >/dev/null || fail "shellcheck is not installed (apt-get install shellcheck)"
shellcheck -s sh "$INSTALLER" || fail "shellcheck -s sh $INSTALLER"
ok "shellcheck -s sh scripts/install.sh is clean"

# The release server: python's http.server on a port the kernel picks.
mkdir -p "$T/dist"
"$PY" -u -m http.server --bind 127.0.0.1 0 --directory "$T/dist" >"$T/http.out" 2>"$T/http.log" &
SRV=$!
trap 'kill "$SRV" 2>/dev/null || true; rm -rf "$T"' EXIT
PORT=
for _ in $(seq 1 100); do
  PORT=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$T/http.out" | head -1)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || fail "http.server did not start: $(cat "$T/http.out" "$T/http.log")"
URL=http://127.0.0.1:$PORT
requests() { grep -c '"GET ' "$T/http.log" || true; }

# A release tree: two versions (latest 0.2.0), linux-amd64 is the real binary
# plus a per-version trailer (so the versions differ byte-wise and still run),
# linux-arm64 a small stand-in, no darwin builds.
for v in 0.1.0 0.2.0; do
  d=$T/dist/good/backup/$v; mkdir -p "$d"
  { cat "$BIN"; printf '\nhostatlas-backup release %s\n' "$v"; } >"$d/hostatlas-backup-linux-amd64"
  printf 'arm64 stand-in %s\n' "$v" >"$d/hostatlas-backup-linux-arm64"
done
# index TREE: files.json per version (indented), latest/ and version.json
# (tab-indented, keys in another order) with absolute urls into TREE.
index() {
  "$PY" - "$T/dist/$1" "$URL/$1" <<'EOF'
import hashlib, json, os, shutil, sys
root, base = sys.argv[1], sys.argv[2]
b = os.path.join(root, "backup")
def entries(v):
    d, out = os.path.join(b, v), []
    for f in sorted(os.listdir(d)):
        if f.startswith("hostatlas-backup-"):
            data = open(os.path.join(d, f), "rb").read()
            out.append({"filename": f, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return out
def put(path, obj, indent):  # a new inode: the trees share files through hard links
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=indent)
    os.replace(path + ".tmp", path)
versions = sorted(v for v in os.listdir(b) if v[0].isdigit())
for v in versions:
    put(os.path.join(b, v, "files.json"), entries(v), 2)
latest = versions[-1]
shutil.rmtree(os.path.join(b, "latest"), ignore_errors=True)
shutil.copytree(os.path.join(b, latest), os.path.join(b, "latest"))
bins = [{"url": f"{base}/backup/{latest}/{e['filename']}", "sha256": e["sha256"],
         "size": e["size"], "filename": e["filename"]} for e in entries(latest)]
put(os.path.join(b, "version.json"), {"binaries": bins, "version": latest}, "\t")
EOF
}
index good
# tampered: same index, then one byte of each amd64 binary's trailer changed
# (same size, still runs). short: the 0.2.0 binary loses its last 1000 bytes.
for tree in tampered short; do
  cp -al "$T/dist/good" "$T/dist/$tree"
  index "$tree"
done
for v in 0.1.0 0.2.0; do
  f=$T/dist/tampered/backup/$v/hostatlas-backup-linux-amd64
  { head -c -2 "$T/dist/good/backup/$v/hostatlas-backup-linux-amd64"; printf 'X\n'; } >"$f.new"
  rm "$f"; mv "$f.new" "$f"
done
f=$T/dist/short/backup/0.2.0/hostatlas-backup-linux-amd64
head -c -1000 "$T/dist/good/backup/0.2.0/hostatlas-backup-linux-amd64" >"$f.new"; rm "$f"; mv "$f.new" "$f"
GOOD_V1=$T/dist/good/backup/0.1.0/hostatlas-backup-linux-amd64
GOOD_V2=$T/dist/good/backup/0.2.0/hostatlas-backup-linux-amd64

# A uname shim first on PATH: Linux/x86_64 unless SHIM_OS / SHIM_ARCH say
# otherwise, so the test resolves linux-amd64 on any host.
mkdir -p "$T/shim"
cat >"$T/shim/uname" <<EOF
#!/bin/sh
case "\${1:-}" in
  -s) echo "\${SHIM_OS:-Linux}" ;;
  -m) echo "\${SHIM_ARCH:-x86_64}" ;;
  *) exec $(command -v uname) "\$@" ;;
esac
EOF
chmod 0755 "$T/shim/uname"

# expect_rc with the installer's stderr in the failure message.
expect_rc() {
  local want=$1; shift
  set +e; "$@"; local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "expected exit $want, got $rc: $*
--- stderr:
$(cat "$T/err" 2>/dev/null)"
}
# inst ARGS...: the installer via sh with the shim first on PATH; output in
# $T/out and $T/err.
inst() { PATH="$T/shim:$PATH" "$SH" "$INSTALLER" "$@" >"$T/out" 2>"$T/err"; }
# inst_path DIR ARGS...: the same with PATH limited to the shim and DIR.
inst_path() { local p=$1; shift; PATH="$T/shim:$p" "$SH" "$INSTALLER" "$@" >"$T/out" 2>"$T/err"; }
# tools DIR TOOL...: a PATH dir of symlinks to the given tools.
tools() {
  local d=$1; shift; mkdir -p "$d"
  for t in "$@"; do ln -sf "$(command -v "$t")" "$d/$t"; done
}
# logging_shim DIR TOOL: DIR/TOOL records its use in $T/used, then runs TOOL.
logging_shim() {
  printf '#!/bin/sh\necho %s >>"%s/used"\nexec %s "$@"\n' "$2" "$T" "$(command -v "$2")" >"$1/$2"
  chmod 0755 "$1/$2"
}
BASE_TOOLS=(sh awk cat grep id install mkdir mktemp mv rm sed tr wc)
same() { cmp -s "$1" "$2"; }
mode() { stat -c %a "$1"; }
only_binary() { [ "$(ls -A "$1")" = hostatlas-backup ]; }
scratch_clean() { [ -z "$(ls -A "$TMPDIR")" ]; }
if [ "$(id -u)" = 0 ]; then CONF=/etc/hostatlas/backup; else CONF=${XDG_CONFIG_HOME:-$HOME/.config}/hostatlas/backup; fi

# 2. Usage: --help exits 0; an unknown flag, a malformed --version and a
#    non-http base url are usage errors (exit 2). Nothing is fetched.
n=$(requests)
expect_rc 0 inst --help
grep -q -- '--no-verify' "$T/out" || fail "--help: $(cat "$T/out")"
expect_rc 2 inst --frobnicate
grep -q '^hostatlas-backup install: unknown option: --frobnicate$' "$T/err" || fail "unknown flag: $(cat "$T/err")"
for bad in 1.2 1.2.3.4 1..2.3 1.2.x '' '1.2.3;id'; do
  expect_rc 2 inst "--version=$bad" --dir="$T/never"
done
grep -q 'wants X.Y.Z' "$T/err" || fail "bad --version: $(cat "$T/err")"
expect_rc 2 inst --base-url=ftp://example.com --dir="$T/never"
[ ! -e "$T/never" ] && [ "$(requests)" = "$n" ] || fail "a usage error installed or fetched something"
ok "usage: --help 0; unknown flag, malformed --version, non-http base url exit 2"

# 3. Latest into --dir (created): the 0.2.0 bytes, mode 0755, runs, next
#    steps printed, no staging file left, scratch dir removed.
expect_rc 0 inst --dir="$T/d1/bin" --base-url="$URL/good"
B=$T/d1/bin/hostatlas-backup
[ -f "$B" ] || fail "latest: nothing installed: $(cat "$T/err")"
same "$B" "$GOOD_V2" || fail "latest: not the 0.2.0 binary"
[ "$(mode "$B")" = 755 ] || fail "latest: mode $(mode "$B")"
[ "$("$B" version)" = "$BINVER" ] || fail "latest: installed binary does not run"
only_binary "$T/d1/bin" || fail "latest: leftovers: $(ls -A "$T/d1/bin")"
scratch_clean || fail "latest: scratch dir left behind: $(ls -A "$TMPDIR")"
grep -q "installed $BINVER at $B\$" "$T/out" || fail "latest: no version line: $(cat "$T/out")"
grep -q "keygen -o $CONF/age.key" "$T/out" || fail "latest: no keygen step: $(cat "$T/out")"
grep -q "$CONF/backup.yml" "$T/out" || fail "latest: no config path: $(cat "$T/out")"
grep -q "run --dry-run" "$T/out" || fail "latest: no dry-run step: $(cat "$T/out")"
grep -q '"GET /good/backup/version.json ' "$T/http.log" || fail "latest: version.json not read"
ok "latest release into a new --dir: 0.2.0 bytes, mode 0755, runs, next steps, no leftovers"

# A folder where the binary goes: refused before any download, nothing left;
# a TMPDIR that does not exist: a message that names it.
mkdir -p "$T/d90/bin/hostatlas-backup"
n=$(requests)
expect_rc 1 inst --dir="$T/d90/bin" --base-url="$URL/good"
grep -q "$T/d90/bin/hostatlas-backup is a directory" "$T/err" || fail "a folder at the target: $(cat "$T/err")"
[ "$(requests)" = "$n" ] && [ -z "$(ls -A "$T/d90/bin/hostatlas-backup")" ] && [ "$(ls -A "$T/d90/bin")" = hostatlas-backup ] \
  || fail "a folder at the target: downloads or leftovers: $(ls -laR "$T/d90")"
TMPDIR=$T/no/such/tmp expect_rc 0 inst --dir="$T/d91/bin" --base-url="$URL/good"
same "$T/d91/bin/hostatlas-backup" "$GOOD_V2" || fail "TMPDIR missing: not installed: $(cat "$T/err")"
expect_rc 0 inst --dir="$T/d94/it's here" --base-url="$URL/good"
grep -qF "'$T/d94/it'\\''s here/hostatlas-backup' keygen -o" "$T/out" || fail "next steps not quoted for the shell: $(cat "$T/out")"
grep -qF "export PATH='$T/d94/it'\\''s here':" "$T/err" || fail "PATH hint not quoted: $(cat "$T/err")"
ok "a folder at the target path is refused before any download; a missing TMPDIR falls back to /tmp; next steps quote a path with a space and a quote"

# 4. Pinned --version=0.1.0 over the existing 0.2.0: files.json of 0.1.0 and
#    the binary from the 0.1.0 folder.
expect_rc 0 inst --dir="$T/d1/bin" --base-url="$URL/good" --version=0.1.0
same "$B" "$GOOD_V1" || fail "pinned: not the 0.1.0 binary: $(cat "$T/err")"
grep -q '"GET /good/backup/0.1.0/files.json ' "$T/http.log" || fail "pinned: files.json not read"
grep -q '"GET /good/backup/0.1.0/hostatlas-backup-linux-amd64 ' "$T/http.log" || fail "pinned: wrong download"
only_binary "$T/d1/bin" || fail "pinned: leftovers: $(ls -A "$T/d1/bin")"
expect_rc 1 inst --dir="$T/d9" --base-url="$URL/good" --version=9.9.9
grep -q 'is 9.9.9 a published version' "$T/err" && [ ! -e "$T/d9" ] || fail "unknown version: $(cat "$T/err")"
ok "--version=0.1.0 installs the 0.1.0 bytes over 0.2.0; an unpublished version is refused"

# 5. --user with a temporary HOME: $HOME/.local/bin, with a PATH warning only
#    when that dir is not on PATH.
H=$T/home; mkdir -p "$H"
expect_rc 0 env HOME="$H" PATH="$T/shim:$PATH" "$SH" "$INSTALLER" --user --base-url="$URL/good" >"$T/out" 2>"$T/err"
same "$H/.local/bin/hostatlas-backup" "$GOOD_V2" || fail "--user: not installed: $(cat "$T/err")"
[ "$(mode "$H/.local/bin/hostatlas-backup")" = 755 ] || fail "--user: mode"
grep -q "$H/.local/bin is not on your PATH" "$T/err" || fail "--user: no PATH warning: $(cat "$T/err")"
expect_rc 0 env HOME="$H" PATH="$T/shim:$H/.local/bin:$PATH" "$SH" "$INSTALLER" --user --base-url="$URL/good" >"$T/out" 2>"$T/err"
! grep -q 'not on your PATH' "$T/err" || fail "--user: PATH warning although on PATH"
ok "--user installs to \$HOME/.local/bin and warns only when it is not on PATH"

# 6. A checksum mismatch (same size): non-zero, the existing binary untouched,
#    nothing staged left behind. A size mismatch likewise.
mkdir -p "$T/d2"; printf 'old binary\n' >"$T/d2/hostatlas-backup"; cp "$T/d2/hostatlas-backup" "$T/old"
expect_rc 1 inst --dir="$T/d2" --base-url="$URL/tampered"
grep -q 'sha256 mismatch for hostatlas-backup-linux-amd64' "$T/err" || fail "tampered: $(cat "$T/err")"
same "$T/d2/hostatlas-backup" "$T/old" && only_binary "$T/d2" || fail "tampered: the target was touched"
expect_rc 1 inst --dir="$T/d2" --base-url="$URL/tampered" --version=0.1.0
grep -q 'sha256 mismatch' "$T/err" && same "$T/d2/hostatlas-backup" "$T/old" || fail "tampered pinned: $(cat "$T/err")"
expect_rc 1 inst --dir="$T/d2" --base-url="$URL/short"
grep -q 'size mismatch for hostatlas-backup-linux-amd64' "$T/err" || fail "short: $(cat "$T/err")"
same "$T/d2/hostatlas-backup" "$T/old" && only_binary "$T/d2" || fail "short: the target was touched"
expect_rc 1 inst --dir="$T/d3" --base-url="$URL/tampered"
[ ! -e "$T/d3/hostatlas-backup" ] || fail "tampered: installed into a fresh dir"
scratch_clean || fail "tampered: scratch dir left behind"
ok "checksum or size mismatch: exit 1, nothing installed, an existing binary untouched"

# 7. --no-verify installs the tampered binary, with a loud warning on stderr.
expect_rc 0 inst --dir="$T/d4" --base-url="$URL/tampered" --no-verify
same "$T/d4/hostatlas-backup" "$T/dist/tampered/backup/0.2.0/hostatlas-backup-linux-amd64" || fail "--no-verify: $(cat "$T/err")"
grep -q '^hostatlas-backup install: warning: --no-verify: the SHA-256 checksum of hostatlas-backup-linux-amd64 was NOT checked$' "$T/err" ||
  fail "--no-verify: no warning: $(cat "$T/err")"
! grep -q 'no-verify' "$T/out" || fail "--no-verify: the warning went to stdout"
ok "--no-verify skips the checksum with a warning on stderr"

# 8. An unsupported architecture or OS is refused, naming what is published.
for plat in Linux/riscv64 FreeBSD/x86_64 Linux/i686; do
  expect_rc 1 env SHIM_OS="${plat%/*}" SHIM_ARCH="${plat#*/}" PATH="$T/shim:$PATH" "$SH" "$INSTALLER" \
    --dir="$T/d5" --base-url="$URL/good" >"$T/out" 2>"$T/err"
  grep -q "unsupported platform $plat; release 0.2.0 publishes: hostatlas-backup-linux-amd64, hostatlas-backup-linux-arm64\$" "$T/err" ||
    fail "$plat: $(cat "$T/err")"
done
[ ! -e "$T/d5" ] || fail "unsupported platform: something installed"
ok "unsupported arch/OS refused, naming the published binaries"

# 9. A platform the release does not carry (darwin-arm64) is refused the
#    same way, for latest and pinned.
for pin in "" --version=0.1.0; do
  v=0.2.0; [ -n "$pin" ] && v=0.1.0
  expect_rc 1 env SHIM_OS=Darwin SHIM_ARCH=arm64 PATH="$T/shim:$PATH" "$SH" "$INSTALLER" \
    --dir="$T/d5" --base-url="$URL/good" $pin >"$T/out" 2>"$T/err"
  grep -q "no hostatlas-backup-darwin-arm64 in release $v (Darwin/arm64 is not published); release $v publishes: hostatlas-backup-linux-amd64, hostatlas-backup-linux-arm64\$" "$T/err" ||
    fail "darwin-arm64 $pin: $(cat "$T/err")"
done
[ ! -e "$T/d5" ] || fail "darwin-arm64: something installed"
ok "a platform missing from the release (darwin-arm64) is refused, latest and pinned"

# 10. A truncated download runs nothing: the script cut at every line end and
#     at a few bytes into the last line (never leaving exactly "main", which
#     is a whole call), piped to sh with a --dir that would be written.
lines=$(wc -l <"$INSTALLER"); size=$(wc -c <"$INSTALLER")
last=$(tail -n 1 "$INSTALLER"); [ "$last" = 'main "$@"' ] || fail "the last line is not main \"\$@\": $last"
n=$(requests)
cuts=()
for ((i = 1; i < lines; i++)); do cuts+=("$(head -n "$i" "$INSTALLER" | wc -c)"); done
body=$((size - ${#last} - 1))
cuts+=($((body + 3)) $((body + 7)) $((size / 3)) $((size / 2)) $((size * 3 / 4)))
for c in "${cuts[@]}"; do
  head -c "$c" "$INSTALLER" | PATH="$T/shim:$PATH" "$SH" -s -- --dir="$T/trunc" --base-url="$URL/good" >/dev/null 2>&1 || true
done
[ ! -e "$T/trunc" ] || fail "a truncated script installed something"
[ "$(requests)" = "$n" ] || fail "a truncated script fetched something"
ok "a truncated script (${#cuts[@]} cut points) piped to sh installs and fetches nothing"

# 11. Without sha256sum, shasum verifies: a good release installs, a tampered
#     one is refused.
P=$T/p-shasum; tools "$P" "${BASE_TOOLS[@]}" curl; logging_shim "$P" shasum
rm -f "$T/used"
expect_rc 0 inst_path "$P" --dir="$T/d6" --base-url="$URL/good"
same "$T/d6/hostatlas-backup" "$GOOD_V2" || fail "shasum: not installed: $(cat "$T/err")"
grep -qx shasum "$T/used" || fail "shasum was not used"
expect_rc 1 inst_path "$P" --dir="$T/d7" --base-url="$URL/tampered"
grep -q 'sha256 mismatch' "$T/err" && [ ! -e "$T/d7/hostatlas-backup" ] || fail "shasum: tampered: $(cat "$T/err")"
ok "sha256sum absent: shasum verifies (and refuses a tampered binary)"

# 12. Neither sha256sum nor shasum: refused before any download (fail
#     closed). --no-verify then installs, still checking the size.
P=$T/p-nohash; tools "$P" "${BASE_TOOLS[@]}" curl
n=$(requests)
expect_rc 1 inst_path "$P" --dir="$T/d8" --base-url="$URL/good"
grep -q 'neither sha256sum nor shasum found' "$T/err" || fail "no hasher: $(cat "$T/err")"
[ ! -e "$T/d8" ] && [ "$(requests)" = "$n" ] || fail "no hasher: something fetched or installed"
expect_rc 1 inst_path "$P" --dir="$T/d8" --base-url="$URL/short" --no-verify
grep -q 'size mismatch' "$T/err" && [ ! -e "$T/d8/hostatlas-backup" ] || fail "no hasher --no-verify: a short download installed"
expect_rc 0 inst_path "$P" --dir="$T/d8" --base-url="$URL/good" --no-verify
same "$T/d8/hostatlas-backup" "$GOOD_V2" || fail "no hasher --no-verify: $(cat "$T/err")"
ok "no sha256sum and no shasum: refused (fail closed); --no-verify installs but still checks the size"

# 13. Without curl, wget downloads; with neither, refused.
P=$T/p-wget; tools "$P" "${BASE_TOOLS[@]}" sha256sum; logging_shim "$P" wget
rm -f "$T/used"
expect_rc 0 inst_path "$P" --dir="$T/d10" --base-url="$URL/good" --version=0.1.0
same "$T/d10/hostatlas-backup" "$GOOD_V1" || fail "wget: not installed: $(cat "$T/err")"
grep -qx wget "$T/used" || fail "wget was not used"
expect_rc 1 inst_path "$P" --dir="$T/d11" --base-url="$URL/tampered"
grep -q 'sha256 mismatch' "$T/err" || fail "wget: tampered: $(cat "$T/err")"
P=$T/p-nodl; tools "$P" "${BASE_TOOLS[@]}" sha256sum
expect_rc 1 inst_path "$P" --dir="$T/d11" --base-url="$URL/good"
grep -q 'neither curl nor wget found' "$T/err" && [ ! -e "$T/d11" ] || fail "no downloader: $(cat "$T/err")"
ok "curl absent: wget downloads (and verifies); neither: refused"

# An https base whose server redirects to plain http: curl refuses the
# redirect (--proto-redir =https), and the wget path too (its --https-only
# does not cover redirects; the response headers tell).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null || fail "openssl req"
"$PY" -u - "$T/tls.crt" "$T/tls.key" "$URL" >"$T/https.out" 2>"$T/https.log" <<'PY' &
import http.server, ssl, sys
crt, key, target = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", target + "/good" + self.path[len("/r"):])
        self.send_header("Content-Length", "0")
        self.end_headers()
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1])
s.serve_forever()
PY
HTTPS_SRV=$!
HP=
for _ in $(seq 1 100); do HP=$(head -1 "$T/https.out" 2>/dev/null); [ -n "$HP" ] && break; sleep 0.1; done
[ -n "$HP" ] || { kill "$HTTPS_SRV"; fail "https server did not start: $(cat "$T/https.log")"; }
printf 'ca_certificate = %s\n' "$T/tls.crt" > "$T/wgetrc"
P=$T/p-wget
WGETRC=$T/wgetrc expect_rc 1 inst_path "$P" --dir="$T/d92" --base-url="https://127.0.0.1:$HP/r"
grep -q "the server redirected it to plain http" "$T/err" && [ ! -e "$T/d92" ] || { kill "$HTTPS_SRV"; fail "wget, https -> http: $(cat "$T/err")"; }
CURL_CA_BUNDLE=$T/tls.crt expect_rc 1 inst --dir="$T/d93" --base-url="https://127.0.0.1:$HP/r"
grep -q "cannot download https://127.0.0.1:$HP/r/backup/version.json" "$T/err" && [ ! -e "$T/d93" ] \
  || { kill "$HTTPS_SRV"; fail "curl, https -> http: $(cat "$T/err")"; }
kill "$HTTPS_SRV"; wait "$HTTPS_SRV" 2>/dev/null || true
scratch_clean || fail "https -> http: scratch dir left behind: $(ls -A "$TMPDIR")"
ok "an https base redirecting to plain http: refused with curl and with wget, nothing installed"

# 14. HOSTATLAS_INSTALL_BASE_URL is honoured (script piped to sh -s, as from
#     curl), and --base-url wins over it.
n=$(grep -c '"GET /good/backup/version.json ' "$T/http.log")
cat "$INSTALLER" | HOSTATLAS_INSTALL_BASE_URL="$URL/good/" PATH="$T/shim:$PATH" "$SH" -s -- --dir="$T/d12" >"$T/out" 2>"$T/err" ||
  fail "env base url: $(cat "$T/err")"
same "$T/d12/hostatlas-backup" "$GOOD_V2" || fail "env base url: wrong binary"
[ "$(grep -c '"GET /good/backup/version.json ' "$T/http.log")" = $((n + 1)) ] || fail "env base url: not used"
expect_rc 0 env HOSTATLAS_INSTALL_BASE_URL="$URL/tampered" PATH="$T/shim:$PATH" "$SH" "$INSTALLER" \
  --dir="$T/d13" --base-url="$URL/good" >"$T/out" 2>"$T/err"
same "$T/d13/hostatlas-backup" "$GOOD_V2" || fail "--base-url did not win: $(cat "$T/err")"
ok "HOSTATLAS_INSTALL_BASE_URL honoured (piped to sh -s); --base-url wins"

# 15. bash runs it too (the product page pipes it to sudo bash).
cat "$INSTALLER" | PATH="$T/shim:$PATH" bash -s -- --dir="$T/d14" --base-url="$URL/good" --version=0.1.0 >"$T/out" 2>"$T/err" ||
  fail "bash: $(cat "$T/err")"
same "$T/d14/hostatlas-backup" "$GOOD_V1" || fail "bash: wrong binary"
ok "piped to bash -s: installs"

# 16. As an unprivileged user (nobody, when the test runs as root): an
#     unwritable target says to rerun with sudo or use --user, before any
#     download; --user puts the next steps under $XDG_CONFIG_HOME.
as_user=()
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to run as nobody"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
  chmod 0711 "$T"; chmod 0755 "$T/shim"
fi
U=$T/u; mkdir -p "$U/ro" "$U/home" "$U/tmp"; chmod 0555 "$U/ro"
[ "$(id -u)" = 0 ] && chown -R 65534:65534 "$U/home" "$U/tmp"
n=$(requests)
expect_rc 1 "${as_user[@]}" env HOME="$U/home" TMPDIR="$U/tmp" PATH="$T/shim:$PATH" "$SH" -s -- \
  --dir="$U/ro/bin" --base-url="$URL/good" <"$INSTALLER" >"$T/out" 2>"$T/err"
grep -q "cannot write to $U/ro/bin; rerun with sudo .*, or use --user" "$T/err" || fail "unwritable: $(cat "$T/err")"
[ "$(requests)" = "$n" ] && [ ! -e "$U/ro/bin" ] || fail "unwritable: something fetched or written"
expect_rc 0 "${as_user[@]}" env HOME="$U/home" TMPDIR="$U/tmp" XDG_CONFIG_HOME="$U/home/cfg" PATH="$T/shim:$PATH" \
  "$SH" -s -- --user --base-url="$URL/good" <"$INSTALLER" >"$T/out" 2>"$T/err"
same "$U/home/.local/bin/hostatlas-backup" "$GOOD_V2" || fail "nobody --user: $(cat "$T/err")"
grep -q "keygen -o $U/home/cfg/hostatlas/backup/age.key" "$T/out" || fail "nobody --user: keygen step: $(cat "$T/out")"
grep -q "$U/home/cfg/hostatlas/backup/backup.yml" "$T/out" || fail "nobody --user: config path: $(cat "$T/out")"
[ -z "$(ls -A "$U/tmp")" ] || fail "nobody: scratch dir left behind"
[ "$(id -u)" = 0 ] && chmod 0700 "$T"
ok "unprivileged: unwritable target says sudo or --user; --user next steps use \$XDG_CONFIG_HOME"

# 17. The installer under dash specifically (Debian's sh), if sh is not dash.
if command -v dash >/dev/null; then
  expect_rc 0 env PATH="$T/shim:$PATH" dash "$INSTALLER" --dir="$T/d15" --base-url="$URL/good" >"$T/out" 2>"$T/err"
  same "$T/d15/hostatlas-backup" "$GOOD_V2" || fail "dash: $(cat "$T/err")"
  ok "dash runs the installer"
fi
scratch_clean || fail "scratch dirs left behind: $(ls -A "$TMPDIR")"
echo "$CHECKS passed, 0 failed"

#include "integrations/hostatlas/auth_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <signal.h>
#include <sodium.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/file_util.h"
#include "engine/json.h"
#include "engine/unique_fd.h"

namespace hab::hostatlas {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Appends `s` as a YAML double-quoted scalar (JSON escapes, a subset of
// YAML's), wiping the temporary: `s` may be the key.
void AppendQuoted(std::string& out, absl::string_view s) {
  std::string q = JsonString(s);
  out += q;
  sodium_memzero(q.data(), q.size());
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// auth.yml is flat YAML: `key: value` per line, the value plain,
// "double-quoted" (backslash escapes) or 'single-quoted' ('' is a quote).
// Read by hand, not by a YAML library, so the key is in no buffer we do
// not wipe. False for a line this cannot read.
bool ParseLine(absl::string_view line, std::string& key, SecretString& value) {
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  key = std::string(absl::StripTrailingAsciiWhitespace(line.substr(0, colon)));
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  absl::string_view v = absl::StripAsciiWhitespace(line.substr(colon + 1));
  std::string out;
  out.reserve(v.size() + 4);
  if (!v.empty() && v[0] == '"') {
    size_t i = 1;
    for (; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] != '\\') {
        out += v[i];
        continue;
      }
      if (++i >= v.size()) return false;
      switch (v[i]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i + 4 >= v.size()) return false;
          uint32_t cp = 0;
          for (int k = 1; k <= 4; ++k) {
            int h = HexValue(v[i + k]);
            if (h < 0) return false;
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          i += 4;
          AppendUtf8(out, cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp);
          break;
        }
        default: return false;
      }
    }
    if (i >= v.size()) return false;
    absl::string_view rest = absl::StripAsciiWhitespace(v.substr(i + 1));
    if (!rest.empty() && rest[0] != '#') return false;
  } else if (!v.empty() && v[0] == '\'') {
    size_t i = 1;
    for (; i < v.size(); ++i) {
      if (v[i] == '\'') {
        if (i + 1 < v.size() && v[i + 1] == '\'') {
          out += '\'';
          ++i;
          continue;
        }
        break;
      }
      out += v[i];
    }
    if (i >= v.size()) return false;
    absl::string_view rest = absl::StripAsciiWhitespace(v.substr(i + 1));
    if (!rest.empty() && rest[0] != '#') return false;
  } else {
    size_t hash = v.find(" #");
    out = std::string(absl::StripTrailingAsciiWhitespace(v.substr(0, hash)));
  }
  value = SecretString(std::move(out));
  return true;
}

// Temp files of a login that was killed (SIGKILL: no destructor ran):
// they may hold a key. Ours, regular, named like WriteFileAtomic's.
void SweepStaleTemps(const std::string& dir, const std::string& name) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::string prefix = name + ".tmp.";
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (!absl::StartsWith(n, prefix)) continue;
    std::string pid = n.substr(prefix.size());
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::to_string(::getpid()) == pid) continue;
    if (::kill(std::atoi(pid.c_str()), 0) == 0) continue;  // its login is still running
    struct stat st;
    std::string p = dir + "/" + n;
    if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid()) ::unlink(p.c_str());
  }
  ::closedir(d);
}

// The directory must not let anyone else replace auth.yml under us.
absl::Status CheckDirectory(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", dir);
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  if ((st.st_uid != ::geteuid() && st.st_uid != 0) || (st.st_mode & 022) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s can be written by another user (owner uid %d, mode %04o): auth.yml is not kept there\nhint: chmod 700 %s",
        dir, st.st_uid, st.st_mode & 07777, dir));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> AuthFilePath(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (std::string e = Env("HOSTATLAS_AUTH_FILE"); !e.empty()) return e;
  if (::geteuid() == 0) return std::string("/etc/hostatlas/backup/auth.yml");
  if (std::string x = Env("XDG_CONFIG_HOME"); !x.empty()) return x + "/hostatlas/backup/auth.yml";
  if (std::string h = Env("HOME"); !h.empty()) return h + "/.config/hostatlas/backup/auth.yml";
  return absl::FailedPreconditionError(
      "no place for auth.yml: HOME and XDG_CONFIG_HOME are unset\nhint: use --auth-file PATH or HOSTATLAS_AUTH_FILE");
}

absl::StatusOr<AuthFile> LoadAuthFile(const std::string& path, AuthFileUse use) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no ", path, " (not logged in)"));
    if (errno == ELOOP) {
      return absl::PermissionDeniedError(absl::StrCat(path, " is a symbolic link; auth.yml must be a regular file"));
    }
    return ErrnoStatus(errno, "open", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) return absl::PermissionDeniedError(absl::StrCat(path, " is not a regular file"));
  if (st.st_uid != ::geteuid()) {
    return absl::PermissionDeniedError(absl::StrFormat("%s belongs to uid %d, not to this user (uid %d)", path,
                                                       st.st_uid, ::geteuid()));
  }
  if ((st.st_mode & 077) != 0 && use == AuthFileUse::kUse) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s can be read by group or others (mode %04o); it holds an API key\nhint: chmod 600 %s", path,
        st.st_mode & 07777, path));
  }
  SecretString text;
  {
    std::string buf(8192, '\0');
    size_t got = 0;
    while (got < buf.size()) {
      ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        sodium_memzero(buf.data(), buf.size());
        return ErrnoStatus(errno, "read", path);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    buf.resize(got);
    text = SecretString(std::move(buf));
  }
  AuthFile a;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text.reveal(), '\n')) {
    ++line_no;
    absl::string_view t = absl::StripAsciiWhitespace(line);
    if (t.empty() || t[0] == '#') continue;
    std::string key;
    SecretString value;
    if (!ParseLine(t, key, value)) {
      // The position only: the line may hold the key.
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", line_no, ": not a `key: value` line; run `hostatlas-backup login` again"));
    }
    if (key == "api_key") {
      a.api_key = std::move(value);
    } else if (key == "api_url") {
      a.api_url = value.reveal();
    } else if (key == "key_id") {
      a.key_id = value.reveal();
    } else if (key == "account") {
      a.account = value.reveal();
    } else if (key == "created_at") {
      a.created_at = value.reveal();
    }  // other keys: ignored (a newer version may add some)
  }
  if (!absl::StartsWith(a.api_key.reveal(), "ha_")) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": api_key is missing or does not start with ha_; run `hostatlas-backup login` again"));
  }
  return a;
}

absl::Status PrepareAuthDirectory(const std::string& path) {
  std::string dir = Dirname(path);
  if (absl::Status st = MakeDirs(dir, 0700); !st.ok()) return st;
  if (absl::Status st = CheckDirectory(dir); !st.ok()) return st;
  if (::access(dir.c_str(), W_OK) != 0) return ErrnoStatus(errno, "write to", dir);
  SweepStaleTemps(dir, Basename(path));
  return absl::OkStatus();
}

absl::Status WriteAuthFile(const std::string& path, const AuthFile& a) {
  if (absl::Status st = PrepareAuthDirectory(path); !st.ok()) return st;
  std::string buf;
  buf.reserve(1024 + 2 * a.api_key.reveal().size());  // one buffer, no reallocation: no stray copy
  buf += "# HostAtlas login of this host (hostatlas-backup login); keep it 0600.\napi_url: ";
  AppendQuoted(buf, a.api_url);
  buf += "\napi_key: ";
  AppendQuoted(buf, a.api_key.reveal());
  buf += "\nkey_id: ";
  AppendQuoted(buf, a.key_id);
  buf += "\naccount: ";
  AppendQuoted(buf, a.account);
  buf += "\ncreated_at: ";
  AppendQuoted(buf, a.created_at);
  buf += "\n";
  SecretString text(std::move(buf));
  return WriteFileAtomic(path, text.reveal(), 0600);
}

absl::Status RemoveAuthFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no ", path));
    return ErrnoStatus(errno, "remove", path);
  }
  return FsyncDir(Dirname(path));
}

}  // namespace hab::hostatlas

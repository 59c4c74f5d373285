#include "integrations/hostatlas/auth_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/match.h"
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

// A YAML scalar that reads back as exactly `s`: double-quoted, JSON
// escapes (a subset of YAML's).
std::string Quoted(const std::string& s) { return JsonString(s); }

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

absl::StatusOr<AuthFile> LoadAuthFile(const std::string& path) {
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
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s can be read by group or others (mode %04o); it holds an API key\nhint: chmod 600 %s", path,
        st.st_mode & 07777, path));
  }
  SecretString text;
  {
    std::string buf(8192, '\0');
    ssize_t n;
    do {
      n = ::read(fd.get(), buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoStatus(errno, "read", path);
    buf.resize(static_cast<size_t>(n));
    text = SecretString(std::move(buf));
  }
  AuthFile a;
  try {
    YAML::Node root = YAML::Load(text.reveal());
    if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(path, ": not a mapping of keys"));
    auto get = [&](const char* key, std::string& out) -> absl::Status {
      YAML::Node n = root[key];
      if (!n || !n.IsScalar()) return absl::OkStatus();
      out = n.Scalar();
      return absl::OkStatus();
    };
    std::string key;
    (void)get("api_url", a.api_url);
    (void)get("api_key", key);
    a.api_key = SecretString(std::move(key));
    (void)get("key_id", a.key_id);
    (void)get("account", a.account);
    (void)get("created_at", a.created_at);
  } catch (const YAML::Exception& e) {
    // The mark only: the message could quote the line, and the line the key.
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": not valid YAML; run login again"));
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
  return absl::OkStatus();
}

absl::Status WriteAuthFile(const std::string& path, const AuthFile& a) {
  if (absl::Status st = PrepareAuthDirectory(path); !st.ok()) return st;
  SecretString text(absl::StrCat("# HostAtlas login of this host (hostatlas-backup login); keep it 0600.\n",
                                 "api_url: ", Quoted(a.api_url), "\napi_key: ", Quoted(a.api_key.reveal()),
                                 "\nkey_id: ", Quoted(a.key_id), "\naccount: ", Quoted(a.account),
                                 "\ncreated_at: ", Quoted(a.created_at), "\n"));
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

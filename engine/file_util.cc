#include "engine/file_util.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/partial_file.h"
#include "engine/unique_fd.h"

namespace hab {

absl::Status ErrnoStatus(int err, absl::string_view op, absl::string_view path) {
  absl::StatusCode code = absl::StatusCode::kInternal;
  switch (err) {
    case ENOENT: case ENOTDIR: code = absl::StatusCode::kNotFound; break;
    case EACCES: case EPERM: case EROFS: code = absl::StatusCode::kPermissionDenied; break;
    case ENOSPC: case EDQUOT: code = absl::StatusCode::kResourceExhausted; break;
    case EEXIST: case ENOTEMPTY: code = absl::StatusCode::kAlreadyExists; break;
    case EINTR: case EAGAIN: case EIO: code = absl::StatusCode::kUnavailable; break;
    default: break;
  }
  return absl::Status(code, absl::StrCat(op, " ", path, ": ", std::strerror(err)));
}

absl::Status WriteAll(int fd, std::span<const uint8_t> bytes, absl::string_view path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPrivateFile(const std::string& path, absl::string_view what,
                                            size_t max_bytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, what, path);
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s %s is accessible by group or others (mode %04o)\nhint: chmod 600 %s", what, path,
        st.st_mode & 07777, path));
  }
  return ReadFile(path, max_bytes);
}

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open", path);
  std::string out;
  char buf[65536];
  // The file may be a secret (a password file): the stack copy goes.
  struct Wipe {
    char* p;
    size_t n;
    ~Wipe() { ::explicit_bzero(p, n); }
  } wipe{buf, sizeof buf};
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) return absl::OutOfRangeError(absl::StrCat(path, " is too large"));
  }
  return out;
}

absl::Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open directory", dir);
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync directory", dir);
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path, unsigned mode) {
  if (path.empty()) return absl::OkStatus();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  std::string parent = Dirname(path);
  if (parent != path) {
    absl::Status s = MakeDirs(parent, mode);
    if (!s.ok()) return s;
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkdir", path);
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view contents, unsigned mode) {
  auto file = PartialFile::Create(path, mode, PartialFile::Mode::kReplace, absl::StrCat(".tmp.", ::getpid()));
  if (!file.ok()) return file.status();
  absl::Status st = (*file)->Write(contents);
  if (!st.ok()) return st;
  return (*file)->Commit();
}

absl::Status RemoveEmptyDirs(const std::string& top, const std::string& leaf) {
  std::string d = leaf;
  while (true) {
    if (::rmdir(d.c_str()) != 0) {
      if (errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST) return absl::OkStatus();
      return ErrnoStatus(errno, "remove directory", d);
    }
    if (d == top || d.size() <= top.size()) return absl::OkStatus();
    d = Dirname(d);
  }
}

std::string RealPathOr(const std::string& path) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) != nullptr) return real;
  return path;
}

std::string Dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

namespace {
std::string FormatUtc(int64_t t, const char* fmt) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}
}  // namespace

std::string Rfc3339Utc(int64_t t) { return FormatUtc(t, "%Y-%m-%dT%H:%M:%SZ"); }
std::string CompactUtc(int64_t t) { return FormatUtc(t, "%Y%m%dT%H%M%SZ"); }
std::string DateUtc(int64_t t) { return FormatUtc(t, "%Y-%m-%d"); }

namespace {
// Parses `s` with `format` (digits only where the format has numbers) and
// checks the round trip: strptime alone accepts day 31 in any month.
bool RoundTrips(absl::string_view s, const char* format) {
  std::string text(s);
  struct tm tm = {};
  const char* end = ::strptime(text.c_str(), format, &tm);
  if (end == nullptr || *end != '\0') return false;
  time_t t = ::timegm(&tm);
  return FormatUtc(static_cast<int64_t>(t), format) == text;
}
}  // namespace

bool ValidCompactUtc(absl::string_view s) { return s.size() == 16 && RoundTrips(s, "%Y%m%dT%H%M%SZ"); }
bool ValidDateUtc(absl::string_view s) { return s.size() == 10 && RoundTrips(s, "%Y-%m-%d"); }

}  // namespace hab

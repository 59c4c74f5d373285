#include "cli/run_lock.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/file_util.h"

namespace hab::cli {
namespace {

std::string AbsolutePath(const std::string& path) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) != nullptr) return real;
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

// A directory is safe for our lock when nobody but us (or root, for a
// sticky system directory such as /run/lock) can replace what is in it.
absl::Status CheckDirectory(const std::string& dir, const struct stat& st) {
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("lock directory ", dir, " is not a directory (or is a symlink)"));
  }
  bool ours = st.st_uid == ::geteuid() && (st.st_mode & 022) == 0;
  bool sticky_system = st.st_uid == 0 && (st.st_mode & S_ISVTX) != 0;
  if (!ours && !sticky_system) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "lock directory %s is owned by uid %d with mode %04o: another user could plant or hold "
        "the lock\nhint: remove it (it is recreated with mode 0700) or set XDG_RUNTIME_DIR to a "
        "private directory",
        dir, st.st_uid, st.st_mode & 07777));
  }
  return absl::OkStatus();
}

// Opens (creating with `mode` if missing) a directory we will trust.
absl::StatusOr<UniqueFd> OpenLockDirectory(const std::string& dir, bool create) {
  if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "create lock directory", dir);
  }
  // O_NOFOLLOW on the last component: a symlink planted in place of our
  // directory is refused, not followed.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return absl::FailedPreconditionError(
          absl::StrCat("lock directory ", dir, " is not a directory (or is a symlink)"));
    }
    return ErrnoStatus(errno, "open lock directory", dir);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat lock directory", dir);
  if (absl::Status s = CheckDirectory(dir, st); !s.ok()) return s;
  return fd;
}

}  // namespace

std::string RunLock::Directory() {
  if (const char* d = std::getenv("HOSTATLAS_BACKUP_LOCK_DIR"); d && *d) return d;
  if (::geteuid() == 0) return "/run/hostatlas-backup";
  if (const char* rt = std::getenv("XDG_RUNTIME_DIR"); rt && *rt) return rt;
  // No XDG_RUNTIME_DIR (cron without a session): a private per-user
  // directory under /tmp, checked like any other.
  return absl::StrCat("/tmp/hostatlas-backup-", ::geteuid());
}

std::string RunLock::PathFor(const std::string& config_path) {
  // The stem of the file itself: a symlink to the config (nightly.yml ->
  // backup.yml) takes the same lock as the config, so a manual run through
  // another name cannot run beside the scheduled one.
  std::string stem = Basename(AbsolutePath(config_path));
  for (const char* ext : {".yml", ".yaml"}) {
    if (absl::EndsWith(stem, ext)) stem = stem.substr(0, stem.size() - std::strlen(ext));
  }
  return absl::StrCat(Directory(), "/hostatlas-backup-", stem, ".lock");
}

absl::Status RunLock::Acquire(const std::string& config_path, const char* command) {
  std::string path = PathFor(config_path);
  std::string dir = Dirname(path), name = Basename(path);
  // Ours to create: root's /run/hostatlas-backup and the /tmp fallback; an
  // XDG_RUNTIME_DIR or an override must exist already.
  bool create = ::geteuid() == 0 || absl::StartsWith(dir, "/tmp/hostatlas-backup-");
  if (std::getenv("HOSTATLAS_BACKUP_LOCK_DIR") != nullptr) create = true;
  auto dir_fd = OpenLockDirectory(dir, create);
  if (!dir_fd.ok()) return dir_fd.status();
  UniqueFd fd(::openat(dir_fd->get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    if (errno == ELOOP) {
      return absl::FailedPreconditionError(
          absl::StrCat("lock file ", path, " is a symlink; refusing to follow it"));
    }
    return ErrnoStatus(errno, "open lock file", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat lock file", path);
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || st.st_nlink != 1) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "lock file %s is not a plain file of ours (owner uid %d, %d links); refusing to use it",
        path, st.st_uid, static_cast<int>(st.st_nlink)));
  }
  std::string me_config = AbsolutePath(config_path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoStatus(errno, "lock", path);
    std::string holder = "an unknown process";
    char buf[4096];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n > 0) holder = std::string(absl::StripTrailingAsciiWhitespace(absl::string_view(buf, n)));
    std::string msg = absl::StrCat("another run of this config is in progress (lock ", path,
                                   " held by ", holder, ")");
    // "config PATH" is the holder's config: the same stem from another
    // directory shares the lock, and that must be visible.
    size_t at = holder.find(" config ");
    if (at != std::string::npos && holder.substr(at + 8) != me_config) {
      absl::StrAppend(&msg, "\nhint: ", holder.substr(at + 8), " and ", me_config,
                      " have the same file name and therefore share one lock; rename one of them "
                      "to run both at once");
    }
    // kUnavailable: another run holds it (the other refusals are
    // kFailedPrecondition: an unsafe directory or file).
    return absl::UnavailableError(msg);
  }
  std::string me = absl::StrCat("pid ", ::getpid(), " started ", Rfc3339Utc(std::time(nullptr)), " command ",
                                command, " config ", me_config, "\n");
  if (::ftruncate(fd.get(), 0) == 0) {
    (void)!::pwrite(fd.get(), me.data(), me.size(), 0);
  }
  fd_ = std::move(fd);
  return absl::OkStatus();
}

namespace {
// When process `pid` started (Unix time, second resolution), from
// /proc/PID/stat (clock ticks after boot) and /proc/stat's btime.
std::optional<int64_t> ProcessStartUnix(int64_t pid) {
  auto stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"), 1 << 16);
  auto sys = ReadFile("/proc/stat", 1 << 20);
  if (!stat.ok() || !sys.ok()) return std::nullopt;
  size_t close = stat->rfind(')');  // the name may hold spaces and ')'
  if (close == std::string::npos) return std::nullopt;
  std::vector<absl::string_view> f = absl::StrSplit(absl::string_view(*stat).substr(close + 1), ' ', absl::SkipEmpty());
  // After the name: state is field 3, starttime field 22 -> index 19 here.
  uint64_t ticks = 0;
  if (f.size() < 20 || !absl::SimpleAtoi(f[19], &ticks)) return std::nullopt;
  size_t at = sys->find("\nbtime ");
  int64_t btime = 0;
  if (at == std::string::npos) return std::nullopt;
  size_t eol = sys->find('\n', at + 7);
  if (!absl::SimpleAtoi(absl::string_view(*sys).substr(at + 7, eol - at - 7), &btime)) return std::nullopt;
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) return std::nullopt;
  return btime + static_cast<int64_t>(ticks / static_cast<uint64_t>(hz));
}
}  // namespace

std::optional<RunLock::Record> RunLock::Peek(const std::string& config_path) {
  std::string path = PathFor(config_path);
  auto dir_fd = OpenLockDirectory(Dirname(path), /*create=*/false);
  if (!dir_fd.ok()) return std::nullopt;
  UniqueFd fd(::openat(dir_fd->get(), Basename(path).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      st.st_nlink != 1) {
    return std::nullopt;
  }
  char buf[4096];
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  std::string text(absl::StripTrailingAsciiWhitespace(absl::string_view(buf, static_cast<size_t>(n))));
  // "pid N started T command C config PATH"
  std::vector<std::string> w = absl::StrSplit(text, absl::MaxSplits(' ', 7));
  Record r;
  if (w.size() != 8 || w[0] != "pid" || w[2] != "started" || w[4] != "command" || w[6] != "config" ||
      !absl::SimpleAtoi(w[1], &r.pid) || r.pid <= 0) {
    return std::nullopt;
  }
  r.started = w[3];
  r.command = w[5];
  r.config = w[7];
  // Running: that pid exists and is the process that took the lock (it
  // started shortly before the lock's time; a recycled pid started later).
  std::optional<int64_t> started = ProcessStartUnix(r.pid);
  struct tm tm = {};
  const char* end = ::strptime(r.started.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (started.has_value() && end != nullptr && *end == '\0') {
    int64_t locked = static_cast<int64_t>(::timegm(&tm));
    r.running = *started <= locked + 2 && *started >= locked - 600;
  }
  return r;
}

}  // namespace hab::cli

#include "destinations/local/local_destination.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"
#include "engine/unique_fd.h"

namespace hab {
namespace {

class LocalWriter : public ObjectWriter {
 public:
  LocalWriter(std::string final_path, std::string partial_path, UniqueFd fd)
      : final_(std::move(final_path)), partial_(std::move(partial_path)), fd_(std::move(fd)) {}
  ~LocalWriter() override { Abort(); }

  absl::Status Write(std::span<const uint8_t> bytes) override {
    if (!fd_) return absl::FailedPreconditionError("write after commit or abort");
    HAB_RETURN_IF_ERROR(WriteAll(fd_.get(), bytes, partial_));
    size_ += bytes.size();
    // Start the writeback of every few MiB as soon as they are written, so
    // the disk works while we compress and the commit's fsync finds the
    // archive (almost) on disk instead of writing all of it at the end. A
    // hint only: a filesystem without it says so, and fsync still decides.
    if (size_ - writeback_from_ >= kWritebackStep) {
      (void)::sync_file_range(fd_.get(), static_cast<off_t>(writeback_from_),
                              static_cast<off_t>(size_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
      writeback_from_ = size_;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Commit() override {
    if (!fd_) return absl::FailedPreconditionError("commit after abort");
    if (::fsync(fd_.get()) != 0) return ErrnoStatus(errno, "fsync", partial_);
    fd_.reset();
    // RENAME_NOREPLACE: a second archive with the same name must never
    // silently replace a good one.
    if (::renameat2(AT_FDCWD, partial_.c_str(), AT_FDCWD, final_.c_str(), RENAME_NOREPLACE) != 0) {
      absl::Status st = ErrnoStatus(errno, "rename to", final_);
      ::unlink(partial_.c_str());
      return st;
    }
    committed_ = true;
    HAB_RETURN_IF_ERROR(FsyncDir(Dirname(final_)));
    return size_;
  }

  void Abort() noexcept override {
    if (committed_ || aborted_) return;
    aborted_ = true;
    fd_.reset();
    ::unlink(partial_.c_str());
  }

 private:
  static constexpr uint64_t kWritebackStep = 8 << 20;
  std::string final_, partial_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  uint64_t writeback_from_ = 0;
  bool committed_ = false, aborted_ = false;
};

class LocalReader : public ObjectReader {
 public:
  LocalReader(UniqueFd fd, uint64_t size, std::string path)
      : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
  uint64_t size() const override { return size_; }
  absl::StatusOr<size_t> Read(std::span<uint8_t> out) override {
    while (true) {
      ssize_t n = ::read(fd_.get(), out.data(), out.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoStatus(errno, "read", path_);
    }
  }

 private:
  UniqueFd fd_;
  uint64_t size_;
  std::string path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectWriter>> LocalDestination::Create(const std::string& key,
                                                                       uint64_t) {
  std::string path = Path(key);
  HAB_RETURN_IF_ERROR(MakeDirs(Dirname(path)));
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat(path, " already exists"));
  }
  std::string partial = path + ".partial";
  UniqueFd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(errno, "create", partial);
  return std::unique_ptr<ObjectWriter>(new LocalWriter(path, partial, std::move(fd)));
}

absl::StatusOr<std::unique_ptr<ObjectReader>> LocalDestination::Open(const std::string& key) {
  std::string path = Path(key);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "fstat", path);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ObjectReader>(
      new LocalReader(std::move(fd), static_cast<uint64_t>(st.st_size), path));
}

absl::StatusOr<std::vector<ObjectInfo>> LocalDestination::List(const std::string& prefix) {
  // Keys are "<dir>/<name>" below the root; list the directory part of the
  // prefix and match names against the rest.
  std::string dir_part = prefix.find('/') == std::string::npos ? "" : Dirname(prefix);
  std::string name_prefix = prefix.substr(dir_part.empty() ? 0 : dir_part.size() + 1);
  std::string dir = dir_part.empty() ? root_ : Path(dir_part);
  std::vector<ObjectInfo> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return ErrnoStatus(errno, "list", dir);
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (!absl::StartsWith(name, name_prefix) || absl::EndsWith(name, ".partial")) continue;
    struct stat st;
    std::string full = dir + "/" + name;
    if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({dir_part.empty() ? name : dir_part + "/" + name,
                   static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::StatusOr<ObjectInfo> LocalDestination::Stat(const std::string& key) {
  struct stat st;
  std::string path = Path(key);
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  return ObjectInfo{key, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)};
}

absl::Status LocalDestination::Remove(const std::string& key) {
  std::string path = Path(key);
  if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, "remove", path);
  return FsyncDir(Dirname(path));
}

absl::Status LocalDestination::Probe() {
  HAB_RETURN_IF_ERROR(MakeDirs(root_));
  std::string key = absl::StrCat(".hostatlas-backup-probe-", ::getpid());
  HAB_ASSIGN_OR_RETURN(auto w, Create(key));
  static constexpr uint8_t kProbe[] = {'p', 'r', 'o', 'b', 'e', '\n'};
  HAB_RETURN_IF_ERROR(w->Write(kProbe));
  w->Abort();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> LocalDestination::FreeBytes() {
  // The root may not exist yet: ask the nearest existing ancestor.
  std::string p = root_;
  struct statvfs vfs;
  while (::statvfs(p.c_str(), &vfs) != 0) {
    if (errno != ENOENT || p == "/" || p == ".") return ErrnoStatus(errno, "statvfs", p);
    p = Dirname(p);
  }
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

}  // namespace hab

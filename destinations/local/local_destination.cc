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
#include "engine/partial_file.h"
#include "engine/status_macros.h"
#include "engine/unique_fd.h"

namespace hab {
namespace {

constexpr int kMaxListDepth = 8;

class LocalWriter : public ObjectWriter {
 public:
  explicit LocalWriter(std::unique_ptr<PartialFile> file) : file_(std::move(file)) {}
  ~LocalWriter() override { Abort(); }

  absl::Status Write(std::span<const uint8_t> bytes) override {
    HAB_RETURN_IF_ERROR(file_->Write(bytes));
    // Start the writeback of every few MiB as soon as they are written, so
    // the disk works while we compress and the commit's fsync finds the
    // archive (almost) on disk instead of writing all of it at the end. A
    // hint only: a filesystem without it says so, and fsync still decides.
    uint64_t size = file_->size();
    if (size - writeback_from_ >= kWritebackStep) {
      (void)::sync_file_range(file_->fd(), static_cast<off_t>(writeback_from_),
                              static_cast<off_t>(size - writeback_from_), SYNC_FILE_RANGE_WRITE);
      writeback_from_ = size;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Commit() override {
    HAB_RETURN_IF_ERROR(file_->Commit());
    return file_->size();
  }

  void Abort() noexcept override { file_->Abort(); }

 private:
  static constexpr uint64_t kWritebackStep = 8 << 20;
  std::unique_ptr<PartialFile> file_;
  uint64_t writeback_from_ = 0;
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

// The folders between the root and an archive (the dated ones) are made
// and checked one at a time: each must be a real folder (not a symlink),
// and, where its parent is writable by group or others, one that we (or
// root) own. A symlink planted there, or a folder another user made first
// in a shared path (say /srv/backups, mode 1777), would put the archive
// where that user can replace or delete it; list and retention, which
// never follow a symlink, would not even see it.
absl::Status LocalDestination::MakeKeyFolders(const std::string& key) const {
  HAB_RETURN_IF_ERROR(MakeDirs(root_));
  size_t slash = 0;
  while ((slash = key.find('/', slash)) != std::string::npos) {
    std::string dir = Path(key.substr(0, slash++));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkdir", dir);
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "lstat", dir);
    if (S_ISLNK(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, " is a symlink: archives are not written through a symlink below the destination's folder"));
    }
    if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
    // Whose folder it is matters only where someone else could have made
    // it: a parent that group or others may write to. (On NFS with
    // root_squash root's own folders belong to nobody; that is not a
    // reason to refuse.)
    struct stat parent;
    if (::stat(Dirname(dir).c_str(), &parent) != 0) return ErrnoStatus(errno, "stat", Dirname(dir));
    bool shared_parent = (parent.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    if (shared_parent && st.st_uid != ::geteuid() && st.st_uid != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, " belongs to uid ", st.st_uid, ", not to this user: another user could replace what is written there"
          "\nhint: remove it (or chown it) and check who can write to ", Dirname(dir)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> LocalDestination::Create(const std::string& key,
                                                                       const WriteOptions&) {
  std::string path = Path(key);
  HAB_RETURN_IF_ERROR(MakeKeyFolders(key));
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat(path, " already exists"));
  }
  HAB_ASSIGN_OR_RETURN(auto file, PartialFile::Create(path, 0600));
  return std::unique_ptr<ObjectWriter>(new LocalWriter(std::move(file)));
}

absl::StatusOr<std::unique_ptr<ObjectReader>> LocalDestination::Open(const std::string& key, const ReadOptions&) {
  std::string path = Path(key);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "fstat", path);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ObjectReader>(
      new LocalReader(std::move(fd), static_cast<uint64_t>(st.st_size), path));
}

absl::Status LocalDestination::Walk(const std::string& folder, int depth, const std::string& prefix,
                                    std::vector<ObjectInfo>& out) const {
  std::string dir = folder.empty() ? root_ : Path(folder);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || (errno == ENOTDIR && !folder.empty())) return absl::OkStatus();
    return ErrnoStatus(errno, "list", dir);
  }
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string key = folder.empty() ? name : folder + "/" + name;
    struct stat st;
    if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      subdirs.push_back(key);
    } else if (S_ISREG(st.st_mode)) {
      out.push_back({key, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
    }
  }
  ::closedir(d);
  // Archives sit at most a few dated folders deep; a bound keeps a root
  // that holds other trees from being walked whole.
  if (depth >= kMaxListDepth) return absl::OkStatus();
  for (const auto& s : subdirs) {
    // Only folders that can hold a key with the prefix.
    std::string as_dir = s + "/";
    if (absl::StartsWith(prefix, as_dir) || absl::StartsWith(as_dir, prefix)) {
      HAB_RETURN_IF_ERROR(Walk(s, depth + 1, prefix, out));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ObjectInfo>> LocalDestination::List(const std::string& prefix) {
  // Walk from the deepest folder the prefix names.
  std::string folder = prefix.find('/') == std::string::npos ? "" : Dirname(prefix);
  std::vector<ObjectInfo> all, out;
  HAB_RETURN_IF_ERROR(Walk(folder, 0, prefix, all));
  for (auto& o : all) {
    if (absl::StartsWith(o.key, prefix) && !absl::EndsWith(o.key, ".partial")) out.push_back(std::move(o));
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::StatusOr<std::vector<ObjectInfo>> LocalDestination::ListOrphans(const OrphanFilter& filter) {
  std::vector<ObjectInfo> all, out;
  HAB_RETURN_IF_ERROR(Walk("", 0, "", all));
  for (auto& o : all) {
    if (!absl::EndsWith(o.key, ".partial") || o.mtime_unix >= filter.before_unix) continue;
    std::string final_key = o.key.substr(0, o.key.size() - 8);
    if (filter.ours && filter.ours(final_key)) out.push_back(std::move(o));
  }
  return out;
}

absl::Status LocalDestination::RemoveOrphan(const ObjectInfo& orphan) {
  if (!absl::EndsWith(orphan.key, ".partial")) {
    return absl::InvalidArgumentError(absl::StrCat(orphan.key, " is not a .partial file"));
  }
  std::string path = Path(orphan.key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove", path);
  return absl::OkStatus();
}

absl::StatusOr<ObjectInfo> LocalDestination::Stat(const std::string& key) {
  struct stat st;
  std::string path = Path(key);
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  return ObjectInfo{key, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)};
}

absl::Status LocalDestination::Remove(const std::string& key) {
  std::string path = Path(key);
  // Removing what is gone already is not an error (S3 cannot tell either).
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove", path);
  return FsyncDir(Dirname(path));
}

absl::Status LocalDestination::Probe(bool create) {
  if (!create) {
    // A dry run creates nothing: the nearest existing folder of the root
    // must be a directory we could write into.
    std::string p = root_;
    struct stat st;
    while (::stat(p.c_str(), &st) != 0) {
      if (errno != ENOENT || p == "/" || p == ".") return ErrnoStatus(errno, "stat", p);
      p = Dirname(p);
    }
    if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(absl::StrCat(p, " is not a directory"));
    if (::access(p.c_str(), W_OK | X_OK) != 0) return ErrnoStatus(errno, "write into", p);
    return absl::OkStatus();
  }
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

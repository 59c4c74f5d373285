#include "destinations/sftp/sftp_destination.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"

namespace hab {
namespace {

constexpr int kMaxListDepth = 8;

bool IsDir(const LIBSSH2_SFTP_ATTRIBUTES& a) {
  return (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(a.permissions);
}
bool IsRegular(const LIBSSH2_SFTP_ATTRIBUTES& a) {
  return (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISREG(a.permissions);
}

absl::StatusOr<LIBSSH2_SFTP_ATTRIBUTES> StatPath(SshConnection& c, const std::string& path) {
  LIBSSH2_SFTP_ATTRIBUTES a = {};
  HAB_ASSIGN_OR_RETURN(long rc, c.Call("stat", [&] {
    return libssh2_sftp_stat_ex(c.sftp(), path.c_str(), static_cast<unsigned>(path.size()), LIBSSH2_SFTP_STAT, &a);
  }));
  if (rc != 0) return c.Error(absl::StrCat("stat ", path), rc);
  return a;
}

absl::Status Unlink(SshConnection& c, const std::string& path) {
  HAB_ASSIGN_OR_RETURN(long rc, c.Call("remove", [&] {
    return libssh2_sftp_unlink_ex(c.sftp(), path.c_str(), static_cast<unsigned>(path.size()));
  }));
  if (rc == 0) return absl::OkStatus();
  absl::Status st = c.Error(absl::StrCat("remove ", path), rc);
  return st.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : st;
}

absl::StatusOr<LIBSSH2_SFTP_HANDLE*> OpenFile(SshConnection& c, const std::string& path, unsigned long flags,
                                              long mode) {
  auto h = c.CallPtr<LIBSSH2_SFTP_HANDLE>("open", [&] {
    return libssh2_sftp_open_ex(c.sftp(), path.c_str(), static_cast<unsigned>(path.size()), flags, mode,
                                LIBSSH2_SFTP_OPENFILE);
  });
  if (!h.ok()) {
    absl::Status st = h.status();
    return absl::Status(st.code(), absl::StrCat("open ", path, ": ", st.message()));
  }
  return h;
}

// Closes a handle without waiting for the answer (a reader that is done,
// or a writer whose session is not trusted any more).
void CloseQuietly(LIBSSH2_SFTP_HANDLE* h) {
  if (h == nullptr) return;
  for (int i = 0; i < 20 && libssh2_sftp_close_handle(h) == LIBSSH2_ERROR_EAGAIN; ++i) ::usleep(5000);
}

// A second connection for cleaning up after a failed write: libssh2
// keeps the failed session's pipelined writes (and maybe a half-sent
// packet), and a new request on it waits for nothing (measured: a statvfs
// after a full-disk write failure timed out). Not cancellable, short
// bound: it exists to clean up, also after a signal.
absl::StatusOr<std::unique_ptr<SshConnection>> CleanupConnection(const SshTarget& target) {
  SshTarget t = target;
  t.cancel = nullptr;
  t.timeout_seconds = std::min(t.timeout_seconds, 5);
  return SshConnection::Open(t);
}

// OpenSSH's sftp-server answers a write on a full disk with a bare
// SSH_FX_FAILURE: ask the filesystem (statvfs@openssh.com) so the message
// can say "no space".
absl::Status DiagnoseWriteFailure(SshConnection& c, const std::string& path, absl::Status st) {
  if (st.code() != absl::StatusCode::kInternal) return st;
  LIBSSH2_SFTP_STATVFS vfs = {};
  std::string dir = Dirname(path);
  auto rc = c.Cleanup("statvfs", [&] { return libssh2_sftp_statvfs(c.sftp(), dir.c_str(), dir.size(), &vfs); });
  if (!rc.ok() || *rc != 0) return st;
  uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (free_bytes >= (1u << 20)) return st;
  return absl::ResourceExhaustedError(absl::StrCat(st.message(), ": no space left on the server's disk (",
                                                   free_bytes, " bytes free in ", dir, ")"));
}

class SftpWriter : public ObjectWriter {
 public:
  SftpWriter(std::unique_ptr<SshConnection> c, LIBSSH2_SFTP_HANDLE* h, std::string final_path, std::string partial)
      : c_(std::move(c)), h_(h), final_(std::move(final_path)), partial_(std::move(partial)) {}
  ~SftpWriter() override { Abort(); }

  absl::Status Write(std::span<const uint8_t> bytes) override {
    if (h_ == nullptr) return absl::FailedPreconditionError("write after commit or abort");
    while (!bytes.empty()) {
      // The same buffer until libssh2 takes some of it (non-blocking rule);
      // it keeps many SFTP writes in flight.
      HAB_ASSIGN_OR_RETURN(long rc, c_->Call("write", [&] {
        return libssh2_sftp_write(h_, reinterpret_cast<const char*>(bytes.data()), bytes.size());
      }));
      if (rc < 0) return Failed(c_->Error(absl::StrCat("write ", partial_), rc));
      bytes = bytes.subspan(static_cast<size_t>(rc));
      size_ += static_cast<uint64_t>(rc);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Commit() override {
    if (h_ == nullptr) return absl::FailedPreconditionError("commit after abort");
    absl::Status st = Finish();
    if (!st.ok()) {
      Abort();
      return st;
    }
    committed_ = true;
    return size_;
  }

  void Abort() noexcept override {
    if (committed_ || aborted_) return;
    aborted_ = true;
    // Best effort, bounded and not cancelled (a signal is a reason to
    // clean up): on this session while it is sound; after an SFTP failure,
    // a timeout, a signal or a lost socket on a fresh one (5 s bounds). If
    // the server is gone that fails too, and the next run sweeps the orphan.
    SshConnection* c = c_.get();
    if (h_ != nullptr && !failed_ && !c_->broken()) {
      (void)c_->Cleanup("close", [&] { return libssh2_sftp_close_handle(h_); });
    }
    if (failed_ || c_->broken()) {
      CloseQuietly(h_);
      c = nullptr;
    }
    h_ = nullptr;
    if (c == nullptr) {
      if (fresh_ == nullptr) {
        if (auto f = CleanupConnection(c_->target()); f.ok()) fresh_ = std::move(*f);
      }
      c = fresh_.get();
    }
    if (c == nullptr || c->broken()) return;
    (void)c->Cleanup("remove", [&] {
      return libssh2_sftp_unlink_ex(c->sftp(), partial_.c_str(), static_cast<unsigned>(partial_.size()));
    });
  }

 private:
  // An SFTP-level failure of a write, fsync or close: this session is not
  // used again (Abort cleans up on a fresh one); a failure that is a full
  // disk says so.
  absl::Status Failed(absl::Status st) {
    failed_ = true;
    if (st.code() != absl::StatusCode::kInternal || c_->broken()) return st;
    if (fresh_ == nullptr) {
      if (auto f = CleanupConnection(c_->target()); f.ok()) fresh_ = std::move(*f);
    }
    return fresh_ != nullptr ? DiagnoseWriteFailure(*fresh_, partial_, st) : st;
  }

  absl::Status Finish() {
    // fsync@openssh.com where offered: the data is on the server's disk
    // before the name says the archive is there.
    HAB_ASSIGN_OR_RETURN(long rc, c_->Call("fsync", [&] { return libssh2_sftp_fsync(h_); }));
    if (rc != 0) {
      absl::Status st = c_->Error(absl::StrCat("fsync ", partial_), rc);
      if (st.code() != absl::StatusCode::kUnimplemented) return Failed(st);
    }
    // Closing reports the last write errors (a full disk).
    HAB_ASSIGN_OR_RETURN(rc, c_->Call("close", [&] { return libssh2_sftp_close_handle(h_); }));
    h_ = nullptr;
    if (rc != 0) return Failed(c_->Error(absl::StrCat("close ", partial_), rc));
    if (StatPath(*c_, final_).ok()) {
      return absl::AlreadyExistsError(absl::StrCat(final_, " already exists at ", c_->target().Describe(),
                                                    "; not replaced"));
    }
    HAB_ASSIGN_OR_RETURN(rc, c_->Call("rename", [&] {
      return libssh2_sftp_posix_rename_ex(c_->sftp(), partial_.c_str(), static_cast<unsigned>(partial_.size()),
                                          final_.c_str(), static_cast<unsigned>(final_.size()));
    }));
    // The server lacks posix-rename@openssh.com (libssh2 answers +8,
    // LIBSSH2_FX_OP_UNSUPPORTED, without sending it): plain SFTP rename,
    // which refuses an existing target.
    if (rc == static_cast<long>(LIBSSH2_FX_OP_UNSUPPORTED)) {
      HAB_ASSIGN_OR_RETURN(rc, c_->Call("rename", [&] {
        return libssh2_sftp_rename_ex(c_->sftp(), partial_.c_str(), static_cast<unsigned>(partial_.size()),
                                      final_.c_str(), static_cast<unsigned>(final_.size()), 0);
      }));
    }
    if (rc != 0) return c_->Error(absl::StrCat("rename ", partial_, " to ", Basename(final_)), rc);
    return absl::OkStatus();
  }

  std::unique_ptr<SshConnection> c_;
  LIBSSH2_SFTP_HANDLE* h_;
  std::string final_, partial_;
  uint64_t size_ = 0;
  bool committed_ = false, aborted_ = false, failed_ = false;
  std::unique_ptr<SshConnection> fresh_;  // for cleaning up after an SFTP failure
};

class SftpReader : public ObjectReader {
 public:
  SftpReader(std::unique_ptr<SshConnection> c, LIBSSH2_SFTP_HANDLE* h, uint64_t size, std::string path)
      : c_(std::move(c)), h_(h), size_(size), path_(std::move(path)) {}
  ~SftpReader() override { CloseQuietly(h_); }
  uint64_t size() const override { return size_; }
  absl::StatusOr<size_t> Read(std::span<uint8_t> out) override {
    HAB_ASSIGN_OR_RETURN(long rc, c_->Call("read", [&] {
      return libssh2_sftp_read(h_, reinterpret_cast<char*>(out.data()), out.size());
    }));
    if (rc < 0) return c_->Error(absl::StrCat("read ", path_), rc);
    return static_cast<size_t>(rc);
  }

 private:
  std::unique_ptr<SshConnection> c_;
  LIBSSH2_SFTP_HANDLE* h_;
  uint64_t size_;
  std::string path_;
};

}  // namespace

absl::Status SftpMakeDirs(SshConnection& c, const std::string& path) {
  std::string so_far = absl::StartsWith(path, "/") ? "" : ".";
  for (absl::string_view comp : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    so_far = so_far == "." ? std::string(comp) : absl::StrCat(so_far, "/", comp);
    auto st = StatPath(c, so_far);
    if (st.ok()) {
      if (!IsDir(*st)) return absl::FailedPreconditionError(absl::StrCat(so_far, " exists and is not a directory"));
      continue;
    }
    if (st.status().code() != absl::StatusCode::kNotFound) return st.status();
    HAB_ASSIGN_OR_RETURN(long rc, c.Call("mkdir", [&] {
      return libssh2_sftp_mkdir_ex(c.sftp(), so_far.c_str(), static_cast<unsigned>(so_far.size()), 0755);
    }));
    if (rc != 0 && !StatPath(c, so_far).ok()) return c.Error(absl::StrCat("mkdir ", so_far), rc);
  }
  return absl::OkStatus();
}

std::string SftpDestination::Describe() const {
  return target_.Location(root_);
}

std::string SftpDestination::Path(const std::string& key) const {
  if (root_.empty()) return key;
  return root_.back() == '/' ? root_ + key : absl::StrCat(root_, "/", key);
}

absl::StatusOr<SshConnection*> SftpDestination::Control() {
  // A session whose request timed out or was cancelled may still answer
  // that request: libssh2 would hand its answer to the next call of the
  // same kind (a stat, an unlink). Never reused.
  if (control_ && control_->broken()) control_.reset();
  if (!control_) {
    HAB_ASSIGN_OR_RETURN(control_, SshConnection::Open(target_, &warnings_));
  }
  return control_.get();
}

std::vector<std::string> SftpDestination::TakeWarnings() {
  absl::MutexLock lock(&mu_);
  return std::move(warnings_);
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> SftpDestination::Create(const std::string& key, const WriteOptions&) {
  HAB_ASSIGN_OR_RETURN(std::unique_ptr<SshConnection> c, SshConnection::Open(target_));
  std::string path = Path(key);
  HAB_RETURN_IF_ERROR(SftpMakeDirs(*c, Dirname(path)));
  if (StatPath(*c, path).ok()) return absl::AlreadyExistsError(absl::StrCat(path, " already exists"));
  std::string partial = path + ".partial";
  HAB_ASSIGN_OR_RETURN(LIBSSH2_SFTP_HANDLE * h,
                       OpenFile(*c, partial, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600));
  return std::unique_ptr<ObjectWriter>(new SftpWriter(std::move(c), h, path, partial));
}

absl::StatusOr<std::unique_ptr<ObjectReader>> SftpDestination::Open(const std::string& key, const ReadOptions&) {
  HAB_ASSIGN_OR_RETURN(std::unique_ptr<SshConnection> c, SshConnection::Open(target_));
  std::string path = Path(key);
  HAB_ASSIGN_OR_RETURN(LIBSSH2_SFTP_ATTRIBUTES a, StatPath(*c, path));
  HAB_ASSIGN_OR_RETURN(LIBSSH2_SFTP_HANDLE * h, OpenFile(*c, path, LIBSSH2_FXF_READ, 0));
  return std::unique_ptr<ObjectReader>(new SftpReader(std::move(c), h, a.filesize, path));
}

absl::Status SftpDestination::Walk(SshConnection& c, const std::string& folder, int depth,
                                   const std::string& prefix, std::vector<ObjectInfo>& out) {
  std::string dir = folder.empty() ? (root_.empty() ? "." : root_) : Path(folder);
  auto h = c.CallPtr<LIBSSH2_SFTP_HANDLE>("list", [&] {
    return libssh2_sftp_open_ex(c.sftp(), dir.c_str(), static_cast<unsigned>(dir.size()), 0, 0,
                                LIBSSH2_SFTP_OPENDIR);
  });
  if (!h.ok()) {
    if (h.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
    return absl::Status(h.status().code(), absl::StrCat("list ", dir, ": ", h.status().message()));
  }
  std::vector<std::string> subdirs;
  absl::Status result;
  char name[1024];
  while (true) {
    LIBSSH2_SFTP_ATTRIBUTES a = {};
    auto rc = c.Call("list", [&] { return libssh2_sftp_readdir_ex(*h, name, sizeof name, nullptr, 0, &a); });
    if (!rc.ok()) {
      result = rc.status();
      break;
    }
    if (*rc == 0) break;
    if (*rc < 0) {
      result = c.Error(absl::StrCat("list ", dir), *rc);
      break;
    }
    std::string n(name, static_cast<size_t>(*rc));
    if (n == "." || n == "..") continue;
    std::string key = folder.empty() ? n : folder + "/" + n;
    if (IsDir(a)) {
      subdirs.push_back(key);
    } else if (IsRegular(a)) {
      out.push_back({key, a.filesize, static_cast<int64_t>(a.mtime)});
    }
  }
  CloseQuietly(*h);
  HAB_RETURN_IF_ERROR(result);
  if (depth >= kMaxListDepth) return absl::OkStatus();
  for (const auto& s : subdirs) {
    std::string as_dir = s + "/";
    if (absl::StartsWith(prefix, as_dir) || absl::StartsWith(as_dir, prefix)) {
      HAB_RETURN_IF_ERROR(Walk(c, s, depth + 1, prefix, out));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ObjectInfo>> SftpDestination::List(const std::string& prefix) {
  absl::MutexLock lock(&mu_);
  HAB_ASSIGN_OR_RETURN(SshConnection * c, Control());
  std::string folder = prefix.find('/') == std::string::npos ? "" : Dirname(prefix);
  std::vector<ObjectInfo> all, out;
  absl::Status st = Walk(*c, folder, 0, prefix, all);
  if (!st.ok()) {
    control_.reset();  // a broken connection is not reused
    return st;
  }
  for (auto& o : all) {
    if (absl::StartsWith(o.key, prefix) && !absl::EndsWith(o.key, ".partial")) out.push_back(std::move(o));
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::StatusOr<ObjectInfo> SftpDestination::Stat(const std::string& key) {
  absl::MutexLock lock(&mu_);
  HAB_ASSIGN_OR_RETURN(SshConnection * c, Control());
  auto a = StatPath(*c, Path(key));
  if (!a.ok()) return a.status();
  return ObjectInfo{key, a->filesize, static_cast<int64_t>(a->mtime)};
}

absl::Status SftpDestination::Remove(const std::string& key) {
  absl::MutexLock lock(&mu_);
  HAB_ASSIGN_OR_RETURN(SshConnection * c, Control());
  return Unlink(*c, Path(key));
}

absl::Status SftpDestination::Probe(bool create) {
  absl::MutexLock lock(&mu_);
  HAB_ASSIGN_OR_RETURN(SshConnection * c, Control());
  std::string dir = root_.empty() ? "." : root_;
  if (!create) {
    // Nothing is created: the folder or its nearest existing parent.
    for (std::string p = dir;; p = Dirname(p)) {
      auto a = StatPath(*c, p);
      if (a.ok()) {
        if (!IsDir(*a)) return absl::FailedPreconditionError(absl::StrCat(p, " is not a directory"));
        return absl::OkStatus();
      }
      if (a.status().code() != absl::StatusCode::kNotFound || p == "/" || p == ".") return a.status();
    }
  }
  HAB_RETURN_IF_ERROR(SftpMakeDirs(*c, dir));
  std::string probe = Path(absl::StrCat(".hostatlas-backup-probe-", ::getpid()));
  HAB_ASSIGN_OR_RETURN(LIBSSH2_SFTP_HANDLE * h,
                       OpenFile(*c, probe, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600));
  static constexpr char kProbe[] = "probe\n";
  auto rc = c->Call("write", [&] { return libssh2_sftp_write(h, kProbe, sizeof kProbe - 1); });
  // After a timeout or a signal the session is not asked again (each step
  // would wait its full bound): the probe file goes through a fresh
  // connection with the short cleanup bound.
  absl::StatusOr<long> closed = absl::UnavailableError("probe file not closed");
  if (!c->broken()) closed = c->Call("close", [&] { return libssh2_sftp_close_handle(h); });
  absl::Status removed;
  if (!c->broken()) {
    removed = Unlink(*c, probe);
  } else {
    CloseQuietly(h);
    if (auto f = CleanupConnection(target_); f.ok()) (void)Unlink(**f, probe);
  }
  if (!rc.ok()) return rc.status();
  if (*rc < 0) return c->Error(absl::StrCat("write ", probe), *rc);
  if (!closed.ok()) return closed.status();
  if (*closed != 0) return c->Error(absl::StrCat("close ", probe), *closed);
  return removed;
}

absl::StatusOr<uint64_t> SftpDestination::FreeBytes() {
  absl::MutexLock lock(&mu_);
  HAB_ASSIGN_OR_RETURN(SshConnection * c, Control());
  // The folder may not exist yet: ask its nearest existing parent.
  for (std::string p = root_.empty() ? "." : root_;; p = Dirname(p)) {
    LIBSSH2_SFTP_STATVFS st = {};
    HAB_ASSIGN_OR_RETURN(long rc, c->Call("statvfs", [&] {
      return libssh2_sftp_statvfs(c->sftp(), p.c_str(), p.size(), &st);
    }));
    if (rc == 0) return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    absl::Status err = c->Error(absl::StrCat("statvfs ", p), rc);
    if (err.code() != absl::StatusCode::kNotFound || p == "/" || p == ".") {
      return absl::UnimplementedError(absl::StrCat("no free-space figure: ", err.message()));
    }
  }
}

absl::StatusOr<std::vector<ObjectInfo>> SftpDestination::ListOrphans(const OrphanFilter& filter) {
  absl::MutexLock lock(&mu_);
  HAB_ASSIGN_OR_RETURN(SshConnection * c, Control());
  std::vector<ObjectInfo> all, out;
  HAB_RETURN_IF_ERROR(Walk(*c, "", 0, "", all));
  for (auto& o : all) {
    if (!absl::EndsWith(o.key, ".partial") || o.mtime_unix >= filter.before_unix) continue;
    std::string final_key = o.key.substr(0, o.key.size() - 8);
    if (filter.ours && filter.ours(final_key)) out.push_back(std::move(o));
  }
  return out;
}

absl::Status SftpDestination::RemoveOrphan(const ObjectInfo& orphan) {
  if (!absl::EndsWith(orphan.key, ".partial")) {
    return absl::InvalidArgumentError(absl::StrCat(orphan.key, " is not a .partial file"));
  }
  absl::MutexLock lock(&mu_);
  HAB_ASSIGN_OR_RETURN(SshConnection * c, Control());
  return Unlink(*c, Path(orphan.key));
}

}  // namespace hab

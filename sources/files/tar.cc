#include "sources/files/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <algorithm>
#include <functional>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"
#include "engine/unique_fd.h"

namespace hab {
namespace {

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct ResolverDeleter {
  void operator()(archive_entry_linkresolver* r) const { archive_entry_linkresolver_free(r); }
};
using WriteArchive = std::unique_ptr<archive, ArchiveWriteDeleter>;
using ReadArchive = std::unique_ptr<archive, ArchiveReadDeleter>;
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

std::string ArchiveError(archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown libarchive error";
}

bool ClassMatch(absl::string_view p, size_t& i, char c) {
  // p[i] == '['; on return i is past ']'.
  size_t j = i + 1;
  bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
  if (negate) ++j;
  bool matched = false;
  bool first = true;
  while (j < p.size() && (first || p[j] != ']')) {
    first = false;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      if (c >= p[j] && c <= p[j + 2]) matched = true;
      j += 3;
    } else {
      if (c == p[j]) matched = true;
      ++j;
    }
  }
  i = j + 1;
  return matched != negate;
}

bool Match(absl::string_view p, absl::string_view s) {
  size_t i = 0, j = 0;
  while (i < p.size()) {
    if (p.substr(i, 2) == "**") {
      absl::string_view rest = p.substr(i + 2);
      if (rest.empty()) return true;
      if (rest[0] == '/') {
        rest.remove_prefix(1);
        // "**/" matches zero or more whole components.
        if (Match(rest, s.substr(j))) return true;
        for (size_t k = j; k < s.size(); ++k) {
          if (s[k] == '/' && Match(rest, s.substr(k + 1))) return true;
        }
        return false;
      }
      for (size_t k = j; k <= s.size(); ++k) {
        if (Match(rest, s.substr(k))) return true;
      }
      return false;
    }
    char c = p[i];
    if (c == '*') {
      absl::string_view rest = p.substr(i + 1);
      for (size_t k = j; k <= s.size(); ++k) {
        if (Match(rest, s.substr(k))) return true;
        if (k < s.size() && s[k] == '/') break;
      }
      return false;
    }
    if (j >= s.size()) return false;
    if (c == '?') {
      if (s[j] == '/') return false;
      ++i;
      ++j;
    } else if (c == '[') {
      if (s[j] == '/' || !ClassMatch(p, i, s[j])) return false;
      ++j;
    } else {
      if (c == '\\' && i + 1 < p.size()) c = p[++i];
      if (c != s[j]) return false;
      ++i;
      ++j;
    }
  }
  return j == s.size();
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view path) {
  pattern = absl::StripPrefix(pattern, "/");
  path = absl::StripPrefix(path, "/");
  if (pattern.find('/') == absl::string_view::npos) {
    for (absl::string_view comp : absl::StrSplit(path, '/', absl::SkipEmpty())) {
      if (Match(pattern, comp)) return true;
    }
    return false;
  }
  return Match(pattern, path);
}

bool Excluded(const std::vector<std::string>& patterns, absl::string_view member) {
  for (const auto& p : patterns) {
    if (GlobMatch(p, member)) return true;
  }
  return false;
}

namespace {
// nftw has no user pointer: each walk is single-threaded, so a thread_local
// context is enough (the subtrees below run on their own threads).
thread_local const std::vector<std::string>* g_exclude = nullptr;
thread_local const std::atomic<bool>* g_cancel = nullptr;
thread_local uint64_t g_total = 0;

int EstimateOne(const char* path, const struct stat* st, int type, struct FTW*) {
  if (g_cancel != nullptr && g_cancel->load()) return FTW_STOP;
  absl::string_view member = absl::StripPrefix(absl::string_view(path), "/");
  if (!member.empty() && Excluded(*g_exclude, member)) {
    return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
  }
  if (type == FTW_F && S_ISREG(st->st_mode)) g_total += static_cast<uint64_t>(st->st_size);
  return FTW_CONTINUE;
}

uint64_t WalkSubtree(const std::string& path, const std::vector<std::string>& exclude,
                     const std::atomic<bool>* cancel) {
  g_exclude = &exclude;
  g_cancel = cancel;
  g_total = 0;
  ::nftw(path.c_str(), EstimateOne, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
  return g_total;
}
}  // namespace

uint64_t EstimateTreeBytes(const std::vector<std::string>& paths,
                           const std::vector<std::string>& exclude, int threads,
                           const std::atomic<bool>* cancel) {
  // Each root's direct subdirectories are walked on `threads` threads (a
  // tree of millions of files takes minutes to stat on one); files directly
  // in a root, and subdirectories that are mount points (not crossed), are
  // handled here.
  std::vector<std::string> subtrees;
  uint64_t total = 0;
  for (const auto& root : paths) {
    struct stat rst;
    if (::lstat(root.c_str(), &rst) != 0) continue;
    if (!S_ISDIR(rst.st_mode)) {
      total += WalkSubtree(root, exclude, cancel);
      continue;
    }
    absl::string_view rm = absl::StripPrefix(absl::string_view(root), "/");
    if (!rm.empty() && Excluded(exclude, rm)) continue;
    DIR* d = ::opendir(root.c_str());
    if (d == nullptr) continue;
    std::string base = root == "/" ? "" : root;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string child = base + "/" + n;
      struct stat cst;
      if (::lstat(child.c_str(), &cst) != 0) continue;
      if (Excluded(exclude, absl::StripPrefix(absl::string_view(child), "/"))) continue;
      if (S_ISDIR(cst.st_mode)) {
        if (cst.st_dev == rst.st_dev) subtrees.push_back(std::move(child));
      } else if (S_ISREG(cst.st_mode)) {
        total += static_cast<uint64_t>(cst.st_size);
      }
    }
    ::closedir(d);
  }
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> sum{total};
  auto work = [&] {
    for (size_t i = next++; i < subtrees.size(); i = next++) sum += WalkSubtree(subtrees[i], exclude, cancel);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < std::min(static_cast<size_t>(std::max(threads, 1)), subtrees.size()); ++t) {
    pool.emplace_back(work);
  }
  work();
  for (auto& t : pool) t.join();
  return sum.load();
}

struct TarWriteCallbacks {
  static la_ssize_t Write(archive*, void* self, const void* buf, size_t size) {
    auto* src = static_cast<TarSource*>(self);
    absl::Status st = src->Append(buf, size);
    if (!st.ok()) {
      src->callback_status_ = st;
      return -1;
    }
    return static_cast<la_ssize_t>(size);
  }
};

absl::Status TarSource::Append(const void* data, size_t size) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  stats_->stream_bytes += size;
  while (size > 0) {
    if (!current_.has_value()) {
      HAB_ASSIGN_OR_RETURN(Chunk c, ctx_->NewSourceChunk(options_.chunk_bytes));
      current_ = std::move(c);
    }
    size_t room = current_->data.capacity() - current_->data.size();
    size_t n = std::min(room, size);
    if (p == current_->data.data() + current_->data.size()) {
      current_->data.resize(current_->data.size() + n);  // read in place (Tail)
    } else {
      current_->data.append({p, n});
    }
    p += n;
    size -= n;
    if (current_->data.size() == current_->data.capacity()) {
      Chunk full = std::move(*current_);
      current_.reset();
      HAB_RETURN_IF_ERROR((*emit_)(std::move(full)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::span<uint8_t>> TarSource::Tail() {
  if (!current_.has_value()) {
    HAB_ASSIGN_OR_RETURN(Chunk c, ctx_->NewSourceChunk(options_.chunk_bytes));
    current_ = std::move(c);
  }
  return current_->data.writable().subspan(current_->data.size());
}

namespace {

// Opens a file for reading without following a symlink swapped in after
// lstat, and without updating its atime when we may.
int OpenForRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  return fd;
}

}  // namespace

// Walks depth-first with sorted names: every directory's whole subtree
// follows its entry, which is the order in which GNU tar restores directory
// mtimes correctly (it sets them when extraction leaves a directory).
class TarWalker {
 public:
  TarWalker(TarSource* src, RunContext& ctx, archive* out, archive* disk, archive* dense_disk,
            archive_entry_linkresolver* resolver, const TarOptions& options, SourceStats& stats)
      : src_(src), ctx_(ctx), out_(out), disk_(disk), dense_disk_(dense_disk), resolver_(resolver),
        options_(options), stats_(stats), buf_(1 << 20) {}

  absl::Status WalkRoot(const std::string& root) {
    struct stat st;
    if (::lstat(root.c_str(), &st) != 0) return ErrnoStatus(errno, "tar: source path", root);
    root_dev_ = st.st_dev;
    return Visit(root, st);
  }

 private:
  absl::Status Visit(const std::string& path, const struct stat& st) {
    if (ctx_.cancelled()) return absl::CancelledError("tar cancelled");
    std::string member(absl::StripPrefix(path, "/"));
    while (absl::StartsWith(member, "/")) member.erase(0, 1);
    if (!member.empty()) HAB_RETURN_IF_ERROR(Emit(path, member, st));
    // Do not descend into other file systems (mount points stay as empty
    // directories), nor through symlinks (lstat never reports a link as a dir).
    if (!S_ISDIR(st.st_mode) || st.st_dev != root_dev_) return absl::OkStatus();
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) {
      ctx_.Warn(absl::StrCat("tar: cannot list ", path, ": ", std::strerror(errno)));
      return absl::OkStatus();
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    std::string base = path == "/" ? "" : path;
    for (const auto& n : names) {
      std::string child = base + "/" + n;
      std::string child_member(absl::StripPrefix(child, "/"));
      if (Excluded(options_.exclude, child_member)) continue;
      struct stat cst;
      if (::lstat(child.c_str(), &cst) != 0) {
        ctx_.Warn(absl::StrCat("tar: skipped ", child, ": ", std::strerror(errno)));
        continue;
      }
      HAB_RETURN_IF_ERROR(Visit(child, cst));
    }
    return absl::OkStatus();
  }

  absl::Status WriteFailed() {
    if (!src_->callback_status_.ok()) return src_->callback_status_;
    return absl::InternalError(absl::StrCat("tar: write: ", ArchiveError(out_)));
  }

  absl::Status Emit(const std::string& path, const std::string& member, const struct stat& st) {
    UniqueFd fd;
    if (S_ISREG(st.st_mode)) {
      fd.reset(OpenForRead(path));
      if (!fd) {
        ctx_.Warn(absl::StrCat("tar: skipped ", path, ": ", std::strerror(errno)));
        return absl::OkStatus();
      }
    }
    Entry entry(archive_entry_new());
    archive_entry_copy_pathname(entry.get(), path.c_str());
    archive_entry_copy_sourcepath(entry.get(), path.c_str());
    bool maybe_sparse = S_ISREG(st.st_mode) && st.st_blocks * 512 < st.st_size;
    archive* disk = maybe_sparse ? disk_ : dense_disk_;
    int r = archive_read_disk_entry_from_file(disk, entry.get(), fd ? fd.get() : -1, &st);
    if (r < ARCHIVE_WARN) {
      ctx_.Warn(absl::StrCat("tar: skipped ", path, ": ", ArchiveError(disk)));
      return absl::OkStatus();
    }
    archive_entry_copy_pathname(entry.get(), member.c_str());
    archive_entry* e = entry.release();
    archive_entry* spare = nullptr;
    archive_entry_linkify(resolver_, &e, &spare);
    Entry owned(e), owned_spare(spare);
    if (e == nullptr) return absl::OkStatus();
    r = archive_write_header(out_, e);
    if (r == ARCHIVE_FATAL) return WriteFailed();
    if (r < ARCHIVE_OK) {
      ctx_.Warn(absl::StrCat("tar: ", path, ": ", ArchiveError(out_)));
      if (r == ARCHIVE_FAILED) return absl::OkStatus();
    }
    ++stats_.members;
    if (fd && archive_entry_size(e) > 0 && archive_entry_hardlink(e) == nullptr) {
      // Holes read as zeros; the pax writer drops the bytes that fall in the
      // entry's sparse map, so sparse files stay sparse in the archive.
      // A dense file is read straight into the free end of the chunk being
      // filled: libarchive hands the same pointer back to Append (unblocked
      // output), which then only counts the bytes. A sparse file's data goes
      // through buf_, as the pax writer passes on only the parts outside
      // its holes.
      const bool in_place = !maybe_sparse;
      int64_t want = archive_entry_size(e), done = 0;
      while (done < want) {
        if (ctx_.cancelled()) return absl::CancelledError("tar cancelled");
        std::span<uint8_t> dst(buf_);
        if (in_place) {
          HAB_ASSIGN_OR_RETURN(dst, src_->Tail());
        }
        size_t n = static_cast<size_t>(std::min<int64_t>(want - done, static_cast<int64_t>(dst.size())));
        ssize_t got = ::read(fd.get(), dst.data(), n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          // The file shrank or failed mid-read: the header promised `want`
          // bytes, libarchive pads the rest with zeros, the run records it.
          ctx_.Warn(absl::StrCat("tar: ", path, " changed or failed while reading (",
                                 got < 0 ? std::strerror(errno) : "truncated",
                                 "); the archived copy is padded with zeros"));
          break;
        }
        if (archive_write_data(out_, dst.data(), static_cast<size_t>(got)) < 0) return WriteFailed();
        done += got;
        stats_.file_bytes += static_cast<uint64_t>(got);
      }
    }
    if (archive_write_finish_entry(out_) == ARCHIVE_FATAL) return WriteFailed();
    return absl::OkStatus();
  }

  TarSource* src_;
  RunContext& ctx_;
  archive* out_;
  archive* disk_;
  archive* dense_disk_;
  archive_entry_linkresolver* resolver_;
  const TarOptions& options_;
  SourceStats& stats_;
  std::vector<uint8_t> buf_;
  dev_t root_dev_ = 0;
};

absl::Status TarSource::Produce(RunContext& ctx, const EmitFn& emit) {
  ctx_ = &ctx;
  emit_ = &emit;
  WriteArchive a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  // Extended attributes as SCHILY.xattr.* records only (GNU tar and bsdtar
  // read them); libarchive would add a LIBARCHIVE.xattr.* copy of each,
  // which GNU tar warns about on every file.
  archive_write_set_format_option(a.get(), "pax", "xattrheader", "SCHILY");
  archive_write_add_filter_none(a.get());
  // Unblocked: libarchive hands each piece straight to Append instead of
  // copying it into 10 KiB records first (the stream still ends with the two
  // zero blocks every tar reader expects; it is just not padded to 10 KiB).
  archive_write_set_bytes_per_block(a.get(), 0);
  if (archive_write_open2(a.get(), this, nullptr, &TarWriteCallbacks::Write, nullptr, nullptr) !=
      ARCHIVE_OK) {
    return absl::InternalError(absl::StrCat("tar: open: ", ArchiveError(a.get())));
  }
  std::unique_ptr<archive_entry_linkresolver, ResolverDeleter> resolver(
      archive_entry_linkresolver_new());
  archive_entry_linkresolver_set_strategy(resolver.get(), archive_format(a.get()));
  // Two metadata readers: probing a file's sparse map costs syscalls, and
  // only a file with fewer allocated blocks than its size can be sparse.
  auto make_disk = [](int extra) {
    ReadArchive d(archive_read_disk_new());
    archive_read_disk_set_symlink_physical(d.get());
    archive_read_disk_set_standard_lookup(d.get());
    // Extended attributes (user.*, security.capability) and POSIX ACLs are
    // read and stored as SCHILY.xattr.* / SCHILY.acl.* pax records, which
    // GNU tar (--xattrs --acls) and bsdtar restore; file flags are not.
    archive_read_disk_set_behavior(d.get(), ARCHIVE_READDISK_NO_FFLAGS | extra);
    return d;
  };
  ReadArchive disk = make_disk(0);
  ReadArchive dense_disk = make_disk(ARCHIVE_READDISK_NO_SPARSE);
  TarWalker walker(this, ctx, a.get(), disk.get(), dense_disk.get(), resolver.get(), options_, *stats_);
  for (const std::string& root : options_.paths) HAB_RETURN_IF_ERROR(walker.WalkRoot(root));
  // Entries the resolver deferred (none for tar formats, but drain anyway).
  while (true) {
    archive_entry* e = nullptr;
    archive_entry* spare = nullptr;
    archive_entry_linkify(resolver.get(), &e, &spare);
    Entry owned(e), owned_spare(spare);
    if (e == nullptr) break;
    if (archive_write_header(a.get(), e) == ARCHIVE_FATAL) {
      return absl::InternalError(absl::StrCat("tar: write: ", ArchiveError(a.get())));
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (!callback_status_.ok()) return callback_status_;
    return absl::InternalError(absl::StrCat("tar: close: ", ArchiveError(a.get())));
  }
  Chunk last;
  if (current_.has_value()) {
    last = std::move(*current_);
    current_.reset();
  } else {
    HAB_ASSIGN_OR_RETURN(last, ctx.NewSourceChunk(0));
  }
  last.last = true;
  return emit(std::move(last));
}

// ---------------------------------------------------------------- extract

namespace {

// A member name is safe if it is relative and has no ".." component.
bool SafeName(absl::string_view name) {
  if (name.empty() || name[0] == '/') return false;
  for (absl::string_view comp : absl::StrSplit(name, '/')) {
    if (comp == "..") return false;
  }
  return true;
}

// "./a//b/" -> "a/b": the components libarchive will use, without "" and
// "." (SafeName has already refused "..").
std::string NormalizeMember(absl::string_view name) {
  std::string out;
  for (absl::string_view comp : absl::StrSplit(name, '/', absl::SkipEmpty())) {
    if (comp == ".") continue;
    if (!out.empty()) out += '/';
    absl::StrAppend(&out, comp);
  }
  return out;
}

// The symlinks one extraction has created, by normalized member path. The
// staging directory starts empty and only this extraction writes into it, so
// these are the only symlinks a member's path can meet: checking the set
// replaces libarchive's ARCHIVE_EXTRACT_SECURE_SYMLINKS, which opens and
// stats every component of every member (about 40 syscalls per file).
class SymlinkSet {
 public:
  // The symlink among the proper prefixes of `path`, or "" if none.
  std::string Through(absl::string_view path) const {
    for (size_t pos = path.find('/'); pos != absl::string_view::npos; pos = path.find('/', pos + 1)) {
      absl::string_view prefix = path.substr(0, pos);
      if (links_.contains(prefix)) return std::string(prefix);
    }
    return "";
  }
  bool Contains(absl::string_view path) const { return links_.contains(path); }
  void Set(const std::string& path, bool is_symlink) {
    if (is_symlink) {
      links_.insert(path);
    } else {
      links_.erase(path);  // replaced by a directory or a file
    }
  }

 private:
  absl::flat_hash_set<std::string> links_;
};

// Whether names differ only in case name one entry in the working directory
// (the empty staging directory): creates a probe file, looks it up in
// another case, removes it.
absl::StatusOr<bool> CaseInsensitiveCwd() {
  const char* probe = ".hab-Case-Probe";
  UniqueFd fd(::open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return ErrnoStatus(errno, "extract: create", probe);
  fd.reset();
  struct stat st;
  bool insensitive = ::lstat(".hab-case-probe", &st) == 0;
  if (::unlink(probe) != 0) return ErrnoStatus(errno, "extract: remove", probe);
  return insensitive;
}

int RemoveOne(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

}  // namespace

absl::Status RemoveTree(const std::string& path) {
  if (::nftw(path.c_str(), RemoveOne, 32, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove", path);
  }
  return absl::OkStatus();
}

TarExtractor::TarExtractor(std::string target, std::string staging)
    : target_(std::move(target)), staging_(std::move(staging)) {
  thread_ = std::thread([this] { Run(); });
}

TarExtractor::~TarExtractor() { Abort(); }

namespace {

// Staging directories of restores that died (kill -9) before they could
// remove them: ".hostatlas-restore-<pid>-<n>" whose process is gone.
void SweepDeadStaging(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> dead;
  while (dirent* e = ::readdir(d)) {
    absl::string_view n = e->d_name;
    if (!absl::ConsumePrefix(&n, ".hostatlas-restore-")) continue;
    int pid = 0;
    if (!absl::SimpleAtoi(n.substr(0, n.find('-')), &pid) || pid <= 0) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) dead.push_back(absl::StrCat(dir, "/", e->d_name));
  }
  ::closedir(d);
  for (const auto& p : dead) RemoveTree(p).IgnoreError();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TarExtractor>> TarExtractor::Create(const std::string& target) {
  struct stat st;
  bool existed = ::lstat(target.c_str(), &st) == 0;
  HAB_RETURN_IF_ERROR(MakeDirs(target));
  char real[PATH_MAX];
  if (::realpath(target.c_str(), real) == nullptr) return ErrnoStatus(errno, "realpath", target);
  if (existed) SweepDeadStaging(real);
  std::random_device rd;
  std::string staging = absl::StrCat(real, "/.hostatlas-restore-", ::getpid(), "-", rd() % 100000);
  if (::mkdir(staging.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir", staging);
  auto x = std::unique_ptr<TarExtractor>(new TarExtractor(real, staging));
  x->created_target_ = !existed;
  return x;
}

std::unique_ptr<TarExtractor> TarExtractor::CreateCounter() {
  return std::unique_ptr<TarExtractor>(new TarExtractor("", ""));
}

void TarExtractor::Run() {
  absl::Status st = Extract();
  {
    absl::MutexLock lock(&mu_);
    status_ = st;
    finished_ = true;
  }
  queue_.Close();  // unblocks a Write waiting for room
}

namespace {

// Whose a restored file is to be. As root, a new file already belongs to
// the extracting process's (euid, egid) unless its directory is setgid, so
// a member owned by exactly them needs no fchown. Directories below the
// staging directory are never setgid while members are written: libarchive
// creates them without set-id bits and applies their final modes only when
// the archive is closed ("never use an immediate chmod()" on directories, in
// archive_write_disk_posix.c); the staging directory itself is checked once
// (it inherits setgid from a setgid restore target). The unit test
// TarExtractor.OwnersAsRootUnderSetgidDirectories pins both.
struct OwnerRule {
  bool as_root = false;
  bool creator_known = false;  // uid/gid below are what a new file gets
  uid_t uid = 0;
  gid_t gid = 0;
};

// A plain regular file (no hardlink, no set-id or sticky bit) written here
// with open, write, fchown, futimens and close, where libarchive's disk
// writer adds two umask calls and an fcntl per member; on a restore of
// 50,000 small files those are a tenth of the extracting thread's time.
// It returns false, having consumed nothing, whenever the file cannot be
// created fresh (the name exists: a second member of that name; a missing
// parent; any other open error): libarchive then handles the member with
// its own rules and messages. `umask` is this thread's (read once).
absl::StatusOr<bool> ExtractPlainFile(archive* in, archive* out, archive_entry* e,
                                      const std::string& path, mode_t umask, const OwnerRule& owners,
                                      const std::function<void(std::string)>& warn) {
  mode_t mode = archive_entry_perm(e);
  if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr ||
      (mode & 07000) != 0 || path.empty()) {
    return false;
  }
  // Extended attributes and ACLs: libarchive restores them (after the
  // owner, so a file capability is not dropped by the chown).
  if (archive_entry_xattr_count(e) > 0 ||
      archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS | ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) > 0) {
    return false;
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode));
  if (!fd) return false;
  const void* buf;
  size_t size;
  la_int64_t offset;
  int r;
  uint64_t end = 0;
  while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
    // Sparse members come in pieces at offsets; seeking over a gap leaves
    // a hole.
    uint64_t at = static_cast<uint64_t>(offset);
    if (at != end && ::lseek(fd.get(), static_cast<off_t>(at), SEEK_SET) < 0) {
      return ErrnoStatus(errno, "extract: seek", path);
    }
    HAB_RETURN_IF_ERROR(WriteAll(fd.get(), {static_cast<const uint8_t*>(buf), size}, path));
    end = at + size;
  }
  if (r != ARCHIVE_EOF) return absl::DataLossError(absl::StrCat("tar: ", path, ": ", ArchiveError(in)));
  uint64_t want = static_cast<uint64_t>(archive_entry_size(e));
  if (want > end && ::ftruncate(fd.get(), static_cast<off_t>(want)) != 0) {
    return ErrnoStatus(errno, "extract: extend (trailing hole)", path);
  }
  if (owners.as_root) {
    // Owners by number (see Extract).
    uid_t uid = static_cast<uid_t>(archive_write_disk_uid(out, archive_entry_uname(e), archive_entry_uid(e)));
    gid_t gid = static_cast<gid_t>(archive_write_disk_gid(out, archive_entry_gname(e), archive_entry_gid(e)));
    bool already = owners.creator_known && uid == owners.uid && gid == owners.gid;
    if (!already && ::fchown(fd.get(), uid, gid) != 0) {
      warn(absl::StrCat("\"", path, "\": could not set owner ", uid, ":", gid, ": ", std::strerror(errno)));
    }
  }
  if ((mode & ~umask) != mode && ::fchmod(fd.get(), mode) != 0) {
    return ErrnoStatus(errno, "extract: chmod", path);
  }
  // libarchive's rule for times: a member without one gets the time of
  // extraction.
  struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  if (archive_entry_atime_is_set(e)) ts[0] = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
  if (archive_entry_mtime_is_set(e)) ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  if (::futimens(fd.get(), ts) != 0) return ErrnoStatus(errno, "extract: set times", path);
  if (::close(fd.release()) != 0) return ErrnoStatus(errno, "extract: close", path);
  return true;
}

}  // namespace

absl::Status TarExtractor::Extract() {
  ReadArchive in(archive_read_new());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  auto read_cb = +[](archive*, void* self, const void** buf) -> la_ssize_t {
    auto* x = static_cast<TarExtractor*>(self);
    std::optional<Buffer> next = x->queue_.Pop();
    if (!next.has_value()) return 0;
    x->reading_ = std::move(*next);
    *buf = x->reading_.data();
    return static_cast<la_ssize_t>(x->reading_.size());
  };
  if (archive_read_open(in.get(), this, nullptr, read_cb, nullptr) != ARCHIVE_OK) {
    return absl::DataLossError(absl::StrCat("tar: ", ArchiveError(in.get())));
  }
  if (staging_.empty()) {  // count-only mode
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(in.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
      if (archive_read_data_skip(in.get()) < ARCHIVE_WARN) break;
      ++members_;
    }
    if (r != ARCHIVE_EOF) return absl::DataLossError(absl::StrCat("tar: ", ArchiveError(in.get())));
    return absl::OkStatus();
  }
  // This thread gets its own working directory (unshare(CLONE_FS) affects
  // only the calling thread) and works inside the staging directory with
  // relative member names, so every path libarchive resolves (parent
  // directories, link targets, the fix-ups at close) is the member's own and
  // not the staging directory's absolute path plus it.
  if (::unshare(CLONE_FS) != 0) return ErrnoStatus(errno, "unshare(CLONE_FS) for extraction into", staging_);
  if (::chdir(staging_.c_str()) != 0) return ErrnoStatus(errno, "chdir", staging_);
  const mode_t umask_now = ::umask(0);  // this thread's own (CLONE_FS)
  ::umask(umask_now);
  WriteArchive out(archive_write_disk_new());
  // Flags left out on purpose:
  // - UNLINK: the staging directory starts empty; libarchive still replaces
  //   a file an earlier member put at the same name, and symlinks of the
  //   archive are removed by us before anything replaces them.
  // - SPARSE: holes come from the archive's sparse map (as with GNU tar);
  //   the flag scans every block for zeros and writes in 4 KiB pieces
  //   (500,000 write calls for a 2 GB file, slower than `tar -x`).
  // - SECURE_SYMLINKS: SymlinkSet does that job (see there) at a fraction of
  //   the syscalls, by exact names. On a case-insensitive directory (ext4
  //   casefold, some network mounts) "A" and "a" are one entry and names
  //   alone do not tell, so there libarchive checks every component again.
  // XATTR and ACL restore what the archive recorded; ownership is by
  // number (like `tar --numeric-owner`: a system restored from its own
  // backup gets its own ids back, whatever names this host maps them to;
  // the names stay in the archive).
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
              ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL;
  HAB_ASSIGN_OR_RETURN(bool case_insensitive, CaseInsensitiveCwd());
  if (case_insensitive) flags |= ARCHIVE_EXTRACT_SECURE_SYMLINKS;
  const bool as_root = ::geteuid() == 0;
  if (as_root) flags |= ARCHIVE_EXTRACT_OWNER;
  OwnerRule owners;
  owners.as_root = as_root;
  if (struct stat st; as_root && ::stat(".", &st) == 0 && (st.st_mode & S_ISGID) == 0) {
    owners.creator_known = true;
    owners.uid = ::geteuid();
    owners.gid = ::getegid();
  }
  archive_write_disk_set_options(out.get(), flags);
  std::function<void(std::string)> warn = [this](std::string m) {
    absl::MutexLock lock(&mu_);
    warnings_.push_back(std::move(m));
  };
  SymlinkSet symlinks;
  uint64_t metadata_misses = 0;
  std::string first_metadata_miss;
  archive_entry* entry;
  while (true) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return absl::DataLossError(absl::StrCat("tar: ", ArchiveError(in.get())));
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (!SafeName(name)) {
      warn(absl::StrCat("refused member \"", name, "\": absolute path or \"..\" component"));
      continue;
    }
    std::string clean = NormalizeMember(name);
    if (std::string link = symlinks.Through(clean); !link.empty()) {
      warn(absl::StrCat("refused member \"", name, "\": its path goes through the symlink \"", link,
                        "\" of this archive"));
      continue;
    }
    archive_entry_copy_pathname(entry, clean.empty() ? "." : clean.c_str());
    bool is_symlink = archive_entry_filetype(entry) == AE_IFLNK;
    if (const char* hl = archive_entry_hardlink(entry)) {
      std::string target = NormalizeMember(hl);
      if (!SafeName(hl) || target.empty()) {
        warn(absl::StrCat("refused member \"", name, "\": hardlink to \"", hl,
                          "\" points outside the restore directory"));
        continue;
      }
      if (std::string link = symlinks.Through(target); !link.empty()) {
        warn(absl::StrCat("refused member \"", name, "\": hardlink to \"", hl,
                          "\" goes through the symlink \"", link, "\" of this archive"));
        continue;
      }
      // A hardlink to a symlink is a symlink (link() does not follow); it
      // may not carry data that would be written through it.
      if (symlinks.Contains(target)) {
        if (archive_entry_size(entry) > 0) {
          warn(absl::StrCat("refused member \"", name, "\": data for a hardlink to the symlink \"", hl, "\""));
          continue;
        }
        is_symlink = true;
      }
      archive_entry_copy_hardlink(entry, target.c_str());
    }
    if (!clean.empty() && symlinks.Contains(clean)) {
      // A later member at a symlink's path replaces the link. Remove it
      // here: without SECURE_SYMLINKS libarchive would follow a symlink to
      // a directory for a directory member (and chmod its target).
      if (::unlink(clean.c_str()) != 0 && errno != ENOENT) {
        return ErrnoStatus(errno, "extract: remove symlink", clean);
      }
      symlinks.Set(clean, false);
    }
    if (is_symlink && !clean.empty()) {
      struct stat st;
      if (::lstat(clean.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        warn(absl::StrCat("refused member \"", name, "\": a symlink would replace the directory \"",
                          clean, "\""));
        continue;
      }
    }
    if (!case_insensitive) {
      HAB_ASSIGN_OR_RETURN(bool done, ExtractPlainFile(in.get(), out.get(), entry, clean, umask_now, owners, warn));
      if (done) {
        symlinks.Set(clean, false);
        ++members_;
        continue;
      }
    }
    r = archive_write_header(out.get(), entry);
    if (r == ARCHIVE_FATAL) return absl::InternalError(absl::StrCat("extract ", name, ": ", ArchiveError(out.get())));
    if (r < ARCHIVE_OK) {
      warn(absl::StrCat("refused member \"", name, "\": ", ArchiveError(out.get())));
      if (r == ARCHIVE_FAILED) continue;
    }
    if (!clean.empty()) symlinks.Set(clean, is_symlink);
    const void* buf;
    size_t size;
    la_int64_t offset;
    while ((r = archive_read_data_block(in.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_OK) {
        return absl::InternalError(absl::StrCat("extract ", name, ": ", ArchiveError(out.get())));
      }
    }
    if (r != ARCHIVE_EOF) return absl::DataLossError(absl::StrCat("tar: ", name, ": ", ArchiveError(in.get())));
    int fr = archive_write_finish_entry(out.get());
    if (fr < ARCHIVE_WARN) {
      return absl::InternalError(absl::StrCat("extract ", name, ": ", ArchiveError(out.get())));
    }
    if (fr == ARCHIVE_WARN && metadata_misses++ == 0) {
      // Metadata that could not be set (an xattr in security.* or an ACL
      // as a non-root user, on a filesystem without them): said once, not
      // per file.
      first_metadata_miss = absl::StrCat("\"", name, "\": ", ArchiveError(out.get()));
    }
    ++members_;
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    return absl::InternalError(absl::StrCat("extract: ", ArchiveError(out.get())));
  }
  if (metadata_misses > 0) {
    warn(absl::StrCat("extended attributes or ACLs of ", metadata_misses, " member(s) could not be restored",
                      as_root ? "" : " (not running as root)", "; the first: ", first_metadata_miss));
  }
  return absl::OkStatus();
}

absl::Status TarExtractor::Write(std::span<const uint8_t> bytes) {
  Buffer copy(bytes.size());
  copy.append(bytes);
  return WriteOwned(std::move(copy));
}

absl::Status TarExtractor::WriteOwned(Buffer bytes) {
  if (bytes.empty()) return absl::OkStatus();
  if (!queue_.Push(std::move(bytes))) {
    absl::MutexLock lock(&mu_);
    return status_.ok() ? absl::InternalError("tar extractor stopped early") : status_;
  }
  return absl::OkStatus();
}

void TarExtractor::Join() {
  queue_.Close();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<uint64_t> TarExtractor::Commit() {
  Join();
  {
    absl::MutexLock lock(&mu_);
    if (!status_.ok()) {
      absl::Status st = status_;
      Abort();
      return st;
    }
  }
  if (staging_.empty()) {
    done_ = true;
    return members_;
  }
  // Move every staged top-level entry into place; refuse to replace anything.
  std::vector<std::string> names;
  DIR* d = ::opendir(staging_.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "open", staging_);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    struct stat st;
    std::string dst = target_ + "/" + n;
    if (::lstat(dst.c_str(), &st) == 0) {
      Abort();
      return absl::AlreadyExistsError(absl::StrCat(
          dst, " already exists; restore into an empty directory (nothing was changed)"));
    }
  }
  for (const auto& n : names) {
    std::string src = staging_ + "/" + n, dst = target_ + "/" + n;
    if (::renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, dst.c_str(), RENAME_NOREPLACE) != 0) {
      absl::Status st = ErrnoStatus(errno, "move into place", dst);
      Abort();
      return st;
    }
  }
  ::rmdir(staging_.c_str());
  done_ = true;
  return members_;
}

void TarExtractor::Abort() noexcept {
  Join();
  if (done_) return;
  done_ = true;
  if (staging_.empty()) return;
  RemoveTree(staging_).IgnoreError();
  // Leave the parent as it was: remove the target only if we created it.
  if (created_target_) ::rmdir(target_.c_str());
}

std::vector<std::string> TarExtractor::TakeWarnings() {
  absl::MutexLock lock(&mu_);
  return std::move(warnings_);
}

}  // namespace hab

#include "engine/partial_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "engine/file_util.h"

namespace hab {

absl::StatusOr<std::unique_ptr<PartialFile>> PartialFile::Create(std::string path, unsigned perm,
                                                                 Mode mode, absl::string_view suffix) {
  std::string temp = absl::StrCat(path, suffix);
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm));
  if (!fd) return ErrnoStatus(errno, "create", temp);
  return std::unique_ptr<PartialFile>(new PartialFile(std::move(path), std::move(temp), std::move(fd), mode));
}

absl::Status PartialFile::Write(std::span<const uint8_t> bytes) {
  if (done_) return absl::FailedPreconditionError(absl::StrCat("write after commit or abort: ", temp_));
  absl::Status st = WriteAll(fd_.get(), bytes, temp_);
  if (st.ok()) size_ += bytes.size();
  return st;
}

absl::Status PartialFile::Commit() {
  if (done_) return absl::FailedPreconditionError(absl::StrCat("commit after commit or abort: ", temp_));
  if (::fsync(fd_.get()) != 0) {
    absl::Status st = ErrnoStatus(errno, "fsync", temp_);
    Abort();
    return st;
  }
  fd_.reset();
  int rc = mode_ == Mode::kReplace
               ? ::rename(temp_.c_str(), path_.c_str())
               : ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
  if (rc != 0) {
    absl::Status st = ErrnoStatus(errno, "rename to", path_);
    Abort();
    return st;
  }
  done_ = true;
  return FsyncDir(Dirname(path_));
}

void PartialFile::Abort() noexcept {
  if (done_) return;
  done_ = true;
  fd_.reset();
  ::unlink(temp_.c_str());
}

}  // namespace hab

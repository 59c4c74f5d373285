// PartialFile: the one way a local file is written that must appear whole
// or not at all (local archives, restored dumps, run logs, auth.yml).
//
// Create() opens "<path><suffix>" with O_EXCL|O_NOFOLLOW (mode `perm`):
// nothing can be redirected through a planted file or symlink. Commit()
// fsyncs it, renames it to `path` (with RENAME_NOREPLACE unless kReplace:
// an existing archive is never replaced) and fsyncs the directory so the
// name survives a crash. Abort() (and the destructor, unless committed)
// unlinks the temporary file. Not thread-safe; one writer per instance.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/unique_fd.h"

namespace hab {

class PartialFile {
 public:
  enum class Mode { kNoReplace, kReplace };
  static absl::StatusOr<std::unique_ptr<PartialFile>> Create(std::string path, unsigned perm = 0600,
                                                             Mode mode = Mode::kNoReplace,
                                                             absl::string_view suffix = ".partial");
  ~PartialFile() { Abort(); }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  absl::Status Write(std::span<const uint8_t> bytes);
  absl::Status Write(absl::string_view text) {
    return Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  // kAlreadyExists when kNoReplace and `path` exists (the temporary file is
  // removed then).
  absl::Status Commit();
  void Abort() noexcept;

  int fd() const { return fd_.get(); }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

 private:
  PartialFile(std::string path, std::string temp, UniqueFd fd, Mode mode)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(std::move(fd)), mode_(mode) {}
  std::string path_, temp_;
  UniqueFd fd_;
  Mode mode_;
  uint64_t size_ = 0;
  bool done_ = false;
};

}  // namespace hab

#include "nodes/file_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include "engine/file_util.h"
#include "engine/status_macros.h"

namespace hab {

absl::StatusOr<std::unique_ptr<FileSink>> FileSink::Create(const std::string& path) {
  // The topmost directory that does not exist yet: ours to remove on Abort.
  std::string created;
  for (std::string d = Dirname(path); d != "/" && d != "."; d = Dirname(d)) {
    struct stat st;
    if (::lstat(d.c_str(), &st) == 0) break;
    created = d;
  }
  HAB_RETURN_IF_ERROR(MakeDirs(Dirname(path), 0755));
  auto file = PartialFile::Create(path, 0600);
  if (!file.ok()) {
    if (!created.empty()) (void)RemoveEmptyDirs(created, Dirname(path));
    return file.status();
  }
  return std::unique_ptr<FileSink>(new FileSink(std::move(*file), created));
}

absl::StatusOr<uint64_t> FileSink::Commit() {
  HAB_RETURN_IF_ERROR(file_->Commit());
  committed_ = true;
  return file_->size();
}

void FileSink::Abort() noexcept {
  if (committed_) return;
  file_->Abort();
  if (!created_dir_.empty()) (void)RemoveEmptyDirs(created_dir_, Dirname(file_->path()));
  created_dir_.clear();
}

}  // namespace hab

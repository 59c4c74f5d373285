// LocalDestination: archives in a local directory (a NAS mount, a staging
// area). A writer is a PartialFile ("<key>.partial", O_EXCL, mode 0600):
// Commit fsyncs it, renames it to the key with RENAME_NOREPLACE (an
// existing archive is never replaced) and fsyncs the directory; Abort
// unlinks the .partial. Keys may contain '/', creating directories. List
// walks folders below the root (symlinks are not followed).
#pragma once

#include <memory>
#include <string>

#include "engine/destination.h"

namespace hab {

class LocalDestination : public Destination {
 public:
  explicit LocalDestination(std::string root) : root_(std::move(root)) {}
  std::string Describe() const override { return "local:" + root_; }
  absl::StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& key,
                                                       const WriteOptions& options = {}) override;
  absl::StatusOr<std::unique_ptr<ObjectReader>> Open(const std::string& key,
                                                     const ReadOptions& options = {}) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::StatusOr<ObjectInfo> Stat(const std::string& key) override;
  absl::Status Remove(const std::string& key) override;
  absl::Status Probe(bool create) override;
  absl::StatusOr<uint64_t> FreeBytes() override;
  absl::StatusOr<std::vector<ObjectInfo>> ListOrphans(const OrphanFilter& filter) override;
  absl::Status RemoveOrphan(const ObjectInfo& orphan) override;
  const std::string& root() const { return root_; }

 private:
  std::string Path(const std::string& key) const { return root_ + "/" + key; }
  absl::Status MakeKeyFolders(const std::string& key) const;
  // Every regular file below `folder` (relative keys, .partial included),
  // descending only into folders that can hold a key starting with `prefix`.
  absl::Status Walk(const std::string& folder, int depth, const std::string& prefix,
                    std::vector<ObjectInfo>& out) const;
  std::string root_;
};

}  // namespace hab

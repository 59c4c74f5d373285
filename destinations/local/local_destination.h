// LocalDestination: archives in a local directory (a NAS mount, a staging
// area). Writes go to "<key>.partial" (O_EXCL, mode 0600); Commit fsyncs the
// file, renames it to the key with RENAME_NOREPLACE (an existing archive is
// never replaced), and fsyncs the directory so the name survives a crash.
// Abort unlinks the .partial. Keys may contain '/', creating directories.
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
                                                       uint64_t size_hint = 0) override;
  absl::StatusOr<std::unique_ptr<ObjectReader>> Open(const std::string& key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::StatusOr<ObjectInfo> Stat(const std::string& key) override;
  absl::Status Remove(const std::string& key) override;
  absl::Status Probe() override;
  absl::StatusOr<uint64_t> FreeBytes() override;
  const std::string& root() const { return root_; }

 private:
  std::string Path(const std::string& key) const { return root_ + "/" + key; }
  std::string root_;
};

}  // namespace hab

// Restore: archives at the destination -> the reverse plan (read -> age ->
// zstd -> the kind's writer) -> the engine, scheduled under the budget like
// a backup. `verify` (deep-verify archives already at the destination) is
// the same plan with each kind's check instead of a writer.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graphs/archives.h"
#include "graphs/config.h"
#include "graphs/plan.h"

namespace hab {

struct RestoreOptions {
  std::string target_dir;     // "" for verify
  std::string from_key;       // a key, a file name, or a path under a local destination
  std::string identity_file;  // overrides encryption.identity_file
  bool all = false;           // verify: every archive, not the newest per source
};

struct RestoreItem {
  std::string key;
  std::string source;
  absl::Status status;
  bool skipped = false;        // restore: already there (a re-run restores what is missing)
  uint64_t count = 0;          // in `unit`
  std::string unit;            // "members" | "bytes" | ...
  std::string restored_path;   // restore: where it went
  std::string load_hint;       // restore: the command that loads a dump
  std::vector<std::string> warnings;
};

// Finds what `from` names among `archives` (relative key, the key with the
// root in front, a bare file name, or a path under a local root). NotFound
// names the closest keys.
absl::StatusOr<ArchiveRef> ResolveArchive(const std::vector<ArchiveRef>& archives,
                                          const ArchiveLocation& where, const std::string& from);

// Restores the newest archive of every configured source (or `from_key`).
// Setup problems (no identity, nothing to restore) are kInvalidArgument /
// kNotFound before anything is written.
absl::StatusOr<std::vector<RestoreItem>> RunRestore(const BackupSpec& spec, const PlanContext& pc,
                                                    const RestoreOptions& options,
                                                    const std::atomic<bool>& cancel);

// Deep-verifies archives at the destination: `from_key`, or the newest per
// configured source, or (`all`) every one.
absl::StatusOr<std::vector<RestoreItem>> RunVerify(const BackupSpec& spec, const PlanContext& pc,
                                                   const RestoreOptions& options,
                                                   const std::atomic<bool>& cancel);

}  // namespace hab

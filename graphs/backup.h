// Backup and restore execution: GraphPlan -> engine Graph -> run -> verify,
// retention. The CLI calls these; they never exit the process.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/destination.h"
#include "graphs/config.h"
#include "graphs/plan.h"

namespace hab {

struct SourceResult {
  std::string name;
  std::string type;
  std::string archive_key;
  absl::Status status;
  uint64_t bytes_in = 0;   // source stream bytes (tar stream / dump)
  uint64_t bytes_out = 0;  // archive bytes
  std::string sha256;
  uint64_t members = 0;
  uint64_t zstd_frames = 0;         // one per chunk
  uint64_t zstd_stored_frames = 0;  // of those, found incompressible (stored, not compressed)
  std::string verification = "none";  // none | ok | failed: ...
  double seconds = 0;
  std::vector<std::string> warnings;
  std::vector<std::string> deleted;  // retention
};

struct BackupResult {
  std::vector<SourceResult> sources;
  std::vector<std::string> warnings;  // run-level (not tied to one source)
  uint64_t memory_peak = 0;
  bool ok() const;
};

// kPreflight: network destinations try once, with a short timeout
// (kPreflightTimeoutSeconds at most), so pre-flight is quick to report.
enum class DestinationUse { kRun, kPreflight };
inline constexpr int kPreflightTimeoutSeconds = 10;
absl::StatusOr<std::unique_ptr<Destination>> OpenDestination(const BackupSpec& spec,
                                                              const PlanContext& pc,
                                                              DestinationUse use = DestinationUse::kRun);
// S3: parts in flight per source that fit the memory budget (0: none fit),
// and the fixed bytes each branch leases for its part buffers.
int S3PartConcurrency(const BackupSpec& spec);
uint64_t S3FixedBytes(const BackupSpec& spec);

// Fills pc.estimates. Files sources are walked once, except for a local
// destination when the source is on ext4 or tmpfs: there the used space of
// the source's filesystem is an upper bound of what tar reads (no
// compression, dedup or reflinks), and pre-flight walks the tree only if
// that bound does not fit.
void EstimateSources(const BackupSpec& spec, PlanContext& pc);

// Pre-flight problems, one line each ("check: subject: reason"). Empty = ok.
// May replace bounds in pc.estimates by walked sizes (free-space check).
std::vector<std::string> Preflight(const BackupSpec& spec, PlanContext& pc);

BackupResult RunBackup(const BackupSpec& spec, const PlanContext& pc,
                       const std::atomic<bool>& cancel);

struct RestoreOptions {
  std::string target_dir;
  std::string from_key;
  std::string identity_file;  // overrides encryption.identity_file
};

struct RestoreItem {
  std::string key;
  std::string source;
  absl::Status status;
  uint64_t members = 0;
  std::vector<std::string> warnings;
};

// Restores the newest archive of every source (or `from_key`). Config
// problems (no identity, nothing to restore) are kInvalidArgument /
// kNotFound before anything is written.
absl::StatusOr<std::vector<RestoreItem>> RunRestore(const BackupSpec& spec, const PlanContext& pc,
                                                    const RestoreOptions& options,
                                                    const std::atomic<bool>& cancel);

// Deep verification: reads `key` back through the reverse graph (decrypt,
// decompress) and checks the format; for tar returns the member count.
absl::StatusOr<uint64_t> VerifyDeep(const BackupSpec& spec, Destination& dest,
                                    const std::string& key, const std::string& ext,
                                    const std::atomic<bool>& cancel);

}  // namespace hab

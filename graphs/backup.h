// Backup: pre-flight, then the plan run (graphs/runtime), then retention.
// The CLI calls these; they never exit the process.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/destination.h"
#include "engine/preflight.h"
#include "graphs/config.h"
#include "graphs/plan.h"
#include "nodes/age_format.h"

namespace hab {

struct SourceResult {
  std::string name;
  std::string type;
  std::string archive_key;  // relative to the destination root
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
  // The outcome as the run log and `status` name it: ok, ok_with_warnings
  // (committed, but something was not read as it should: a file changed
  // while it was read), failed, cancelled.
  std::string Outcome() const;
};

struct BackupResult {
  std::vector<SourceResult> sources;
  std::vector<std::string> warnings;  // run-level (not tied to one source)
  std::vector<std::string> swept;     // stale leftovers of interrupted runs removed
  uint64_t memory_peak = 0;
  bool ok() const;
};

// Opens the destination of `spec` at `root` (the test fault decorator
// included when HOSTATLAS_BACKUP_FAULT asks for one).
absl::StatusOr<std::unique_ptr<Destination>> OpenDestination(const BackupSpec& spec, const PlanContext& pc,
                                                              const std::string& root, bool preflight = false);

// Fills pc.estimates: a files source is walked, or (local destination, the
// source on ext4 or tmpfs) bounded by its filesystem's used space, which
// pre-flight replaces by a walk only if the bound does not fit.
void EstimateSources(const BackupSpec& spec, PlanContext& pc);

struct PreflightRequest {
  const ConfigReport* config = nullptr;  // which parts of the spec are valid (null: all)
  bool dry_run = false;                  // touch nothing (no probe object, no folder)
};
// Every check, independent of the others (engine/preflight.h). Stops early
// (with what it has) when pc.cancel becomes true. May replace bounds in
// pc.estimates by walked sizes (free-space check).
PreflightReport Preflight(const BackupSpec& spec, PlanContext& pc, const PreflightRequest& request);

// Runs `plan` (built by BuildBackupPlan from the same spec and context),
// then retention. Leftovers of interrupted runs of these sources are swept
// first.
BackupResult RunBackup(const BackupSpec& spec, const PlanContext& pc, const GraphPlan& plan,
                       const std::atomic<bool>& cancel);

// What retention would do after this run (a dry run shows it): per source,
// the archives there now, which it would delete and why the rest stay.
struct RetentionPreview {
  std::string source;
  size_t existing = 0;
  std::vector<std::string> would_delete;  // oldest first
  size_t kept = 0;                        // of the existing ones
};
absl::StatusOr<std::vector<RetentionPreview>> PreviewRetention(const BackupSpec& spec, const PlanContext& pc,
                                                               const GraphPlan& plan);

// The recipients archives are encrypted to: the configured ones, or the
// identity file's.
absl::StatusOr<std::vector<age::X25519Recipient>> Recipients(const BackupSpec& spec);

}  // namespace hab

// Source kinds: files, postgres, mysql (and whatever comes next), each in
// its own folder, reached through the registry (sources/registry.h) by the
// config's `type:`, never through a type string compared elsewhere.
//
// A SourceKind parses its config block into a SourceConfig (one configured
// source) and knows what an archive of its kind is: its extension, how a
// restore writes it out and how deep verification checks it, from the
// archive alone (restore needs no config beyond the destination). A
// SourceConfig runs its pre-flight checks, estimates its size, describes
// itself for the plan (never with a secret) and opens its producer node.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/config_node.h"
#include "engine/node.h"
#include "engine/preflight.h"
#include "nodes/plain_sink.h"

namespace hab {

// What a source's producer reports while it runs (read by the run log).
struct SourceStats {
  std::atomic<uint64_t> stream_bytes{0};  // bytes of the stream produced (tar stream, dump)
  std::atomic<uint64_t> members{0};       // tar members (0 for dumps)
  std::atomic<uint64_t> file_bytes{0};    // file data read (files)
};

struct SourceOpenOptions {
  size_t chunk_bytes = 4 << 20;
  std::shared_ptr<SourceStats> stats;
  const std::atomic<bool>* cancel = nullptr;
};

struct SizeEstimate {
  uint64_t bytes = 0;    // 0: unknown
  bool bound = false;    // an upper bound from the filesystem, not a walk
  bool known() const { return bytes > 0 || bound; }
};

struct EstimateOptions {
  // The destination's local directory, when it is one: a files source on
  // the same host may then use its filesystem's used space as an upper
  // bound instead of walking the tree (see FilesSourceConfig).
  bool allow_filesystem_bound = false;
  int parallelism = 1;
  const std::atomic<bool>* cancel = nullptr;
};

class SourceKind;

class SourceConfig {
 public:
  SourceConfig(std::string name, const SourceKind* kind) : name_(std::move(name)), kind_(kind) {}
  virtual ~SourceConfig() = default;
  const std::string& name() const { return name_; }
  const SourceKind& kind() const { return *kind_; }

  // Node parameters for the plan ("paths", "host", ...); never a secret
  // (a password is "env:NAME" / "file:PATH").
  virtual std::vector<std::pair<std::string, std::string>> PlanParams() const = 0;
  // Adds this source's checks (paths readable, credentials, tools, server).
  virtual void Preflight(PreflightReport& report, const PreflightOptions& options) const = 0;
  virtual SizeEstimate Estimate(const EstimateOptions& options) const { return {}; }
  // Walks for an exact estimate when a bound was not good enough.
  virtual SizeEstimate EstimateExact(const EstimateOptions& options) const { return Estimate(options); }
  // Local paths the source reads (files), for the scheduling units'
  // sandbox (a source under /tmp needs the host's /tmp).
  virtual std::vector<std::string> LocalPaths() const { return {}; }
  // The producer node (not started).
  virtual absl::StatusOr<std::unique_ptr<Source>> Open(const SourceOpenOptions& options) const = 0;

 private:
  std::string name_;
  const SourceKind* kind_;
};

class SourceKind {
 public:
  virtual ~SourceKind() = default;
  virtual absl::string_view type() const = 0;  // "files"
  virtual std::vector<absl::string_view> aliases() const { return {}; }  // "mariadb"
  virtual absl::string_view extension() const = 0;  // archive extension: "tar"
  virtual absl::string_view node_kind() const = 0;  // the producer's plan node kind: "tar"
  // Parses the block of sources[i] (`type` and `name` are read already).
  virtual std::unique_ptr<SourceConfig> Parse(std::string name, ConfigNode& block) const = 0;

  // Restore of an archive of this kind into `dir` for `source`:
  virtual std::string RestorePath(const std::string& dir, const std::string& source) const = 0;
  virtual absl::StatusOr<std::unique_ptr<PlainSink>> OpenRestore(const std::string& dir,
                                                                 const std::string& source) const = 0;
  // The command that loads a restored dump ("" when there is none).
  virtual std::string LoadHint(const std::string& path) const { return ""; }
  // The unit of OpenRestore's Commit() count: "members" or "bytes".
  virtual absl::string_view restore_unit() const = 0;

  // Deep verification of the plain stream; Commit() returns its count.
  virtual absl::StatusOr<std::unique_ptr<PlainSink>> OpenVerifier() const = 0;
  // Whether that count must equal SourceStats::members of the backup (tar).
  virtual bool verify_counts_members() const { return false; }
  // Whether the count replaces `members` in the run log (pg TOC entries).
  virtual bool verify_count_is_members() const { return false; }
};

}  // namespace hab

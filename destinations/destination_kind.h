// Destination kinds: local, s3 (and sftp), each in its own folder, reached
// through the registry (destinations/registry.h) by the config's `type:`.
//
// A DestinationKind parses its config block into a DestinationConfig; that
// describes the destination for the plan (no secret), names its commit
// protocol, says what memory its writers and readers need under the budget,
// and opens a Destination at a root (the configured path or prefix with its
// templates expanded up to the dated part; see destinations/path_template.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/config_node.h"
#include "engine/destination.h"

namespace hab {

struct DestinationOpenOptions {
  std::string root;  // expanded
  const std::atomic<bool>* cancel = nullptr;
  // Pre-flight: a network destination tries once, with a short timeout.
  bool preflight = false;
};

// A writer's (or reader's) fixed buffers under the memory budget, and the
// request size and count they were sized for (WriteOptions / ReadOptions).
struct StreamMemory {
  uint64_t fixed_bytes = 0;
  int concurrency = 1;         // requests in flight
  uint64_t request_bytes = 0;  // bytes per request buffer (S3 part or range); 0: the kind's own
};

class DestinationConfig {
 public:
  virtual ~DestinationConfig() = default;
  virtual absl::string_view type() const = 0;
  // The configured path or prefix, templates unexpanded.
  virtual const std::string& root_template() const = 0;
  // For the plan and messages: "local:/mnt/backups/host"; never a secret.
  virtual std::string Describe(const std::string& root) const = 0;
  // How a write becomes visible: ".partial+rename", "CompleteMultipartUpload".
  virtual std::string CommitProtocol() const = 0;
  // The writer's buffers for one archive of about `size_hint` bytes, with at
  // most `max_concurrency` requests in flight, in `max_bytes` if the kind
  // can (fewer requests, smaller ones within its protocol's limits).
  virtual StreamMemory Writer(uint64_t size_hint, int max_concurrency, uint64_t max_bytes) const {
    return {};
  }
  // The same for one reader (restore, deep verification).
  virtual StreamMemory Reader(int max_concurrency, uint64_t max_bytes) const { return {}; }
  // Requests in flight the config asks for (S3 `concurrency`).
  virtual int concurrency() const { return 1; }
  // A local directory: free space can be checked and a files source on its
  // host may be bounded by filesystem usage. Network kinds: false.
  virtual bool is_local() const { return false; }
  // Whether writers size their parts from the source's size estimate (S3):
  // then a filesystem bound is too coarse and the tree is walked.
  virtual bool needs_exact_size() const { return false; }
  // Config keys holding an inline secret ("destination.secret_access_key"),
  // for the config-file mode warning.
  virtual std::vector<std::string> inline_secrets() const { return {}; }
  virtual absl::StatusOr<std::unique_ptr<Destination>> Open(const DestinationOpenOptions& options) const = 0;
};

class DestinationKind {
 public:
  virtual ~DestinationKind() = default;
  virtual absl::string_view type() const = 0;
  // Parses the `destination:` block (`type` is read already).
  virtual std::unique_ptr<DestinationConfig> Parse(ConfigNode& block) const = 0;
};

}  // namespace hab

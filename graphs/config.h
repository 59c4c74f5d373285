// Config: backup.yml -> validated BackupSpec. The only YAML user: source
// and destination kinds read their own blocks through engine/config_node.h.
//
// Every problem is collected in one pass (unknown and repeated keys, wrong
// types, values out of range, missing required keys, an invalid age
// recipient, unknown templates), each with file:line:col and the key path,
// so a broken config is fixed in one round. A value that fails validation
// does not stop the independent pre-flight checks: ParseConfigReport keeps
// the parts that are valid and says which are not. Secrets (S3 keys) are
// never copied into messages.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "destinations/destination_kind.h"
#include "sources/source_kind.h"

namespace hab {

struct BackupSpec {
  std::string config_path;
  std::string schedule;  // 5-field cron, validated (graphs/schedule.h)
  std::vector<std::shared_ptr<const SourceConfig>> sources;
  std::shared_ptr<const DestinationConfig> destination;
  std::vector<std::string> recipients;  // age1...
  std::string identity_file;
  int zstd_level = 3;
  int keep_last = 0;  // 0: retention off
  std::string verification = "size";  // none | size | deep
  std::string heartbeat_slug;
  std::string server_uuid;  // hostatlas.server_uuid: sent unchanged in the run log
  std::vector<std::string> pre_hooks, post_hooks;
  int64_t hook_timeout_seconds = 300;
  uint64_t memory_limit = 256ull << 20;
  int parallelism = 0;  // 0: all cores (set by the parser)
  std::string staging_dir;
  // "file:line:col: key: message" lines that do not fail the config
  // (pre-flight shows them as warnings).
  std::vector<std::string> warnings;
};

// What the parser made of a file: the spec with every valid part, the
// problems (one "file:line:col: key: message" line each) and which parts
// are usable for the independent pre-flight checks.
struct ConfigReport {
  BackupSpec spec;
  std::vector<std::string> problems;
  std::vector<bool> source_valid;  // per spec.sources entry
  bool destination_valid = false;
  bool encryption_valid = false;
  bool hooks_valid = false;
  bool ok() const { return problems.empty(); }
};

// Source names: 1-100 of [A-Za-z0-9._-], not starting with '.' or '-'. The
// same rule gates every name parsed from an archive key, so nothing read
// from a destination listing or from `restore --from` can become a path
// component such as "..".
bool ValidSourceName(absl::string_view name);
// Heartbeat slugs: letters, digits, '_' and '-'.
bool ValidHeartbeatSlug(absl::string_view slug);
// 8-4-4-4-12 hex digits.
bool ValidUuid(absl::string_view s);

// Parses "64MiB", "1GiB", "512KiB", "1048576", "10MB" (decimal) into bytes.
// kInvalidArgument for text that is not a size, and "is too large" past
// 2^64 - 1 bytes.
absl::StatusOr<uint64_t> ParseSize(const std::string& text);

// kInvalidArgument only when the file cannot be read or is not YAML at all;
// per-field problems are in the report.
absl::StatusOr<ConfigReport> LoadConfigReport(const std::string& path);
absl::StatusOr<ConfigReport> ParseConfigReport(const std::string& yaml_text, const std::string& path);
// Strict: any problem is kInvalidArgument listing all of them, one per line.
absl::StatusOr<BackupSpec> LoadConfig(const std::string& path);
absl::StatusOr<BackupSpec> ParseConfig(const std::string& yaml_text, const std::string& path);

// The full commented reference config (`example-config --full`): every
// key of every source and destination kind; docs/config.md shows the same
// text (a test keeps them equal).
const std::string& FullReferenceConfig();

// The embedded default: back up a directory to a local directory.
std::string DefaultConfigYaml(const std::string& source_dir, const std::string& dest_dir,
                              const std::string& recipient);

}  // namespace hab

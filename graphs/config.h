// Config: backup.yml -> validated BackupSpec. The only yaml-cpp user.
//
// Every problem is collected in one pass (unknown keys, wrong types, values
// out of range, missing required keys, an invalid age recipient), each with
// file:line:col and the key path, so a broken config is fixed in one round.
// Secrets (S3 keys, inline passwords) are never copied into messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace hab {

struct ConfigProblem {
  int line = 0;  // 1-based; 0 when not tied to a position
  int column = 0;
  std::string key;  // "sources[1].paths"
  std::string message;
};

struct SourceSpec {
  std::string type;  // files | postgres | mysql (mariadb is an alias)
  std::string name;
  // files
  std::vector<std::string> paths;
  std::vector<std::string> exclude;
  // databases
  std::string host;
  int port = 0;
  std::string user;
  std::string password_env;
  std::string password_file;
  std::string database;
  int64_t command_timeout_seconds = 21600;
  std::vector<std::string> extra_args;
  std::string extension() const;  // "tar" | "pgdump" | "sql"
};

struct DestinationSpec {
  std::string type;  // local | sftp | s3
  std::string path;  // local, sftp (templated)
  // sftp
  std::string host;
  int port = 22;
  std::string user;
  std::string identity_file;
  std::string known_hosts_file;
  // s3
  std::string endpoint;
  std::string region;
  std::string bucket;
  std::string prefix;  // templated
  std::string access_key_id;
  std::string secret_access_key;  // secret: never printed
  std::string access_key_id_file;
  std::string secret_access_key_file;
  std::optional<bool> path_style;
  uint64_t part_size = 16ull << 20;
  int concurrency = 4;
  // Connect timeout and the longest wait without progress, per request.
  int timeout_seconds = 30;
  std::string ca_file;
};

struct BackupSpec {
  std::string config_path;
  std::string schedule;
  std::vector<SourceSpec> sources;
  DestinationSpec destination;
  std::vector<std::string> recipients;  // age1...
  std::string identity_file;
  int zstd_level = 3;
  int keep_last = 0;  // 0: retention off
  std::string verification = "size";  // none | size | deep
  std::string heartbeat_slug;
  std::vector<std::string> pre_hooks, post_hooks;
  int64_t hook_timeout_seconds = 300;
  uint64_t memory_limit = 256ull << 20;
  int parallelism = 0;  // 0: all cores
  std::string staging_dir;
};

// Source names: 1-100 of [A-Za-z0-9._-], not starting with '.' or '-'. The
// same rule gates every name parsed from an archive key, so nothing read
// from a destination listing or from `restore --from` can become a path
// component such as "..".
bool ValidSourceName(absl::string_view name);

// Parses "64MiB", "1GiB", "512KiB", "1048576", "10MB" (decimal) into bytes.
absl::StatusOr<uint64_t> ParseSize(const std::string& text);

// Loads and validates. On problems returns kInvalidArgument whose message
// lists every problem, one per line, as "file:line:col: key: message".
absl::StatusOr<BackupSpec> LoadConfig(const std::string& path);
absl::StatusOr<BackupSpec> ParseConfig(const std::string& yaml_text, const std::string& path);

// Expands {{ hostname }} and {{ date }} (UTC YYYY-MM-DD).
std::string ExpandTemplate(const std::string& text, const std::string& hostname, int64_t now_unix);

// The embedded default: back up a directory to a local directory.
std::string DefaultConfigYaml(const std::string& source_dir, const std::string& dest_dir,
                              const std::string& recipient);

}  // namespace hab

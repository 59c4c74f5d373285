// GraphPlan: the config compiled into plain data (typed nodes, parameters,
// edges), before anything runs. `run --dry-run` prints it; backup.cc turns it
// into an engine Graph. Parameters never hold secrets: credentials are
// referenced by where they come from (env var name, file path), and inline
// secrets print as "<redacted>".
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graphs/config.h"

namespace hab {

struct PlanNode {
  std::string id;    // "webroot/zstd"
  std::string kind;  // tar | pg_dump | mysqldump | zstd | chunker | age | store | ...
  int concurrency = 1;
  std::vector<std::pair<std::string, std::string>> params;
};

struct PlanBranch {
  std::string source;       // source name
  std::string source_type;  // files | postgres | mysql
  std::string archive_key;  // full key at the destination
  std::vector<PlanNode> nodes;  // in stream order
};

struct GraphPlan {
  std::string direction;  // backup | restore
  std::string destination;  // Describe() of the destination
  uint64_t memory_limit = 0;
  int parallelism = 1;
  size_t chunk_bytes = 0;
  std::vector<PlanBranch> branches;
};

// Archive naming: "hostatlas-backup-<source>-<YYYYMMDDTHHMMSSZ>.<ext>.zst.age".
std::string ArchiveName(const std::string& source, const std::string& ext, int64_t now_unix);
struct ParsedArchiveName {
  std::string source;
  std::string timestamp;  // YYYYMMDDTHHMMSSZ
  std::string ext;        // tar | pgdump | sql
};
// Strict: anything else (foreign files, .partial) is nullopt.
std::optional<ParsedArchiveName> ParseArchiveName(const std::string& file_name);

// Chunk size for a memory limit: about 8 source chunks in flight, 64 KiB to 4 MiB.
size_t ChunkBytesFor(uint64_t memory_limit);

struct PlanContext {
  std::string hostname;
  int64_t now_unix = 0;
  // The run's cancellation flag (SIGINT/SIGTERM); network waits and child
  // processes stop when it becomes true. May be null.
  const std::atomic<bool>* cancel = nullptr;
  // Estimated source bytes per source (files: apparent size of the tree;
  // databases: 0, unknown). Empty when not estimated.
  std::vector<uint64_t> estimates;
  // Per source: estimates[i] is an upper bound from the source's filesystem
  // (its used space), not a walk of the tree (see EstimateSources).
  std::vector<bool> estimate_is_bound;
};

GraphPlan BuildBackupPlan(const BackupSpec& spec, const PlanContext& pc);
std::string DestinationRoot(const BackupSpec& spec, const PlanContext& pc);
std::string PrintPlanText(const GraphPlan& plan);
std::string PrintPlanDot(const GraphPlan& plan);

}  // namespace hab

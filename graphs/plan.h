// GraphPlan: the config compiled into plain data: typed nodes, edges and the
// memory arithmetic, before anything runs. It is the only description of
// the pipeline: `run --dry-run` prints it, and graphs/runtime instantiates
// exactly its nodes and edges (a factory per node kind), verification
// included. Restore and deep verification are plans too (the reverse
// branch). Parameters never hold secrets: credentials are referenced by
// where they come from (env var name, file path).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "graphs/archives.h"
#include "graphs/config.h"

namespace hab {

// Typed settings of each node kind (what the runtime's factory reads).
struct SourceStage {
  std::shared_ptr<const SourceConfig> source;
  size_t chunk_bytes = 0;
};
struct ZstdStage {
  int level = 3;
};
struct ChunkerStage {
  size_t unit = 0;
};
struct AgeStage {
  std::vector<std::string> recipients;  // age1...
};
struct StoreStage {
  std::string key;         // relative to the destination root
  uint64_t size_hint = 0;  // the source's estimate (0: unknown)
  StreamMemory writer;     // requests in flight and their size
};
struct VerifyStage {
  std::string mode;  // size | deep
  const SourceKind* kind = nullptr;
};
struct ReadStage {
  std::string key;
  size_t chunk_bytes = 0;
  StreamMemory reader;
};
struct AgeDecryptStage {};
struct UnzstdStage {
  int threads = 1;
  size_t max_frame = 0;  // frames up to this decode in parallel
};
struct ExtractStage {
  const SourceKind* kind = nullptr;
  std::string target_dir;  // "" for verification (nothing is written)
  std::string source;
};
using StageSettings = std::variant<SourceStage, ZstdStage, ChunkerStage, AgeStage, StoreStage, VerifyStage,
                                   ReadStage, AgeDecryptStage, UnzstdStage, ExtractStage>;

struct PlanNode {
  std::string id;    // "webroot/zstd"
  std::string kind;  // tar | pg_dump | mysqldump | zstd | chunker | age | store | verify |
                     // read | age-decrypt | unzstd | extract
  int concurrency = 1;
  std::vector<std::pair<std::string, std::string>> params;  // printed
  StageSettings settings;
};

struct PlanBranch {
  std::string source;       // source name
  std::string source_type;  // files | postgres | mysql
  std::string archive_key;  // relative to the destination root
  std::vector<PlanNode> nodes;
  std::vector<std::pair<std::string, std::string>> edges;  // by node id
  // Memory under the budget (engine/graph.h BranchSpec).
  uint64_t admission_x100 = 300;
  uint64_t fixed_bytes = 0;
  int window_chunks = 0;
  uint64_t footprint_bytes = 0;
  uint64_t estimate_bytes = 0;  // the source's size estimate (0: unknown)
  bool estimate_is_bound = false;  // an upper bound (its filesystem's used space)
};

struct GraphPlan {
  std::string direction;    // backup | restore | verify
  std::string destination;  // Describe() of the destination at the root
  ArchiveLocation location;
  uint64_t memory_limit = 0;
  int parallelism = 1;
  size_t chunk_bytes = 0;
  int concurrent_branches = 1;  // how many branches run at once
  // Set when one branch does not fit the budget (pre-flight reports it).
  std::string memory_problem;
  std::vector<PlanBranch> branches;
};

// Chunk size for a memory limit: about 8 source chunks in flight, 64 KiB to 4 MiB.
size_t ChunkBytesFor(uint64_t memory_limit);

struct PlanContext {
  std::string hostname;
  int64_t now_unix = 0;
  // The run's cancellation flag (SIGINT/SIGTERM); network waits and child
  // processes stop when it becomes true. May be null.
  const std::atomic<bool>* cancel = nullptr;
  // Estimated source bytes per source; empty when not estimated.
  std::vector<SizeEstimate> estimates;
};

GraphPlan BuildBackupPlan(const BackupSpec& spec, const PlanContext& pc);

// One archive to read back: into `target_dir` (restore) or into the
// kind's verifier (target_dir empty).
struct RestoreItemPlan {
  std::string key;
  ParsedArchiveName name;
};
GraphPlan BuildRestorePlan(const BackupSpec& spec, const PlanContext& pc,
                           const std::vector<RestoreItemPlan>& items, const std::string& target_dir);

std::string PrintPlanText(const GraphPlan& plan, bool debug = true);
std::string PrintPlanDot(const GraphPlan& plan);

}  // namespace hab

// Runtime: a GraphPlan becomes an engine Graph, node for node.
//
// Each plan node is made by the factory registered for its kind (the
// stream transforms here; a source kind's producer through its
// SourceConfig; `verify` as a commit step), wrapped in the test fault
// decorator when HOSTATLAS_BACKUP_FAULT names it. The plan's ids, edges
// and memory figures go to the engine unchanged, so what `run --dry-run`
// prints is what runs; Graph::BuiltTopology proves it in a test.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/destination.h"
#include "engine/fault.h"
#include "engine/graph.h"
#include "engine/memory_budget.h"
#include "graphs/plan.h"
#include "nodes/age_format.h"
#include "nodes/decompress_sink.h"
#include "nodes/store_sink.h"
#include "nodes/zstd.h"

namespace hab {

// What one branch reports once it ran (read after Graph::Run).
struct BranchOutputs {
  std::shared_ptr<SourceStats> stats = std::make_shared<SourceStats>();
  std::shared_ptr<ArchiveDigest> digest = std::make_shared<ArchiveDigest>();
  const ZstdCompress* zstd = nullptr;  // owned by the graph
  struct Verification {
    std::string outcome = "none";  // none | ok | failed: <reason>
    uint64_t count = 0;            // deep: the verifier's count
  };
  std::shared_ptr<Verification> verify = std::make_shared<Verification>();
  std::shared_ptr<PlainResult> plain = std::make_shared<PlainResult>();  // restore
};

struct RuntimeContext {
  const BackupSpec* spec = nullptr;
  const PlanContext* pc = nullptr;
  Destination* dest = nullptr;
  MemoryBudget* budget = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  std::vector<age::X25519Recipient> recipients;  // backup
  std::vector<age::X25519Identity> identities;   // restore, deep verification
  std::optional<FaultSpec> fault;
};

struct Instance {
  std::unique_ptr<Graph> graph;
  std::vector<BranchOutputs> outputs;  // per plan branch
  // Per plan branch: OK, or why it could not be built (it is not in the
  // graph then; e.g. a dump tool's version probe failed).
  std::vector<absl::Status> build_errors;
  std::vector<size_t> graph_index;  // plan branch -> graph branch (if built)
};

Instance Instantiate(const GraphPlan& plan, RuntimeContext& rc);

// Reads `key` back through a verify plan (decrypt, decompress, the kind's
// check) under rc's budget; returns the verifier's count.
absl::StatusOr<uint64_t> VerifyArchive(RuntimeContext& rc, const std::string& key,
                                       const ParsedArchiveName& name);

}  // namespace hab

// Graph: runs branches (source -> transforms -> sink) on one oneTBB flow graph.
//
// Design note. Each branch gets a producer thread (Source::Produce may block),
// one TBB node per transform (a multifunction_node with the transform's
// concurrency, a sequencer_node in front of every serial node fed by a
// parallel one, and in front of the sink), and a writer thread for the sink.
// TBB workers therefore never block on I/O or on the memory budget.
//
// Scheduling: branches start in the order added, each when the memory it
// may hold (BranchSpec::footprint_bytes) fits beside the branches running,
// or when none runs; the rest wait for running branches to finish. Its
// fixed bytes are leased (waiting, cancellable) before it starts. So any
// number of sources works under any budget that holds one branch, and
// MaxConcurrentBranches says how many run at once.
//
// Failure: the first error of a branch is stored with the node's name and
// flips the branch's cancelled flag. The producer stops, and every node then
// turns each input into one empty "dropped" placeholder, which keeps the
// sequence dense so no sequencer holds budget forever and other branches
// keep running. A branch's sink is committed only when it has written the
// last chunk and no node of the branch failed; otherwise it is aborted.
// Nothing is committed for a cancelled run.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/memory_budget.h"
#include "engine/node.h"

namespace hab {

struct BranchSpec {
  std::string name;
  // Node ids (the plan's: "web/zstd") beside the nodes; a sink may stand
  // for several plan nodes ("db/unzstd", "db/extract").
  std::string source_id;
  std::unique_ptr<Source> source;
  std::vector<std::string> transform_ids;
  std::vector<std::unique_ptr<Transform>> transforms;
  std::vector<std::string> sink_ids;
  std::unique_ptr<Sink> sink;
  // Run after the sink committed, in order (verification).
  std::vector<std::string> step_ids;
  std::vector<std::unique_ptr<CommitStep>> steps;
  // Admission: budget bytes charged per source byte, x100 (300 = 3x).
  uint64_t admission_x100 = 300;
  // Fixed per-branch buffers (carry buffers, sink buffers), leased at start.
  uint64_t fixed_bytes = 0;
  // At most this many source chunks in flight in this branch; 0: the
  // default, 2 + 2 x parallelism (enough to keep every worker busy). A
  // source that is faster than its branch (tar from the page cache, a
  // restore's reader) would otherwise fill the whole global budget with
  // read-ahead: every page of it touched once for nothing, and data that
  // has left the CPU caches by the time it is used. Measured in
  // docs/performance.md (third session): backups 10-20 % faster, half the
  // RSS.
  int window_chunks = 0;
  // What the branch may hold at most (fixed + window x admitted chunk):
  // the scheduler starts it when this fits beside the running branches.
  uint64_t footprint_bytes = 0;
};

// The nodes and edges of a built graph, by node id, in branch order.
struct Topology {
  std::vector<std::string> nodes;
  std::vector<std::pair<std::string, std::string>> edges;
};

// How many branches of these footprints the scheduler runs at once under
// `limit` when started in order (at least 1).
int MaxConcurrentBranches(const std::vector<uint64_t>& footprints, uint64_t limit);

struct BranchResult {
  std::string name;
  absl::Status status;
  SinkReport report;
  std::vector<std::string> warnings;
  double seconds = 0;
};

class Graph {
 public:
  Graph(MemoryBudget* budget, int parallelism) : budget_(budget), parallelism_(parallelism) {}
  void AddBranch(BranchSpec spec) { branches_.push_back(std::move(spec)); }
  // TBB worker threads that join this run, and any later run of the process,
  // get nice +5 relative to the process (engine/thread_priority). For a
  // restore, where the transforms (age decryption) run ahead of the single
  // extracting sink thread that bounds the run and would otherwise take time
  // slices from it; `restore` runs nothing after it.
  void LowerWorkerPriority() { lower_workers_ = true; }
  // Runs every branch to completion (or cancellation) and returns one result
  // per branch, in the order added. `cancel` may be set from a signal handler.
  std::vector<BranchResult> Run(const std::atomic<bool>& cancel);
  // What Run builds (the same construction, not run): nodes and edges.
  Topology BuiltTopology();

 private:
  MemoryBudget* budget_;
  int parallelism_;
  bool lower_workers_ = false;
  std::vector<BranchSpec> branches_;
};

}  // namespace hab

// Graph: runs branches (source -> transforms -> sink) on one oneTBB flow graph.
//
// Design note. Each branch gets a producer thread (Source::Produce may block),
// one TBB node per transform (a multifunction_node with the transform's
// concurrency, a sequencer_node in front of every serial node fed by a
// parallel one, and in front of the sink), and a writer thread for the sink.
// TBB workers therefore never block on I/O or on the memory budget.
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
  std::unique_ptr<Source> source;
  std::vector<std::unique_ptr<Transform>> transforms;
  std::unique_ptr<Sink> sink;
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
};

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

 private:
  MemoryBudget* budget_;
  int parallelism_;
  bool lower_workers_ = false;
  std::vector<BranchSpec> branches_;
};

}  // namespace hab

// Node interfaces: Source, Transform, Sink, and the per-branch RunContext.
//
// Nodes know nothing of TBB: the engine (engine/graph.h) decides threads,
// ordering and cancellation from Concurrency(), and a node is unit-tested by
// calling its methods directly.
//
//  - Source::Produce runs on a dedicated producer thread (it may block on I/O
//    and on the memory budget) and pushes chunks with `emit`. Exactly one
//    chunk has `last`, and only after the producer has succeeded (a child's
//    exit status included).
//  - Transform::Process does CPU work on a TBB worker. Concurrency() > 1 means
//    Process is called concurrently and must be 1:1 (one Emit per input, same
//    seq); serial transforms see chunks in order and may emit 0..n chunks,
//    which the engine numbers. On in.last a transform flushes and emits
//    exactly one last chunk.
//  - Sink::Write runs on a dedicated writer thread, in order. Commit makes
//    the result visible and is called only when the whole branch succeeded;
//    Abort is idempotent and undoes everything Write did.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/chunk.h"

namespace hab {

class RunContext {
 public:
  RunContext(MemoryBudget* budget, const std::atomic<bool>* global_cancel,
             uint64_t admission_bytes_per_input_byte_x100)
      : budget_(budget),
        global_cancel_(global_cancel),
        admission_x100_(admission_bytes_per_input_byte_x100) {}

  // True once the run is interrupted or this branch has failed: long loops
  // check it between chunks.
  bool cancelled() const { return global_cancel_->load() || failed_.load(); }

  // Records the first error of the branch (later ones are dropped) and stops
  // the branch. `where` names the node, e.g. "zstd#2".
  void Fail(absl::string_view where, const absl::Status& status);
  bool failed() const { return failed_.load(); }
  absl::Status status() const;

  // A chunk of `capacity` bytes for a source, admitted against the budget for
  // everything it can grow into downstream. Blocks (producer threads only).
  absl::StatusOr<Chunk> NewSourceChunk(size_t capacity);
  // Caps this branch's source chunks in flight (0: no cap; the engine sets
  // it, see BranchSpec::window_chunks). Set before the run.
  void SetWindow(int chunks) { window_ = chunks > 0 ? std::make_shared<MemoryBudget>(chunks) : nullptr; }
  MemoryBudget& budget() { return *budget_; }

  // Per-item problems that do not fail the run (a file vanished during tar).
  void Warn(std::string message);
  std::vector<std::string> warnings() const;

 private:
  MemoryBudget* budget_;
  std::shared_ptr<MemoryBudget> window_;
  const std::atomic<bool>* global_cancel_;
  uint64_t admission_x100_;
  std::atomic<bool> failed_{false};
  mutable absl::Mutex mu_;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> warnings_ ABSL_GUARDED_BY(mu_);
};

class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void Emit(Chunk chunk) = 0;           // a new chunk
  virtual void Forward(const ChunkRef& in) = 0;  // pass the input on unchanged
};

using EmitFn = std::function<absl::Status(Chunk)>;

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string Name() const = 0;
  // Allocates chunks with ctx.NewSourceChunk, fills them, and emits them in
  // order; returns when the stream is complete (after emitting `last`), on
  // error, or early with kCancelled when ctx.cancelled().
  virtual absl::Status Produce(RunContext& ctx, const EmitFn& emit) = 0;
  // Called (from another thread) when the branch is cancelled: stop a child,
  // unblock a read. Must be safe to call at any time, more than once.
  virtual void Stop() noexcept {}
};

class Transform {
 public:
  virtual ~Transform() = default;
  virtual std::string Name() const = 0;
  virtual int Concurrency() const { return 1; }
  virtual absl::Status Process(RunContext& ctx, const ChunkRef& in, Emitter& out) = 0;
  // Called once the branch has drained (Process is never called again):
  // drop per-run caches (compression contexts), so a long run's finished
  // branches do not hold memory the budget does not see.
  virtual void Release() {}
};

struct SinkReport {
  std::string key;         // archive key (object name)
  uint64_t bytes = 0;      // bytes written
};

// CommitStep: work a branch does after its sink committed (verification:
// a stat of the archive, or reading it back). Runs on the branch's writer
// thread, in order; a failure fails the branch (what was committed stays).
class CommitStep {
 public:
  virtual ~CommitStep() = default;
  virtual std::string Name() const = 0;
  virtual absl::Status Run(RunContext& ctx, const SinkReport& report) = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string Name() const = 0;
  virtual absl::Status Write(RunContext& ctx, const Chunk& chunk) = 0;
  virtual absl::StatusOr<SinkReport> Commit(RunContext& ctx) = 0;
  virtual void Abort() noexcept = 0;
};

}  // namespace hab

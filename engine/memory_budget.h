// MemoryBudget: one global limit for every in-flight buffer of a run.
//
// Design note. The budget works by admission: a source acquires a lease for
// the worst case its chunk can grow to on the way to the sink (input, zstd
// output, age output) before reading it, and every chunk derived from that
// input shares the lease (Chunk::lease). The lease returns to the budget when
// the last derived chunk is written or dropped. Fixed per-branch buffers
// (chunker carry, sink buffers) are leased once when the branch starts.
// Because nothing downstream ever waits for memory, every admitted chunk can
// always finish, so admission cannot deadlock.
//
// Acquire blocks, so only producer threads call it, never TBB workers.
// TryAcquire never blocks; failing (kResourceExhausted) there is an
// accounting bug or a limit too small for the plan. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace hab {

class MemoryBudget;

// MemoryLease: bytes held against a budget; released on destruction.
class MemoryLease {
 public:
  MemoryLease(MemoryBudget* budget, uint64_t bytes) : budget_(budget), bytes_(bytes) {}
  ~MemoryLease();
  MemoryLease(const MemoryLease&) = delete;
  MemoryLease& operator=(const MemoryLease&) = delete;
  uint64_t bytes() const { return bytes_; }

 private:
  MemoryBudget* budget_;
  uint64_t bytes_;
};

using LeaseRef = std::shared_ptr<MemoryLease>;

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t limit_bytes) : limit_(limit_bytes) {}

  // Waits until `bytes` fit. Returns kCancelled as soon as `cancelled()` is
  // true, kInvalidArgument if `bytes` exceeds the whole limit.
  absl::StatusOr<LeaseRef> Acquire(uint64_t bytes, const std::function<bool()>& cancelled);
  absl::StatusOr<LeaseRef> TryAcquire(uint64_t bytes);

  uint64_t limit() const { return limit_; }
  uint64_t in_use() const;
  uint64_t peak() const;

 private:
  friend class MemoryLease;
  void Release(uint64_t bytes);

  const uint64_t limit_;
  mutable absl::Mutex mu_;
  absl::CondVar freed_;
  uint64_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t peak_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hab

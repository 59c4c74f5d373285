#include "engine/memory_budget.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace hab {

MemoryLease::~MemoryLease() {
  if (budget_ != nullptr) budget_->Release(bytes_);
}

absl::StatusOr<LeaseRef> MemoryBudget::Acquire(uint64_t bytes,
                                               const std::function<bool()>& cancelled) {
  if (bytes > limit_) {
    return absl::InvalidArgumentError(absl::StrCat("a single buffer of ", bytes,
                                                   " bytes exceeds the memory limit of ", limit_));
  }
  absl::MutexLock lock(&mu_);
  while (in_use_ + bytes > limit_) {
    if (cancelled()) return absl::CancelledError("cancelled while waiting for memory");
    // Cancellation is a flag, not a signal on this condvar: poll it.
    freed_.WaitWithTimeout(&mu_, absl::Milliseconds(50));
  }
  in_use_ += bytes;
  if (in_use_ > peak_) peak_ = in_use_;
  return std::make_shared<MemoryLease>(this, bytes);
}

absl::StatusOr<LeaseRef> MemoryBudget::TryAcquire(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (in_use_ + bytes > limit_) {
    return absl::ResourceExhaustedError(absl::StrCat("memory budget exhausted: ", in_use_, " of ",
                                                     limit_, " bytes in use, ", bytes, " asked"));
  }
  in_use_ += bytes;
  if (in_use_ > peak_) peak_ = in_use_;
  return std::make_shared<MemoryLease>(this, bytes);
}

void MemoryBudget::Release(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  in_use_ -= bytes;
  freed_.SignalAll();
}

uint64_t MemoryBudget::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

uint64_t MemoryBudget::peak() const {
  absl::MutexLock lock(&mu_);
  return peak_;
}

}  // namespace hab

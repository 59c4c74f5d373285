// BlockingQueue: an unbounded (or bounded) MPMC queue for dedicated threads.
// Pop blocks until an item arrives or the queue is closed and drained. Push
// on a bounded queue blocks while full, so only non-TBB threads may use a
// bounded queue's Push; the engine's sink queues are unbounded (their
// contents are already bounded by the memory budget's admission).
#pragma once

#include <cstddef>
#include <deque>
#include <limits>
#include <optional>

#include "absl/synchronization/mutex.h"

namespace hab {

template <class T>
class BlockingQueue {
 public:
  explicit BlockingQueue(size_t capacity = std::numeric_limits<size_t>::max())
      : capacity_(capacity) {}

  // Returns false if the queue was closed (the item is dropped).
  bool Push(T item) {
    absl::MutexLock lock(&mu_);
    auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || items_.size() < capacity_;
    };
    mu_.Await(absl::Condition(&has_room));
    if (closed_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  std::optional<T> Pop() {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || !items_.empty(); };
    mu_.Await(absl::Condition(&ready));
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  // Wakes every waiter; Pop drains what is left, then returns nullopt.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hab

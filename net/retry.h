// Retry with back-off: the one loop every network client here uses.
//
// An attempt is repeated only when its status is transient (IsTransient:
// kUnavailable, kDeadlineExceeded) and attempts remain; between attempts it
// sleeps either the policy's fixed delays (HostAtlas pings: 1 s, then 3 s)
// or exponential back-off with full jitter (S3: uniform in [0, cap), cap
// doubling from base_delay up to max_delay). Sleeps wake early on
// cancellation, which ends the loop with kCancelled. The worst case of a
// call is therefore max_attempts x (the attempt's own bound) + the delays.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace hab {

struct RetryPolicy {
  int max_attempts = 6;
  absl::Duration base_delay = absl::Milliseconds(200);
  absl::Duration max_delay = absl::Seconds(20);
  // When not empty: the delay before attempt i+2 is fixed_delays[i] (the
  // last one repeats), no jitter.
  std::vector<absl::Duration> fixed_delays = {};
};

// Sleeps `d`, waking every 50 ms to look at `cancel` (may be null).
// Returns false when cancelled.
bool SleepUnlessCancelled(absl::Duration d, const std::atomic<bool>* cancel);

// Runs `attempt` (which returns its status; the caller keeps any result)
// under `policy`. Returns the last attempt's status, or kCancelled.
absl::Status RetryLoop(const RetryPolicy& policy, const std::atomic<bool>* cancel,
                       const std::function<absl::Status()>& attempt);

}  // namespace hab

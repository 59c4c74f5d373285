#include "net/retry.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/http.h"

namespace hab {

bool SleepUnlessCancelled(absl::Duration d, const std::atomic<bool>* cancel) {
  absl::Time end = absl::Now() + d;
  while (true) {
    if (cancel != nullptr && cancel->load()) return false;
    absl::Duration left = end - absl::Now();
    if (left <= absl::ZeroDuration()) return true;
    absl::SleepFor(std::min(left, absl::Milliseconds(50)));
  }
}

absl::Status RetryLoop(const RetryPolicy& policy, const std::atomic<bool>* cancel,
                       const std::function<absl::Status()>& attempt) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  absl::Duration cap = policy.base_delay;
  for (int n = 1;; ++n) {
    absl::Status st = attempt();
    if (st.ok() || !IsTransient(st) || n >= policy.max_attempts) return st;
    absl::Duration delay;
    if (!policy.fixed_delays.empty()) {
      delay = policy.fixed_delays[std::min<size_t>(n - 1, policy.fixed_delays.size() - 1)];
    } else {
      std::uniform_int_distribution<int64_t> d(0, absl::ToInt64Milliseconds(cap));
      delay = absl::Milliseconds(d(rng));
      cap = std::min(cap * 2, policy.max_delay);
    }
    if (!SleepUnlessCancelled(delay, cancel)) {
      return absl::CancelledError(absl::StrCat("cancelled while waiting to retry: ", st.message()));
    }
  }
}

}  // namespace hab

#include "integrations/hostatlas/login.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace hab::hostatlas {

absl::StatusOr<MintedKey> DeviceLogin(Client& client, Client& mint_client, const std::string& hostname,
                                      const LoginCallbacks& cb, const std::atomic<bool>* cancel) {
  auto cancelled = [&] { return cancel != nullptr && cancel->load(); };
  auto dc = client.RequestDeviceCode();
  if (!dc.ok()) return dc.status();
  cb.show(*dc);
  const absl::Time deadline = absl::Now() + absl::Seconds(dc->expires_in);
  absl::Duration interval = absl::Seconds(dc->interval);
  int slow_downs = 0, failures = 0;
  absl::Duration extra;  // back-off after failed polls
  absl::Status last_failure;
  while (true) {
    // Never sleep past the code's expiry.
    absl::Duration wait = std::min(interval + extra, std::max(deadline - absl::Now(), absl::ZeroDuration()));
    if (!cb.sleep(wait)) return absl::CancelledError("login cancelled");
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          last_failure.ok() ? "the code expired, run login again"
                            : absl::StrCat("the code expired, run login again (last problem: ",
                                           last_failure.message(), ")"));
    }
    Poll p = client.PollToken(dc->device_code);
    if (cancelled()) return absl::CancelledError("login cancelled");
    if (p.state != PollState::kSlowDown) slow_downs = 0;
    if (p.state != PollState::kRetry) {
      failures = 0;
      extra = absl::ZeroDuration();
    }
    switch (p.state) {
      case PollState::kPending:
        continue;
      case PollState::kSlowDown:
        interval += absl::Seconds(5);
        if (++slow_downs >= 3) {
          return absl::FailedPreconditionError(absl::StrCat(
              "the server answered slow_down ", slow_downs,
              " times in a row although polls were spaced by the interval it asked for; is this host's clock "
              "running fast or jumping (timedatectl status)? run login again"));
        }
        continue;
      case PollState::kDenied:
        return absl::PermissionDeniedError("login was denied");
      case PollState::kExpired:
        return absl::DeadlineExceededError("the code expired, run login again");
      case PollState::kFailed:
        return absl::Status(p.reason.code(), absl::StrCat("login failed: ", p.reason.message()));
      case PollState::kRetry:
        last_failure = p.reason;
        ++failures;
        extra = std::min(absl::Seconds(1 << std::min(failures, 5)), absl::Seconds(30));
        continue;
      case PollState::kToken:
        return mint_client.MintKey(p.access_token, hostname);
    }
  }
}

}  // namespace hab::hostatlas

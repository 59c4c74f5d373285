// `hostatlas-backup login`: the device authorization grant (RFC 8628) of
// docs/hostatlas.md, then the self-minted key. The caller shows the code
// (and may open a browser) and writes auth.yml.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "integrations/hostatlas/api.h"

namespace hab::hostatlas {

struct LoginCallbacks {
  // Called once with the code to show (user_code, verification URI).
  std::function<void(const DeviceCode&)> show;
  // Sleeps, waking early on cancellation; false when cancelled. Tests and
  // the CLI pass SleepUnlessCancelled.
  std::function<bool(absl::Duration)> sleep;
};

// Polls no more often than `interval` (+5 s per slow_down) until the code
// is approved, denied (kPermissionDenied "login was denied") or expired
// (kDeadlineExceeded "the code expired, run login again"); gives up after
// 3 slow_down answers in a row (kFailedPrecondition, about the clock);
// an answer asking again cannot change (another OAuth error, 401/403)
// ends it with the server's message; other failures (5xx, bad JSON, the
// network) are retried with back-off until the code expires.
// Cancellation while waiting: kCancelled. Then mints the key with
// `mint_client`, which must not be cancellable (a key the server made
// must reach the caller, who revokes it if the user cancelled meanwhile).
absl::StatusOr<MintedKey> DeviceLogin(Client& client, Client& mint_client, const std::string& hostname,
                                      const LoginCallbacks& cb, const std::atomic<bool>* cancel);

}  // namespace hab::hostatlas

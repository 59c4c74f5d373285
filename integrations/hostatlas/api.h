// The HostAtlas API as the backup client sees it (../shared/spec/
// hostatlas-api.md, copied into docs/hostatlas.md): device login, key
// minting and revocation, heartbeats, pings, the run push. One call, one
// request: retries and what a failure means for a run are the caller's
// (login.h, reporter.h).
//
// Built on net/HttpClient, so every request has the transport policy of
// the house (https except to loopback, TLS always verified, no redirects),
// a 5 s connect timeout, a total bound (30 s for API calls, 10 s for a
// ping), the User-Agent "hostatlas-backup/<version> (<os>; <arch>)" and
// cancellation. An error names the operation and carries the server's
// `message` (or the HTTP status line), never the key, the access token or
// the device code.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/secret_bytes.h"
#include "net/http.h"

namespace hab::hostatlas {

inline constexpr char kDefaultAuthUrl[] = "https://auth.hostatlas.app";
inline constexpr char kDefaultApiUrl[] = "https://api.hostatlas.app";

// The auth base URL: `flag`, else $HOSTATLAS_AUTH_URL, else the default.
// The api base URL: `flag`, else $HOSTATLAS_API_URL, else `from_auth_file`,
// else the default. Both checked (https, or http to loopback) and returned
// without a trailing '/'; kInvalidArgument names the setting.
absl::StatusOr<std::string> AuthBaseUrl(const std::string& flag);
absl::StatusOr<std::string> ApiBaseUrl(const std::string& flag, const std::string& from_auth_file);

struct DeviceCode {
  SecretString device_code;
  std::string user_code;
  std::string verification_uri;           // the _complete one where given
  int expires_in = 900;
  int interval = 5;
};

// kRetry: worth asking again (5xx, bad JSON, the network); kFailed: an
// answer that asking again will not change (another OAuth error, 401/403).
enum class PollState { kPending, kSlowDown, kDenied, kExpired, kRetry, kFailed, kToken };
struct Poll {
  PollState state = PollState::kRetry;
  SecretString access_token;  // kToken
  absl::Status reason;        // kRetry: what went wrong
};

struct MintedKey {
  SecretString key;  // "ha_..."
  std::string id, name, account;
};

struct Heartbeat {
  std::string slug, name, status, last_ping_at, ping_url;  // last_ping_at "" when null
};

enum class PingEvent { kStart, kOk, kFail };
const char* PingEventName(PingEvent e);  // "start" | "ok" | "fail"

struct PushAnswer {
  long code = 0;  // 201 new, 200 already known
  std::string id, url;
};

struct ClientOptions {
  std::string auth_url, api_url;  // checked base URLs (either may be empty when unused)
  int api_timeout_seconds = 30;
  int ping_timeout_seconds = 10;
  const std::atomic<bool>* cancel = nullptr;
};

class Client {
 public:
  explicit Client(ClientOptions options);

  // The key sent as Bearer token by the keyed calls (and by pings).
  void SetKey(SecretString key) { key_ = std::move(key); }
  bool has_key() const { return !key_.empty(); }
  // Bounds for the calls that follow: no request outlives `deadline`
  // (a call with less than 0.2 s left is not sent: kDeadlineExceeded),
  // and `cancel` (besides the client's own flag) aborts them.
  void SetBounds(absl::Time deadline, const std::atomic<bool>* cancel) {
    deadline_ = deadline;
    request_cancel_ = cancel;
  }
  const std::string& api_url() const { return o_.api_url; }

  absl::StatusOr<DeviceCode> RequestDeviceCode();
  Poll PollToken(const SecretString& device_code);
  absl::StatusOr<MintedKey> MintKey(const SecretString& access_token, const std::string& hostname);
  absl::Status RevokeKey(const std::string& key_id);

  absl::StatusOr<std::vector<Heartbeat>> ListHeartbeats();
  absl::StatusOr<Heartbeat> CreateHeartbeat(const std::string& name);
  // kNotFound when the account has no such heartbeat.
  absl::StatusOr<Heartbeat> GetHeartbeat(const std::string& slug);
  // HEAD /ping/{slug}: kNotFound when unknown (the check without a key).
  absl::Status CheckPingUrl(const std::string& slug);
  // One attempt. `body` is cut to 10,000 bytes. The key goes along when
  // there is one and `with_key`.
  absl::Status Ping(const std::string& slug, PingEvent event, const std::string& run_id, absl::string_view body,
                    bool with_key = true);
  absl::StatusOr<PushAnswer> PushRun(const std::string& run_id, absl::string_view run_log_json);

 private:
  absl::StatusOr<HttpResponse> Call(HttpClient& http, const char* op, const std::string& method,
                                    const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
                                    absl::string_view body, const SecretString* bearer);
  ClientOptions o_;
  std::unique_ptr<HttpClient> api_, ping_;
  SecretString key_;
  absl::Time deadline_ = absl::InfiniteFuture();
  const std::atomic<bool>* request_cancel_ = nullptr;
};

// The status for a non-2xx answer: HttpCodeStatus's code, the message
// "<op>: <server's message or status line> (HTTP <code>)".
absl::Status AnswerStatus(absl::string_view op, const HttpResponse& response);

// Cuts `text` to at most `max` bytes at a UTF-8 character boundary.
std::string CutUtf8(absl::string_view text, size_t max);

}  // namespace hab::hostatlas

// HttpClient: the one HTTP transport (libcurl), shared by every client
// here: S3 adds a SigV4 signing step above it, the HostAtlas client a
// Bearer header. Nobody else includes curl.
//
// What every request gets:
//  - connection, DNS and TLS-session reuse across requests and threads (a
//    curl share object per client);
//  - TLS verification always on (peer and host name); `ca_file` names the
//    CA bundle, else $SSL_CERT_FILE, else $CURL_CA_BUNDLE, else the first
//    of the distributions' usual bundle paths ($SSL_CERT_DIR adds a
//    directory); nothing turns verification off;
//  - https only, plain http only when the address curl connected to is a
//    loopback address (checked on the live connection, after DNS: a name
//    that resolves elsewhere is refused); no redirects followed;
//  - bounded waits: `connect_timeout_seconds` for TCP + TLS, and no
//    `stall_timeout_seconds` without a byte moving in either direction
//    (a server that accepts and never answers fails after that); an
//    optional total bound;
//  - cancellation: when `*cancel` becomes true the transfer is aborted
//    within about a second (kCancelled), even while it waits;
//  - errors classified once, here: DNS and connection failures, resets and
//    timeouts are kUnavailable / kDeadlineExceeded (transient), TLS problems
//    kFailedPrecondition (with a hint when the endpoint speaks plain HTTP),
//    cancellation kCancelled. HTTP statuses are returned as responses;
//    HttpCodeStatus maps them for callers.
//
// Thread-safe: Do may be called from several threads at once.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hab {

struct HttpRequest {
  std::string op;      // what this request does, for messages ("PutObject")
  std::string method;  // GET PUT POST DELETE HEAD
  std::string url;     // absolute, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::span<const uint8_t> body;
  // Per request, on top of the client's options: a shorter total bound
  // (0: the client's), and a second flag that aborts this request.
  long timeout_ms = 0;
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  long code = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string status_line;                     // "HTTP/1.1 503 Service Unavailable"
};

struct HttpOptions {
  int connect_timeout_seconds = 30;
  int stall_timeout_seconds = 30;
  int total_timeout_seconds = 0;  // 0: none (progress bounds the wait)
  std::string ca_file;
  std::string user_agent;
  // Set from a signal handler or another thread; may be null.
  const std::atomic<bool>* cancel = nullptr;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // The response for any HTTP status; an error status only when no
  // complete response arrived (see the classes above).
  virtual absl::StatusOr<HttpResponse> Do(const HttpRequest& request) = 0;
};

std::unique_ptr<HttpClient> MakeCurlClient(HttpOptions options);

// The status for an HTTP answer: 2xx OK; 404 kNotFound; 401/403
// kPermissionDenied; 409/412 kFailedPrecondition; 501/505 kUnimplemented;
// 408, 429 and other 5xx kUnavailable (transient); other 4xx
// kInvalidArgument. `text` becomes the message.
absl::Status HttpCodeStatus(long code, absl::string_view text);

// Transient: worth another attempt (kUnavailable, kDeadlineExceeded).
bool IsTransient(const absl::Status& status);

// "hostatlas-backup/<version> (<os>; <arch>)".
std::string DefaultUserAgent();

}  // namespace hab

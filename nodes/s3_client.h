// S3 HTTP layer: libcurl transport, SigV4 signing, error classification,
// retries as a decorator, and the few XML fields we read.
//
// HttpTransport is the interface; CurlTransport performs one request (one
// easy handle per request, so transports are safe to use from several
// threads); RetryingTransport decorates any transport and repeats requests
// that failed transiently (transport errors, 5xx, 429/SlowDown) with
// exponential backoff and full jitter. Permanent errors (4xx) are returned at
// once. Errors name the operation, the key and the server's own <Code> and
// <Message>; no credential ever appears in them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hab {

struct S3Endpoint {
  std::string endpoint;  // "https://abc.r2.cloudflarestorage.com" or "http://127.0.0.1:9000"
  std::string region = "us-east-1";
  std::string bucket;
  bool path_style = true;
  std::string access_key_id;
  std::string secret_access_key;
  std::string ca_file;
  // Whole request; a transfer that moves no byte for min(60 s, this) also
  // times out. Both are transient (retried).
  int timeout_seconds = 300;
};

struct HttpRequest {
  std::string op;      // "PutObject", for messages
  std::string method;  // GET PUT POST DELETE HEAD
  std::string key;     // object key (empty: the bucket itself)
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, signed
  std::span<const uint8_t> body;
  // SHA-256 of `body` in hex when the caller has it already (the S3 writer
  // hashes each part as it fills it); empty: the transport computes it.
  std::string payload_sha256 = {};
};

struct HttpResponse {
  long code = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Returns the response for any HTTP status; a non-OK status only when the
  // request did not complete (DNS, TLS, connection, timeout).
  virtual absl::StatusOr<HttpResponse> Do(const HttpRequest& request) = 0;
};

std::unique_ptr<HttpTransport> MakeCurlTransport(const S3Endpoint& endpoint);

struct RetryPolicy {
  int max_attempts = 6;
  absl::Duration base_delay = absl::Milliseconds(200);
  absl::Duration max_delay = absl::Seconds(20);
};
std::unique_ptr<HttpTransport> MakeRetryingTransport(std::unique_ptr<HttpTransport> inner,
                                                     RetryPolicy policy = {});

// Maps an HTTP response to a status: 2xx (and 206) OK; 404 kNotFound; 401/403
// kPermissionDenied; 409/412 kFailedPrecondition; 501/505 kUnimplemented (never
// retried); 429 and other 5xx kUnavailable; other
// 4xx kInvalidArgument. The message carries `op`, the key and S3's error.
absl::Status HttpStatus(const HttpRequest& request, const HttpResponse& response);
bool IsTransient(const absl::Status& status);

// Minimal XML helpers for S3 responses.
std::string XmlUnescape(absl::string_view s);
std::string XmlEscape(absl::string_view s);
// Every <tag>...</tag> body, in order (not nested-aware; S3 responses do not
// nest a tag inside itself).
std::vector<std::string> XmlAll(absl::string_view xml, absl::string_view tag);
std::string XmlFirst(absl::string_view xml, absl::string_view tag);

// Whether `endpoint` is plain http on loopback (allowed for tests only).
bool IsLoopbackHttp(absl::string_view endpoint);

}  // namespace hab

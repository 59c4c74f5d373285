// S3 request layer: an S3 request (operation, key, query) becomes a signed
// HTTP request on the shared transport (net/http.h), and S3's answers
// become statuses.
//
// S3Transport is the interface the S3 destination talks to (a fake in unit
// tests). MakeSignedTransport builds the URL (path-style or virtual-hosted)
// and signs it with our SigV4 (s3_sigv4.h) on every attempt;
// MakeRetryingTransport decorates any transport and repeats requests that
// failed transiently (transport errors, timeouts, 5xx, 429/SlowDown) per
// net/retry.h. Errors name the operation, the key and S3's own <Code> and
// <Message>; no credential ever appears in them.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "net/http.h"
#include "net/retry.h"

namespace hab {

struct S3Endpoint {
  std::string endpoint;  // "https://abc.r2.cloudflarestorage.com" or "http://127.0.0.1:9000"
  std::string region = "us-east-1";
  std::string bucket;
  bool path_style = true;
  std::string access_key_id;
  std::string secret_access_key;  // wiped by the transport that holds it
  std::string ca_file;
  // Connect timeout, and the longest wait without a byte moving; also
  // bounds how long a stalled request takes to fail (then retried).
  int timeout_seconds = 30;
  const std::atomic<bool>* cancel = nullptr;
};

struct S3Request {
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

class S3Transport {
 public:
  virtual ~S3Transport() = default;
  // The response for any HTTP status; a non-OK status only when the
  // request did not complete (DNS, TLS, connection, timeout, cancelled).
  virtual absl::StatusOr<HttpResponse> Do(const S3Request& request) = 0;
};

// kInvalidArgument when the endpoint breaks the transport policy.
absl::StatusOr<std::unique_ptr<S3Transport>> MakeSignedTransport(const S3Endpoint& endpoint);
std::unique_ptr<S3Transport> MakeRetryingTransport(std::unique_ptr<S3Transport> inner,
                                                   RetryPolicy policy = {},
                                                   const std::atomic<bool>* cancel = nullptr);

// Maps an S3 answer to a status (net/http.h's classes), with S3's error
// <Code> and <Message>: a 200 answer with an <Error> body (as
// CompleteMultipartUpload may send) is an error too.
absl::Status S3Status(const S3Request& request, const HttpResponse& response);

}  // namespace hab

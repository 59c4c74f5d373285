// AWS Signature Version 4 for S3 (libsodium HMAC-SHA-256 / SHA-256).
//
// Debian's libs3 only speaks SigV2 and curl 7.88's built-in signer neither
// sorts nor encodes the query, so we sign ourselves. S3 rules: the path is
// URI-encoded exactly once (unreserved A-Z a-z 0-9 - . _ ~ kept, '/' kept,
// everything else %XX upper-case, space is %20) and never normalized (no
// dot-segment removal, no '//' merging); query names and values are encoded
// the same way with '/' encoded, sorted by name then value, valueless
// parameters become "name="; header values are trimmed with inner runs of
// spaces collapsed, repeated headers merged with ',' in order. Callers send
// the canonical query on the wire exactly as signed.
//
// Tested against the applicable vectors of ../shared/testdata/sigv4 (both
// AWS suites and the S3 worked examples): nodes/s3_sigv4_test.cc.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace hab {

struct SigV4Request {
  std::string method;
  std::string path;  // decoded ("/bucket/dir a/x+y")
  std::vector<std::pair<std::string, std::string>> query;    // decoded
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, incl. host, x-amz-date
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct SigV4Key {
  std::string access_key_id;
  std::string secret_access_key;  // caller wipes
  std::string region;             // "us-east-1" (R2's "auto" signs as us-east-1)
  std::string service = "s3";
};

std::string UriEncode(absl::string_view s, bool encode_slash);
std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query);
// Fills `signed_headers` ("host;x-amz-date").
std::string CanonicalRequest(const SigV4Request& r, std::string* signed_headers);
std::string StringToSign(absl::string_view canonical_request, absl::string_view amz_date,
                         const SigV4Key& key);
// Lower-case hex HMAC of the string to sign under the derived signing key.
std::string SignatureHex(absl::string_view string_to_sign, absl::string_view amz_date,
                         const SigV4Key& key);
// The Authorization header value. `amz_date` must equal the request's
// x-amz-date header ("20150830T123600Z").
std::string AuthorizationHeader(const SigV4Request& r, absl::string_view amz_date,
                                const SigV4Key& key);
std::string Sha256Hex(absl::string_view data);

}  // namespace hab

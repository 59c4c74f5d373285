// URL parsing and the transport policy every HTTP client here follows.
//
// Parsing is libcurl's own URL parser (curl_url), the one that will later
// connect, so what we check is what curl will use: a hand-written prefix
// test passed "http://localhost@evil.com/" (userinfo, host evil.com) and
// "http://127.0.0.1.evil.com" (a name, not an address).
//
// Policy: https always; plain http only to a loopback host (localhost, an
// address in 127.0.0.0/8, ::1), for test servers and local proxies; never
// userinfo (credentials do not belong in a URL, and "user@" hides the
// host); no query or fragment in a base URL. The HTTP client repeats the
// loopback check on the address it actually connected to (net/http.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hab {

struct Url {
  std::string scheme;     // "http" | "https" (lower case)
  std::string host;       // as curl parsed it, IPv6 without brackets
  int port = 0;           // effective port (default for the scheme if absent)
  std::string host_port;  // for the Host header: the default port omitted, IPv6 bracketed
  std::string path;       // "" or "/..." without a trailing '/'
};

// Parses an absolute http(s) base URL; kInvalidArgument names what is wrong
// (never echoes userinfo). `what` names the setting in messages.
absl::StatusOr<Url> ParseBaseUrl(absl::string_view text, absl::string_view what);

// kInvalidArgument unless https, or http to a loopback host.
absl::Status CheckTransportPolicy(const Url& url, absl::string_view what);

// "localhost" or a literal address in 127.0.0.0/8 or ::1.
bool IsLoopbackHost(absl::string_view host);
// A numeric address (as curl reports the peer) in 127.0.0.0/8 or ::1
// (also ::ffff:127.x.y.z).
bool IsLoopbackAddress(absl::string_view ip);

}  // namespace hab

#include "net/url.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hab {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlString {
  char* p = nullptr;
  ~CurlString() { curl_free(p); }
};

bool Has(CURLU* u, CURLUPart part) {
  CurlString s;
  return curl_url_get(u, part, &s.p, 0) == CURLUE_OK && s.p != nullptr && *s.p != '\0';
}

}  // namespace

absl::StatusOr<Url> ParseBaseUrl(absl::string_view text, absl::string_view what) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) return absl::ResourceExhaustedError("curl_url failed");
  std::string s(text);
  // No CURLU_GUESS_SCHEME / DEFAULT_SCHEME: a URL without a scheme is refused.
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, s.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not a valid URL (", curl_url_strerror(rc), ")"));
  }
  Url out;
  CurlString scheme, host, port, path;
  curl_url_get(u.get(), CURLUPART_SCHEME, &scheme.p, 0);
  out.scheme = absl::AsciiStrToLower(scheme.p ? scheme.p : "");
  if (out.scheme != "http" && out.scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": must start with https:// (got scheme \"", out.scheme, "\")"));
  }
  if (Has(u.get(), CURLUPART_USER) || Has(u.get(), CURLUPART_PASSWORD) ||
      Has(u.get(), CURLUPART_OPTIONS)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": must not contain a user name or password (\"user@\" before the host)"));
  }
  if (Has(u.get(), CURLUPART_QUERY) || Has(u.get(), CURLUPART_FRAGMENT)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": must not contain '?' or '#'"));
  }
  if (curl_url_get(u.get(), CURLUPART_HOST, &host.p, 0) != CURLUE_OK || host.p == nullptr ||
      *host.p == '\0') {
    return absl::InvalidArgumentError(absl::StrCat(what, ": has no host"));
  }
  out.host = host.p;
  bool ipv6 = absl::StartsWith(out.host, "[");
  if (ipv6) out.host = out.host.substr(1, out.host.size() - 2);
  curl_url_get(u.get(), CURLUPART_PORT, &port.p, CURLU_DEFAULT_PORT);
  if (port.p == nullptr || !absl::SimpleAtoi(port.p, &out.port)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": bad port"));
  }
  int default_port = out.scheme == "https" ? 443 : 80;
  std::string bracketed = ipv6 ? absl::StrCat("[", out.host, "]") : out.host;
  out.host_port = out.port == default_port ? bracketed : absl::StrCat(bracketed, ":", out.port);
  curl_url_get(u.get(), CURLUPART_PATH, &path.p, 0);
  out.path = std::string(absl::StripSuffix(path.p ? path.p : "", "/"));
  return out;
}

absl::Status CheckTransportPolicy(const Url& url, absl::string_view what) {
  if (url.scheme == "https") return absl::OkStatus();
  if (url.scheme == "http" && IsLoopbackHost(url.host)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      what, ": must start with https:// (plain http is accepted only for a loopback host: "
            "localhost, 127.0.0.0/8, [::1])"));
}

bool IsLoopbackHost(absl::string_view host) {
  return absl::EqualsIgnoreCase(host, "localhost") || IsLoopbackAddress(host);
}

bool IsLoopbackAddress(absl::string_view ip) {
  std::string s(ip);
  in_addr v4;
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace hab

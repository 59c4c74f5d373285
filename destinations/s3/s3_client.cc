#include "destinations/s3/s3_client.h"

#include <sodium.h>

#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "net/url.h"
#include "destinations/s3/s3_sigv4.h"
#include "destinations/s3/s3_xml.h"

namespace hab {
namespace {

std::string AmzDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

class SignedTransport : public S3Transport {
 public:
  SignedTransport(S3Endpoint ep, Url url, std::unique_ptr<HttpClient> http)
      : ep_(std::move(ep)), url_(std::move(url)), http_(std::move(http)) {}
  ~SignedTransport() override {
    sodium_memzero(ep_.secret_access_key.data(), ep_.secret_access_key.size());
  }

  absl::StatusOr<HttpResponse> Do(const S3Request& r) override {
    std::string host = ep_.path_style ? url_.host_port : absl::StrCat(ep_.bucket, ".", url_.host_port);
    std::string path = url_.path + (ep_.path_style ? "/" + ep_.bucket : "");
    if (!r.key.empty()) path += "/" + r.key;
    if (path.empty()) path = "/";
    SigV4Request sr;
    sr.method = r.method;
    sr.path = path;
    sr.query = r.query;
    std::string amz_date = AmzDate();
    sr.payload_hash = !r.payload_sha256.empty()
                          ? r.payload_sha256
                          : Sha256Hex(absl::string_view(reinterpret_cast<const char*>(r.body.data()),
                                                        r.body.size()));
    sr.headers = r.headers;
    sr.headers.emplace_back("host", host);
    sr.headers.emplace_back("x-amz-date", amz_date);
    sr.headers.emplace_back("x-amz-content-sha256", sr.payload_hash);
    SigV4Key key{ep_.access_key_id, ep_.secret_access_key, ep_.region, "s3"};
    std::string authz = AuthorizationHeader(sr, amz_date, key);
    sodium_memzero(key.secret_access_key.data(), key.secret_access_key.size());

    std::string query = CanonicalQueryString(r.query);
    HttpRequest h;
    h.op = absl::StrCat(r.op, " ", r.key.empty() ? ep_.bucket : r.key);
    h.method = r.method;
    h.url = absl::StrCat(url_.scheme, "://", host, UriEncode(path, false), query.empty() ? "" : "?",
                         query);
    h.headers = sr.headers;  // exactly the signed ones, host included
    h.headers.emplace_back("Authorization", authz);
    h.body = r.body;
    return http_->Do(h);
  }

 private:
  S3Endpoint ep_;
  Url url_;
  std::unique_ptr<HttpClient> http_;
};

class RetryingTransport : public S3Transport {
 public:
  RetryingTransport(std::unique_ptr<S3Transport> inner, RetryPolicy p,
                    const std::atomic<bool>* cancel)
      : inner_(std::move(inner)), policy_(std::move(p)), cancel_(cancel) {}
  absl::StatusOr<HttpResponse> Do(const S3Request& r) override {
    absl::StatusOr<HttpResponse> resp = absl::InternalError("no attempt");
    absl::Status st = RetryLoop(policy_, cancel_, [&] {
      resp = inner_->Do(r);
      return resp.ok() ? S3Status(r, *resp) : resp.status();
    });
    // A cancelled wait between attempts ends the call as cancelled; any
    // other outcome is the last attempt's (a response with an error status
    // stays a response, as from any transport).
    if (st.code() == absl::StatusCode::kCancelled && resp.ok()) return st;
    return resp;
  }

 private:
  std::unique_ptr<S3Transport> inner_;
  RetryPolicy policy_;
  const std::atomic<bool>* cancel_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<S3Transport>> MakeSignedTransport(const S3Endpoint& endpoint) {
  HAB_ASSIGN_OR_RETURN(Url url, ParseBaseUrl(endpoint.endpoint, "destination.endpoint"));
  HAB_RETURN_IF_ERROR(CheckTransportPolicy(url, "destination.endpoint"));
  HttpOptions o;
  o.connect_timeout_seconds = endpoint.timeout_seconds;
  o.stall_timeout_seconds = endpoint.timeout_seconds;
  o.ca_file = endpoint.ca_file;
  o.cancel = endpoint.cancel;
  return std::unique_ptr<S3Transport>(
      new SignedTransport(endpoint, std::move(url), MakeCurlClient(std::move(o))));
}

std::unique_ptr<S3Transport> MakeRetryingTransport(std::unique_ptr<S3Transport> inner,
                                                   RetryPolicy p, const std::atomic<bool>* cancel) {
  return std::make_unique<RetryingTransport>(std::move(inner), std::move(p), cancel);
}

absl::Status S3Status(const S3Request& r, const HttpResponse& resp) {
  bool error_body = absl::StrContains(absl::string_view(resp.body).substr(0, 512), "<Error>");
  if (resp.code >= 200 && resp.code < 300 && !error_body) return absl::OkStatus();
  std::string code = XmlFirst(resp.body, "Code"), message = XmlFirst(resp.body, "Message");
  std::string text = absl::StrCat(r.op, " ", r.key, ": HTTP ", resp.code,
                                  code.empty() ? "" : absl::StrCat(" ", code),
                                  message.empty() ? "" : absl::StrCat(": ", message));
  if (error_body && resp.code < 300) {
    return code == "SlowDown" || code == "InternalError" ? absl::UnavailableError(text)
                                                         : absl::InternalError(text);
  }
  return HttpCodeStatus(resp.code, text);
}

}  // namespace hab

#include "nodes/s3_client.h"

#include <curl/curl.h>
#include <sodium.h>

#include <ctime>
#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "nodes/s3_sigv4.h"

namespace hab {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

struct UploadState {
  std::span<const uint8_t> body;
  size_t pos = 0;
};

size_t ReadBody(char* out, size_t size, size_t n, void* user) {
  auto* st = static_cast<UploadState*>(user);
  size_t len = std::min(size * n, st->body.size() - st->pos);
  std::memcpy(out, st->body.data() + st->pos, len);
  st->pos += len;
  return len;
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  absl::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    (*static_cast<std::map<std::string, std::string>*>(user))[absl::AsciiStrToLower(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

struct ParsedUrl {
  std::string scheme, host_port, base_path;
};

ParsedUrl ParseEndpoint(const std::string& endpoint) {
  ParsedUrl u;
  size_t s = endpoint.find("://");
  u.scheme = endpoint.substr(0, s);
  std::string rest = endpoint.substr(s + 3);
  size_t slash = rest.find('/');
  u.host_port = rest.substr(0, slash);
  if (slash != std::string::npos) u.base_path = std::string(absl::StripSuffix(rest.substr(slash), "/"));
  // The Host header carries no default port (curl omits it, and we sign it).
  if (u.scheme == "https" && absl::EndsWith(u.host_port, ":443")) u.host_port.resize(u.host_port.size() - 4);
  if (u.scheme == "http" && absl::EndsWith(u.host_port, ":80")) u.host_port.resize(u.host_port.size() - 3);
  return u;
}

std::string AmzDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// A curl share object so requests from any thread reuse kept-alive
// connections (and DNS/TLS session caches) instead of a handshake each.
class CurlShare {
 public:
  CurlShare() : share_(curl_share_init()) {
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~CurlShare() { curl_share_cleanup(share_); }
  CURLSH* get() { return share_; }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<CurlShare*>(self)->mu_[data % kLocks].Lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<CurlShare*>(self)->mu_[data % kLocks].Unlock();
  }
  static constexpr int kLocks = 8;
  CURLSH* share_;
  absl::Mutex mu_[kLocks];
};

class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(S3Endpoint ep) : ep_(std::move(ep)), url_(ParseEndpoint(ep_.endpoint)) {}
  ~CurlTransport() override { sodium_memzero(ep_.secret_access_key.data(), ep_.secret_access_key.size()); }

  absl::StatusOr<HttpResponse> Do(const HttpRequest& r) override {
    std::string host = ep_.path_style ? url_.host_port : absl::StrCat(ep_.bucket, ".", url_.host_port);
    std::string path = url_.base_path + (ep_.path_style ? "/" + ep_.bucket : "");
    if (!r.key.empty()) path += "/" + r.key;
    if (path.empty()) path = "/";
    SigV4Request sr;
    sr.method = r.method;
    sr.path = path;
    sr.query = r.query;
    std::string amz_date = AmzDate();
    sr.payload_hash = !r.payload_sha256.empty()
                          ? r.payload_sha256
                          : Sha256Hex(absl::string_view(reinterpret_cast<const char*>(r.body.data()), r.body.size()));
    sr.headers = r.headers;
    sr.headers.emplace_back("host", host);
    sr.headers.emplace_back("x-amz-date", amz_date);
    sr.headers.emplace_back("x-amz-content-sha256", sr.payload_hash);
    SigV4Key key{ep_.access_key_id, ep_.secret_access_key, ep_.region, "s3"};
    std::string authz = AuthorizationHeader(sr, amz_date, key);
    sodium_memzero(key.secret_access_key.data(), key.secret_access_key.size());

    std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
    if (!c) return absl::ResourceExhaustedError("curl_easy_init failed");
    std::string query = CanonicalQueryString(r.query);
    std::string url = absl::StrCat(url_.scheme, "://", host, UriEncode(path, false), query.empty() ? "" : "?", query);
    curl_slist* raw = nullptr;
    for (const auto& [n, v] : sr.headers) raw = curl_slist_append(raw, absl::StrCat(n, ": ", v).c_str());
    raw = curl_slist_append(raw, ("Authorization: " + authz).c_str());
    raw = curl_slist_append(raw, "Expect:");  // no 100-continue round trip
    if (r.method == "POST" && !HasHeader(r, "content-type")) raw = curl_slist_append(raw, "Content-Type:");
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
    char errbuf[CURL_ERROR_SIZE] = {};
    HttpResponse resp;
    UploadState up{r.body, 0};
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.get(), CURLOPT_SHARE, share_.get());
    curl_easy_setopt(c.get(), CURLOPT_PATH_AS_IS, 1L);  // sign and send the same path
    curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled for 60 s: give up
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, static_cast<long>(std::min(60, ep_.timeout_seconds)));
    curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, static_cast<long>(ep_.timeout_seconds));
    curl_easy_setopt(c.get(), CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c.get(), CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ep_.ca_file.empty()) curl_easy_setopt(c.get(), CURLOPT_CAINFO, ep_.ca_file.c_str());
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &resp.body);
    curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, WriteHeader);
    curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &resp.headers);
    if (r.method == "PUT") {
      curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(c.get(), CURLOPT_READDATA, &up);
      curl_easy_setopt(c.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      // Large send buffers: fewer, bigger writes to the socket.
      curl_easy_setopt(c.get(), CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    } else if (r.method == "POST") {
      curl_easy_setopt(c.get(), CURLOPT_POST, 1L);
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(r.body.data()));
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else if (r.method == "HEAD") {
      curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
    } else if (r.method != "GET") {
      curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    CURLcode rc = curl_easy_perform(c.get());
    if (rc != CURLE_OK) {
      std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
      std::string where = absl::StrCat(r.op, " ", r.key.empty() ? ep_.bucket : r.key, " at ", url_.host_port);
      switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
          return absl::UnavailableError(absl::StrCat(where, ": DNS lookup failed: ", detail));
        case CURLE_OPERATION_TIMEDOUT:
          return absl::DeadlineExceededError(absl::StrCat(where, ": timed out: ", detail));
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
          return absl::FailedPreconditionError(absl::StrCat(where, ": TLS: ", detail));
        default:
          return absl::UnavailableError(absl::StrCat(where, ": ", detail));
      }
    }
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &resp.code);
    return resp;
  }

 private:
  static bool HasHeader(const HttpRequest& r, absl::string_view name) {
    for (const auto& [n, v] : r.headers) {
      if (absl::EqualsIgnoreCase(n, name)) return true;
    }
    return false;
  }
  S3Endpoint ep_;
  ParsedUrl url_;
  CurlShare share_;
};

class RetryingTransport : public HttpTransport {
 public:
  RetryingTransport(std::unique_ptr<HttpTransport> inner, RetryPolicy p)
      : inner_(std::move(inner)), policy_(p) {}
  absl::StatusOr<HttpResponse> Do(const HttpRequest& r) override {
    thread_local std::mt19937_64 rng(std::random_device{}());
    absl::Duration cap = policy_.base_delay;
    for (int attempt = 1;; ++attempt) {
      absl::StatusOr<HttpResponse> resp = inner_->Do(r);
      absl::Status st = resp.ok() ? HttpStatus(r, *resp) : resp.status();
      if (st.ok() || !IsTransient(st) || attempt >= policy_.max_attempts) return resp;
      // Full jitter: sleep uniformly in [0, cap), cap doubling each time.
      std::uniform_int_distribution<int64_t> d(0, absl::ToInt64Milliseconds(cap));
      absl::SleepFor(absl::Milliseconds(d(rng)));
      cap = std::min(cap * 2, policy_.max_delay);
    }
  }

 private:
  std::unique_ptr<HttpTransport> inner_;
  RetryPolicy policy_;
};

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport(const S3Endpoint& endpoint) {
  return std::make_unique<CurlTransport>(endpoint);
}

std::unique_ptr<HttpTransport> MakeRetryingTransport(std::unique_ptr<HttpTransport> inner, RetryPolicy p) {
  return std::make_unique<RetryingTransport>(std::move(inner), p);
}

bool IsTransient(const absl::Status& st) {
  return st.code() == absl::StatusCode::kUnavailable || st.code() == absl::StatusCode::kDeadlineExceeded;
}

absl::Status HttpStatus(const HttpRequest& r, const HttpResponse& resp) {
  // CompleteMultipartUpload may answer 200 with an <Error> body.
  bool error_body = absl::StrContains(resp.body.substr(0, 512), "<Error>");
  if ((resp.code >= 200 && resp.code < 300) && !error_body) return absl::OkStatus();
  std::string code = XmlFirst(resp.body, "Code"), message = XmlFirst(resp.body, "Message");
  std::string text = absl::StrCat(r.op, " ", r.key, ": HTTP ", resp.code,
                                  code.empty() ? "" : absl::StrCat(" ", code),
                                  message.empty() ? "" : absl::StrCat(": ", message));
  if (error_body && resp.code < 300) {
    return code == "SlowDown" || code == "InternalError" ? absl::UnavailableError(text)
                                                         : absl::InternalError(text);
  }
  if (resp.code == 404) return absl::NotFoundError(text);
  if (resp.code == 401 || resp.code == 403) return absl::PermissionDeniedError(text);
  if (resp.code == 409 || resp.code == 412) return absl::FailedPreconditionError(text);
  // 501 Not Implemented and 505 will not change on a retry (s3rver answers
  // ListMultipartUploads with 501: retrying it cost every run 2 s).
  if (resp.code == 501 || resp.code == 505) return absl::UnimplementedError(text);
  if (resp.code == 429 || resp.code >= 500) return absl::UnavailableError(text);
  return absl::InvalidArgumentError(text);
}

std::string XmlUnescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    static const std::pair<const char*, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (auto [e, c] : kEntities) {
      if (s.substr(i, strlen(e)) == e) {
        out.push_back(c);
        i += strlen(e) - 1;
        done = true;
        break;
      }
    }
    if (!done && s.substr(i, 2) == "&#") {
      size_t semi = s.find(';', i);
      if (semi != absl::string_view::npos) {
        std::string num(s.substr(i + 2, semi - i - 2));
        unsigned long v = num[0] == 'x' ? std::stoul(num.substr(1), nullptr, 16) : std::stoul(num);
        if (v < 0x80) out.push_back(static_cast<char>(v));
        i = semi;
        done = true;
      }
    }
    if (!done) out.push_back('&');
  }
  return out;
}

std::string XmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> XmlAll(absl::string_view xml, absl::string_view tag) {
  std::vector<std::string> out;
  std::string open = absl::StrCat("<", tag, ">"), close = absl::StrCat("</", tag, ">");
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != absl::string_view::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == absl::string_view::npos) break;
    out.push_back(std::string(xml.substr(start, end - start)));
    pos = end + close.size();
  }
  return out;
}

std::string XmlFirst(absl::string_view xml, absl::string_view tag) {
  auto all = XmlAll(xml, tag);
  return all.empty() ? "" : XmlUnescape(all[0]);
}

bool IsLoopbackHttp(absl::string_view endpoint) {
  if (!absl::StartsWith(endpoint, "http://")) return false;
  absl::string_view rest = endpoint.substr(7);
  return absl::StartsWith(rest, "127.") || absl::StartsWith(rest, "localhost") ||
         absl::StartsWith(rest, "[::1]");
}

}  // namespace hab

#include "net/http.h"

#include <curl/curl.h>
#include <sodium.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "net/url.h"
#include "version.h"

namespace hab {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
// Header lines may carry a credential (Authorization): wiped before freed.
struct SlistDeleter {
  void operator()(curl_slist* s) const {
    for (curl_slist* p = s; p != nullptr; p = p->next) sodium_memzero(p->data, std::strlen(p->data));
    curl_slist_free_all(s);
  }
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

// libcurl rewinds the body when a kept-alive connection turned out dead
// and the request goes again on a new one (without this: a failed request
// and a retry of our own).
int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* st = static_cast<UploadState*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > st->body.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  st->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  absl::string_view line = absl::StripTrailingAsciiWhitespace(absl::string_view(data, size * n));
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after a 1xx, say): start over.
    resp->status_line = std::string(line);
    resp->headers.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    resp->headers[absl::AsciiStrToLower(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

struct TransferState {
  const std::atomic<bool>* cancel = nullptr;
  const std::atomic<bool>* request_cancel = nullptr;
  bool plain_http = false;
  bool refused_peer = false;
  std::string peer;
};

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<TransferState*>(user);
  bool stop = (st->cancel != nullptr && st->cancel->load()) ||
              (st->request_cancel != nullptr && st->request_cancel->load());
  return stop ? 1 : 0;
}

// Runs once the connection is up, before the request is sent: plain http
// is for loopback peers only, whatever the name resolved to.
int OnConnected(void* user, char* primary_ip, char*, int, int) {
  auto* st = static_cast<TransferState*>(user);
  if (!st->plain_http || IsLoopbackAddress(primary_ip)) return CURL_PREREQFUNC_OK;
  st->refused_peer = true;
  st->peer = primary_ip;
  return CURL_PREREQFUNC_ABORT;
}

// DNS and TLS session caches shared by every request of a client (libcurl
// supports sharing these across threads; it does not support sharing the
// connection cache between concurrent threads, so kept-alive connections
// live in the pooled easy handles instead: see CurlClient::Acquire).
class CurlShare {
 public:
  CurlShare() : share_(curl_share_init()) {
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~CurlShare() { curl_share_cleanup(share_); }
  CurlShare(const CurlShare&) = delete;
  CurlShare& operator=(const CurlShare&) = delete;
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

// The CA bundle when the config names none: $SSL_CERT_FILE, else
// $CURL_CA_BUNDLE, else the first bundle that exists where distributions
// keep it. The release binary's libcurl knows only Debian's path; a host
// with another layout (Fedora, openSUSE, Alpine) must still verify TLS.
std::string DefaultCaBundle() {
  for (const char* env : {"SSL_CERT_FILE", "CURL_CA_BUNDLE"}) {
    if (const char* v = std::getenv(env); v != nullptr && *v) return v;
  }
  for (const char* p : {"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Arch
                        "/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL
                        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+
                        "/etc/ssl/ca-bundle.pem",                            // openSUSE
                        "/etc/ssl/cert.pem"}) {                              // Alpine, macOS
    if (::access(p, R_OK) == 0) return p;
  }
  return "";  // libcurl's built-in default
}

class CurlClient : public HttpClient {
 public:
  explicit CurlClient(HttpOptions o) : o_(std::move(o)) {
    if (o_.user_agent.empty()) o_.user_agent = DefaultUserAgent();
    if (o_.ca_file.empty()) o_.ca_file = DefaultCaBundle();
    if (const char* d = std::getenv("SSL_CERT_DIR"); d != nullptr && *d && ::access(d, R_OK | X_OK) == 0) ca_dir_ = d;
  }

  absl::StatusOr<HttpResponse> Do(const HttpRequest& r) override {
    std::unique_ptr<CURL, CurlDeleter> c = Acquire();
    if (!c) return absl::ResourceExhaustedError("curl_easy_init failed");
    absl::StatusOr<HttpResponse> out = Perform(c.get(), r);
    Release(std::move(c));
    return out;
  }

 private:
  // A pooled easy handle: each keeps its own kept-alive connections, and
  // only one thread uses a handle at a time.
  std::unique_ptr<CURL, CurlDeleter> Acquire() {
    {
      absl::MutexLock lock(&pool_mu_);
      if (!idle_.empty()) {
        std::unique_ptr<CURL, CurlDeleter> c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return std::unique_ptr<CURL, CurlDeleter>(curl_easy_init());
  }
  void Release(std::unique_ptr<CURL, CurlDeleter> c) {
    curl_easy_reset(c.get());  // options go; live connections and caches stay
    absl::MutexLock lock(&pool_mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
  }
  static constexpr size_t kMaxIdle = 16;

  absl::StatusOr<HttpResponse> Perform(CURL* h, const HttpRequest& r) {
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    // Appends to `headers`; false when out of memory (the list so far is
    // still owned, and wiped, by `headers`).
    auto append = [&headers](const char* line) {
      curl_slist* next = curl_slist_append(headers.get(), line);
      if (next == nullptr) return false;
      (void)headers.release();
      headers.reset(next);
      return true;
    };
    bool has_content_type = false;
    bool appended = true;
    for (const auto& [n, v] : r.headers) {
      std::string line = absl::StrCat(n, ": ", v);
      appended = appended && append(line.c_str());
      sodium_memzero(line.data(), line.size());
      has_content_type |= absl::EqualsIgnoreCase(n, "content-type");
    }
    appended = appended && append("Expect:");  // no 100-continue round trip
    if (r.method == "POST" && !has_content_type) appended = appended && append("Content-Type:");
    if (!appended) return absl::ResourceExhaustedError("curl_slist_append failed");
    char errbuf[CURL_ERROR_SIZE] = {};
    HttpResponse resp;
    UploadState up{r.body, 0};
    TransferState ts;
    ts.cancel = o_.cancel;
    ts.request_cancel = r.cancel;
    ts.plain_http = absl::StartsWithIgnoreCase(r.url, "http://");
    curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_USERAGENT, o_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SHARE, share_.get());
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // sign and send the same path
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o_.connect_timeout_seconds));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o_.stall_timeout_seconds));
    long total_ms = 1000L * o_.total_timeout_seconds;
    if (r.timeout_ms > 0 && (total_ms == 0 || r.timeout_ms < total_ms)) total_ms = r.timeout_ms;
    if (total_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!o_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o_.ca_file.c_str());
    if (!ca_dir_.empty()) curl_easy_setopt(h, CURLOPT_CAPATH, ca_dir_.c_str());
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &ts);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, OnConnected);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, &ts);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
    if (r.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(h, CURLOPT_READDATA, &up);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, SeekBody);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &up);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      // Large send buffers: fewer, bigger writes to the socket.
      curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    } else if (r.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(r.body.data()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else if (r.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (r.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) return Classify(rc, errbuf, r, ts);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.code);
    return resp;
  }

  absl::Status Classify(CURLcode rc, const char* errbuf, const HttpRequest& r,
                        const TransferState& ts) {
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    auto host = ParseBaseUrl(r.url.substr(0, r.url.find('/', r.url.find("://") + 3)), "url");
    std::string where = absl::StrCat(r.op, " at ", host.ok() ? host->host_port : "?");
    if (ts.refused_peer) {
      return absl::FailedPreconditionError(absl::StrCat(
          where, ": plain http is allowed only to a loopback address, and this name connected to ",
          ts.peer));
    }
    switch (rc) {
      case CURLE_ABORTED_BY_CALLBACK:
        return absl::CancelledError(absl::StrCat(where, ": cancelled"));
      case CURLE_COULDNT_RESOLVE_HOST:
        return absl::UnavailableError(absl::StrCat(where, ": DNS lookup failed: ", detail));
      case CURLE_OPERATION_TIMEDOUT:
        return absl::DeadlineExceededError(absl::StrCat(where, ": timed out: ", detail));
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM: {
        std::string hint;
        if (absl::StrContains(detail, "wrong version number")) {
          hint = "\nhint: the endpoint probably speaks plain HTTP, not HTTPS (check the port)";
        }
        return absl::FailedPreconditionError(absl::StrCat(where, ": TLS: ", detail, hint));
      }
      default:
        return absl::UnavailableError(absl::StrCat(where, ": ", detail));
    }
  }

  HttpOptions o_;
  std::string ca_dir_;
  CurlShare share_;
  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<CURL, CurlDeleter>> idle_ ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace

std::unique_ptr<HttpClient> MakeCurlClient(HttpOptions options) {
  return std::make_unique<CurlClient>(std::move(options));
}

absl::Status HttpCodeStatus(long code, absl::string_view text) {
  if (code >= 200 && code < 300) return absl::OkStatus();
  if (code == 404) return absl::NotFoundError(text);
  if (code == 401 || code == 403) return absl::PermissionDeniedError(text);
  if (code == 409 || code == 412) return absl::FailedPreconditionError(text);
  // 501 and 505 will not change on a retry (s3rver answers
  // ListMultipartUploads with 501: retrying it cost every run 2 s).
  if (code == 501 || code == 505) return absl::UnimplementedError(text);
  if (code == 408 || code == 429 || code >= 500) return absl::UnavailableError(text);
  return absl::InvalidArgumentError(text);
}

bool IsTransient(const absl::Status& st) {
  return st.code() == absl::StatusCode::kUnavailable ||
         st.code() == absl::StatusCode::kDeadlineExceeded;
}

std::string DefaultUserAgent() {
  struct utsname u;
  std::string arch = "unknown";
  if (::uname(&u) == 0) {
    arch = u.machine;
    if (arch == "x86_64") arch = "amd64";
    if (arch == "aarch64") arch = "arm64";
  }
  return absl::StrCat("hostatlas-backup/", HAB_VERSION, " (linux; ", arch, ")");
}

}  // namespace hab

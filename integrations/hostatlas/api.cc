#include "integrations/hostatlas/api.h"

#include <simdjson.h>
#include <sodium.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/json.h"
#include "net/url.h"

namespace hab::hostatlas {
namespace {

constexpr char kClientId[] = "hostatlas-backup";
constexpr char kScope[] = "backup:write heartbeats:read heartbeats:write";
constexpr char kGrant[] = "urn:ietf:params:oauth:grant-type:device_code";
constexpr size_t kMaxPingBody = 10000;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

absl::StatusOr<std::string> CheckedBase(const std::string& text, const std::string& what) {
  auto url = ParseBaseUrl(text, what);
  if (!url.ok()) return url.status();
  if (absl::Status st = CheckTransportPolicy(*url, what); !st.ok()) return st;
  return absl::StrCat(url->scheme, "://", url->host_port, url->path);
}

// RFC 3986 unreserved characters stay, everything else is %XX: for form
// values and path segments alike. Appends in place (no temporary copy of
// a code that would be freed unwiped).
void AppendEscaped(std::string& out, absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

std::string Escape(absl::string_view s) {
  std::string out;
  AppendEscaped(out, s);
  return out;
}

// An answer that carried a secret (device code, token, key): its body is
// wiped once parsed. (simdjson's parser keeps its own copy in buffers we
// cannot reach; they are freed when the parser goes, unwiped.)
struct WipeBody {
  HttpResponse* r;
  ~WipeBody() {
    if (r != nullptr) {
      r->body.resize(r->body.capacity());
      sodium_memzero(r->body.data(), r->body.size());
    }
  }
};

bool Get(simdjson::dom::element e, const char* key, std::string& out) {
  std::string_view v;
  if (e[key].get_string().get(v) != simdjson::SUCCESS) return false;
  out.assign(v);
  return true;
}

int GetInt(simdjson::dom::element e, const char* key, int fallback) {
  int64_t v = 0;
  if (e[key].get_int64().get(v) != simdjson::SUCCESS) {
    double d = 0;
    if (e[key].get_double().get(d) != simdjson::SUCCESS) return fallback;
    v = static_cast<int64_t>(d);
  }
  if (v < 0) return fallback;
  return v > 86400 ? 86400 : static_cast<int>(v);
}

absl::StatusOr<simdjson::dom::element> ParseJson(simdjson::dom::parser& parser, const HttpResponse& r,
                                                 absl::string_view op) {
  simdjson::dom::element doc;
  if (parser.parse(r.body).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return absl::UnavailableError(absl::StrCat(op, ": the answer (HTTP ", r.code, ") is not a JSON object"));
  }
  return doc;
}

absl::StatusOr<Heartbeat> ParseHeartbeat(simdjson::dom::element e, absl::string_view op) {
  Heartbeat hb;
  if (!Get(e, "slug", hb.slug) || hb.slug.empty()) {
    return absl::UnavailableError(absl::StrCat(op, ": a heartbeat without a slug in the answer"));
  }
  Get(e, "name", hb.name);
  Get(e, "status", hb.status);
  Get(e, "last_ping_at", hb.last_ping_at);  // null stays ""
  Get(e, "ping_url", hb.ping_url);
  return hb;
}

std::vector<std::pair<std::string, std::string>> JsonHeaders() {
  return {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
}

}  // namespace

absl::StatusOr<std::string> AuthBaseUrl(const std::string& flag) {
  if (!flag.empty()) return CheckedBase(flag, "--auth-url");
  if (std::string e = Env("HOSTATLAS_AUTH_URL"); !e.empty()) return CheckedBase(e, "HOSTATLAS_AUTH_URL");
  return std::string(kDefaultAuthUrl);
}

absl::StatusOr<std::string> ApiBaseUrl(const std::string& flag, const std::string& from_auth_file) {
  if (!flag.empty()) return CheckedBase(flag, "--api-url");
  if (std::string e = Env("HOSTATLAS_API_URL"); !e.empty()) return CheckedBase(e, "HOSTATLAS_API_URL");
  if (!from_auth_file.empty()) return CheckedBase(from_auth_file, "api_url in auth.yml");
  return std::string(kDefaultApiUrl);
}

const char* PingEventName(PingEvent e) {
  switch (e) {
    case PingEvent::kStart: return "start";
    case PingEvent::kOk: return "ok";
    case PingEvent::kFail: return "fail";
  }
  return "?";
}

std::string CutUtf8(absl::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t n = max;
  // Back up over continuation bytes (10xxxxxx) to a character start.
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n));
}

absl::Status AnswerStatus(absl::string_view op, const HttpResponse& r) {
  std::string message;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(r.body).get(doc) == simdjson::SUCCESS && doc.is_object()) {
    if (!Get(doc, "message", message) || message.empty()) Get(doc, "error", message);
  }
  if (message.empty()) {
    message = r.status_line.empty() ? absl::StrCat("HTTP ", r.code) : r.status_line;
  } else {
    message = absl::StrCat(CutUtf8(message, 300), " (HTTP ", r.code, ")");
  }
  return HttpCodeStatus(r.code, absl::StrCat(op, ": ", message));
}

Client::Client(ClientOptions options) : o_(std::move(options)) {
  HttpOptions h;
  h.connect_timeout_seconds = 5;
  h.total_timeout_seconds = o_.api_timeout_seconds;
  h.stall_timeout_seconds = o_.api_timeout_seconds;
  h.cancel = o_.cancel;
  api_ = MakeCurlClient(h);
  h.total_timeout_seconds = o_.ping_timeout_seconds;
  h.stall_timeout_seconds = o_.ping_timeout_seconds;
  ping_ = MakeCurlClient(h);
}

absl::StatusOr<HttpResponse> Client::Call(HttpClient& http, const char* op, const std::string& method,
                                          const std::string& url,
                                          std::vector<std::pair<std::string, std::string>> headers,
                                          absl::string_view body, const SecretString* bearer) {
  HttpRequest req;
  req.op = op;
  req.method = method;
  req.url = url;
  req.cancel = request_cancel_;
  if (deadline_ != absl::InfiniteFuture()) {
    int64_t ms = absl::ToInt64Milliseconds(deadline_ - absl::Now());
    if (ms < 200) return absl::DeadlineExceededError(absl::StrCat(op, ": not sent, no time left"));
    req.timeout_ms = ms;
  }
  // Added last, after every early return: it is wiped below.
  if (bearer != nullptr && !bearer->empty()) headers.emplace_back("Authorization", "Bearer " + bearer->reveal());
  req.headers = std::move(headers);
  req.body = {reinterpret_cast<const uint8_t*>(body.data()), body.size()};
  auto r = http.Do(req);
  for (auto& [name, value] : req.headers) {
    if (name == "Authorization") value.assign(value.size(), '\0');  // same length: the bytes are overwritten
  }
  if (!r.ok()) return absl::Status(r.status().code(), absl::StrCat(op, ": ", r.status().message()));
  return r;
}

absl::StatusOr<DeviceCode> Client::RequestDeviceCode() {
  std::string form = absl::StrCat("client_id=", Escape(kClientId), "&scope=", Escape(kScope));
  auto r = Call(*api_, "device authorization", "POST", o_.auth_url + "/oauth/device/code",
                {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}}, form,
                nullptr);
  if (!r.ok()) return r.status();
  WipeBody wipe{&*r};
  if (r->code != 200) return AnswerStatus("device authorization", *r);
  simdjson::dom::parser parser;
  auto doc = ParseJson(parser, *r, "device authorization");
  if (!doc.ok()) return doc.status();
  DeviceCode dc;
  std::string device_code, uri, complete;
  Get(*doc, "device_code", device_code);
  dc.device_code = SecretString(std::move(device_code));
  Get(*doc, "user_code", dc.user_code);
  Get(*doc, "verification_uri", uri);
  Get(*doc, "verification_uri_complete", complete);
  if (dc.device_code.empty() || dc.user_code.empty() || uri.empty()) {
    // A captive portal or proxy answering 200 with something else.
    return absl::FailedPreconditionError(
        "device authorization: the answer has no device_code, user_code or verification_uri (a proxy or "
        "captive portal in the way?)");
  }
  dc.verification_uri = complete.empty() ? uri : complete;
  dc.expires_in = GetInt(*doc, "expires_in", 900);
  if (dc.expires_in <= 0) dc.expires_in = 900;
  dc.interval = GetInt(*doc, "interval", 5);
  if (dc.interval < 1) dc.interval = 1;
  return dc;
}

Poll Client::PollToken(const SecretString& device_code) {
  std::string form;
  form.reserve(256 + 3 * device_code.reveal().size());  // no reallocation: no stray copy
  form += "grant_type=";
  AppendEscaped(form, kGrant);
  form += "&device_code=";
  AppendEscaped(form, device_code.reveal());
  form += "&client_id=";
  AppendEscaped(form, kClientId);
  SecretString wiped(std::move(form));
  Poll p;
  auto r = Call(*api_, "token", "POST", o_.auth_url + "/oauth/token",
                {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}},
                wiped.reveal(), nullptr);
  if (!r.ok()) {
    p.reason = r.status();
    return p;
  }
  WipeBody wipe{&*r};
  simdjson::dom::parser parser;
  auto doc = ParseJson(parser, *r, "token");
  if (r->code == 200 && doc.ok()) {
    std::string token;
    Get(*doc, "access_token", token);
    p.access_token = SecretString(std::move(token));
    if (p.access_token.empty()) {
      p.reason = absl::UnavailableError("token: an answer without access_token");
      return p;
    }
    p.state = PollState::kToken;
    return p;
  }
  std::string error;
  if (r->code == 400 && doc.ok() && Get(*doc, "error", error)) {
    if (error == "authorization_pending") p.state = PollState::kPending;
    if (error == "slow_down") p.state = PollState::kSlowDown;
    if (error == "access_denied") p.state = PollState::kDenied;
    if (error == "expired_token") p.state = PollState::kExpired;
    if (p.state != PollState::kRetry) return p;
    // Any other error code (invalid_grant, invalid_client, ...) will not
    // change by asking again (RFC 8628 section 3.5).
    p.state = PollState::kFailed;
    p.reason = AnswerStatus("token", *r);
    return p;
  }
  p.reason = r->code == 200 ? doc.status() : AnswerStatus("token", *r);
  // 401/403 (the client is refused) are final too; 5xx and the like retry.
  if (r->code == 401 || r->code == 403) p.state = PollState::kFailed;
  return p;
}

absl::StatusOr<MintedKey> Client::MintKey(const SecretString& access_token, const std::string& hostname) {
  std::string body = absl::StrCat("{\"name\":", JsonString("hostatlas-backup@" + hostname),
                                  ",\"hostname\":", JsonString(hostname), "}");
  auto r = Call(*api_, "create API key", "POST", o_.api_url + "/api/v1/cli/api-keys", JsonHeaders(), body,
                &access_token);
  if (!r.ok()) return r.status();
  WipeBody wipe{&*r};
  if (r->code != 201 && r->code != 200) return AnswerStatus("create API key", *r);
  simdjson::dom::parser parser;
  auto doc = ParseJson(parser, *r, "create API key");
  if (!doc.ok()) return doc.status();
  MintedKey k;
  std::string key;
  Get(*doc, "key", key);
  k.key = SecretString(std::move(key));
  Get(*doc, "id", k.id);
  Get(*doc, "name", k.name);
  simdjson::dom::element account;
  if ((*doc)["account"].get(account) == simdjson::SUCCESS) Get(account, "name", k.account);
  if (!absl::StartsWith(k.key.reveal(), "ha_") || k.key.reveal().size() < 8) {
    return absl::FailedPreconditionError("create API key: the server answered a key that does not start with ha_");
  }
  if (k.id.empty()) return absl::FailedPreconditionError("create API key: the answer has no key id");
  return k;
}

absl::Status Client::RevokeKey(const std::string& key_id) {
  auto r = Call(*api_, "revoke API key", "DELETE", o_.api_url + "/api/v1/cli/api-keys/" + Escape(key_id),
                {{"Accept", "application/json"}}, {}, &key_);
  if (!r.ok()) return r.status();
  if (r->code / 100 != 2) return AnswerStatus("revoke API key", *r);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Heartbeat>> Client::ListHeartbeats() {
  auto r = Call(*api_, "list heartbeats", "GET", o_.api_url + "/api/v1/heartbeats", {{"Accept", "application/json"}},
                {}, &key_);
  if (!r.ok()) return r.status();
  if (r->code != 200) return AnswerStatus("list heartbeats", *r);
  simdjson::dom::parser parser;
  auto doc = ParseJson(parser, *r, "list heartbeats");
  if (!doc.ok()) return doc.status();
  simdjson::dom::array arr;
  if ((*doc)["heartbeats"].get_array().get(arr) != simdjson::SUCCESS) {
    return absl::UnavailableError("list heartbeats: the answer has no heartbeats array");
  }
  std::vector<Heartbeat> out;
  for (simdjson::dom::element e : arr) {
    auto hb = ParseHeartbeat(e, "list heartbeats");
    if (!hb.ok()) return hb.status();
    out.push_back(std::move(*hb));
  }
  return out;
}

absl::StatusOr<Heartbeat> Client::CreateHeartbeat(const std::string& name) {
  simdjson::dom::parser parser;
  std::string body = absl::StrCat("{\"name\":", JsonString(name), "}");
  auto r = Call(*api_, "create heartbeat", "POST", o_.api_url + "/api/v1/heartbeats", JsonHeaders(), body, &key_);
  if (!r.ok()) return r.status();
  if (r->code != 201 && r->code != 200) return AnswerStatus("create heartbeat", *r);
  auto doc = ParseJson(parser, *r, "create heartbeat");
  if (!doc.ok()) return doc.status();
  return ParseHeartbeat(*doc, "create heartbeat");
}

absl::StatusOr<Heartbeat> Client::GetHeartbeat(const std::string& slug) {
  auto r = Call(*api_, "get heartbeat", "GET", o_.api_url + "/api/v1/heartbeats/" + Escape(slug),
                {{"Accept", "application/json"}}, {}, &key_);
  if (!r.ok()) return r.status();
  if (r->code != 200) return AnswerStatus("get heartbeat", *r);
  simdjson::dom::parser parser;
  auto doc = ParseJson(parser, *r, "get heartbeat");
  if (!doc.ok()) return doc.status();
  return ParseHeartbeat(*doc, "get heartbeat");
}

absl::Status Client::CheckPingUrl(const std::string& slug) {
  auto r = Call(*ping_, "check ping URL", "HEAD", o_.api_url + "/ping/" + Escape(slug), {}, {}, &key_);
  if (!r.ok()) return r.status();
  if (r->code / 100 != 2) return AnswerStatus("check ping URL", *r);
  return absl::OkStatus();
}

absl::Status Client::Ping(const std::string& slug, PingEvent event, const std::string& run_id,
                          absl::string_view body, bool with_key) {
  std::string url = absl::StrCat(o_.api_url, "/ping/", Escape(slug), event == PingEvent::kStart ? "/start"
                                                                     : event == PingEvent::kFail ? "/fail"
                                                                                                 : "",
                                 "?rid=", Escape(run_id));
  std::string text = CutUtf8(ValidUtf8(body), kMaxPingBody);
  std::string op = absl::StrCat("ping ", PingEventName(event));
  auto r = Call(*ping_, op.c_str(), "POST", url, {{"Content-Type", "text/plain; charset=utf-8"}}, text,
                with_key ? &key_ : nullptr);
  if (!r.ok()) return r.status();
  if (r->code / 100 != 2) return AnswerStatus(op, *r);
  return absl::OkStatus();
}

absl::StatusOr<PushAnswer> Client::PushRun(const std::string& run_id, absl::string_view run_log_json) {
  auto headers = JsonHeaders();
  headers.emplace_back("Idempotency-Key", run_id);
  auto r = Call(*api_, "run push", "POST", o_.api_url + "/api/v1/cli/backup-runs", std::move(headers), run_log_json,
                &key_);
  if (!r.ok()) return r.status();
  if (r->code != 201 && r->code != 200) return AnswerStatus("run push", *r);
  PushAnswer a;
  a.code = r->code;
  simdjson::dom::parser parser;
  auto doc = ParseJson(parser, *r, "run push");
  if (doc.ok()) {
    Get(*doc, "id", a.id);
    Get(*doc, "url", a.url);
  }
  return a;
}

}  // namespace hab::hostatlas

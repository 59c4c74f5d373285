#include "integrations/hostatlas/reporter.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/json.h"
#include "integrations/hostatlas/auth_file.h"
#include "net/retry.h"

namespace hab::hostatlas {
namespace {

constexpr int kSpoolPerRun = 20;

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string Outcome(const std::string& outcome, const std::string& detail) {
  return absl::StrCat("{\"outcome\":", JsonString(outcome), ",\"detail\":", JsonString(detail), "}");
}

}  // namespace

Reporter::Reporter(ReporterOptions options) : o_(std::move(options)) {
  AuthFile auth;
  auto path = AuthFilePath(o_.auth_file);
  if (!path.ok()) {
    no_auth_reason_ = std::string(path.status().message());
  } else {
    auth_path_ = *path;
    auto loaded = LoadAuthFile(*path);
    if (loaded.ok()) {
      auth = std::move(*loaded);
      auth_ok_ = true;
    } else if (loaded.status().code() == absl::StatusCode::kNotFound) {
      no_auth_reason_ = absl::StrCat("not logged in (no ", *path, ")");
    } else {
      no_auth_reason_ = std::string(loaded.status().message());
      Warn(absl::StrCat("HostAtlas: auth.yml not used, this run is not pushed: ", loaded.status().message()));
    }
  }
  auto api = ApiBaseUrl("", auth_ok_ ? auth.api_url : "");
  if (!api.ok()) {
    Warn(absl::StrCat("HostAtlas: nothing is sent: ", api.status().message()));
    auth_ok_ = false;
    o_.slug.clear();
    no_auth_reason_ = std::string(api.status().message());
    return;
  }
  api_url_ = *api;
  key_id_ = auth.key_id;
  ClientOptions co;
  co.api_url = api_url_;
  co.api_timeout_seconds = 10;  // the slug check and spooled pushes: in the background
  co.cancel = o_.cancel;
  background_ = std::make_unique<Client>(co);
  background_->SetBounds(absl::InfiniteFuture(), &abort_);
  co.api_timeout_seconds = 30;
  co.cancel = nullptr;  // End sets its bounds: a run cancelled before the end still pings fail
  foreground_ = std::make_unique<Client>(co);
  if (auth_ok_) {
    background_->SetKey(SecretString(auth.api_key.reveal()));
    foreground_->SetKey(SecretString(auth.api_key.reveal()));
  }
}

Reporter::~Reporter() {
  abort_.store(true);
  if (worker_.joinable()) worker_.join();
}

void Reporter::StopBackground(absl::Duration grace) {
  if (!worker_.joinable()) return;
  {
    std::unique_lock<std::mutex> l(done_mu_);
    if (!done_cv_.wait_for(l, absl::ToChronoMilliseconds(grace), [this] { return worker_done_; }) &&
        grace > absl::ZeroDuration()) {
      // The API could not answer the slug check and the start ping within
      // the run and the grace: slow enough to count as down.
      offline_.store(true);
    }
  }
  abort_.store(true);  // in-flight requests end within about a second
  worker_.join();
}

void Reporter::Warn(std::string w) {
  std::lock_guard<std::mutex> l(mu_);
  warnings_.push_back(std::move(w));
}

void Reporter::Debug(std::string d) {
  std::lock_guard<std::mutex> l(mu_);
  debug_.push_back(std::move(d));
}

std::vector<std::string> Reporter::TakeWarnings() {
  std::lock_guard<std::mutex> l(mu_);
  return std::exchange(warnings_, {});
}

std::vector<std::string> Reporter::TakeDebug() {
  std::lock_guard<std::mutex> l(mu_);
  return std::exchange(debug_, {});
}

void Reporter::MarkOffline(const absl::Status& st) {
  if (IsTransient(st)) offline_.store(true);
}

void Reporter::CheckSlug(PreflightReport& report) {
  if (o_.slug.empty() || background_ == nullptr) return;
  PreflightCheck c;
  c.check = "heartbeat";
  c.subject = o_.slug;
  if (auth_ok_) {
    auto hb = background_->GetHeartbeat(o_.slug);
    if (hb.ok()) {
      c.detail = absl::StrCat("known to the account (\"", hb->name, "\", ", hb->status,
                              hb->last_ping_at.empty() ? ", never pinged" : ", last ping " + hb->last_ping_at, ")");
    } else {
      c.outcome = PreflightCheck::Outcome::kWarning;
      c.detail = hb.status().code() == absl::StatusCode::kNotFound
                     ? "this account has no heartbeat with that slug; pings will fail (hostatlas-backup heartbeat list)"
                     : absl::StrCat("not checked: ", hb.status().message());
      if (hb.status().code() == absl::StatusCode::kPermissionDenied) {
        c.detail += "\nhint: the API key was refused: run `hostatlas-backup login` again";
      }
      MarkOffline(hb.status());
    }
  } else {
    absl::Status st = background_->CheckPingUrl(o_.slug);
    if (st.ok()) {
      c.detail = "the ping URL answers";
    } else {
      c.outcome = PreflightCheck::Outcome::kWarning;
      c.detail = st.code() == absl::StatusCode::kNotFound ? "the ping URL does not know this slug; pings will fail"
                                                          : absl::StrCat("not checked: ", st.message());
      MarkOffline(st);
    }
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    slug_check_ = c;
  }
  if (c.outcome == PreflightCheck::Outcome::kOk) {
    report.Ok(c.check, c.subject, c.detail);
  } else {
    report.Warn(c.check, c.subject, c.detail);
  }
}

std::optional<PreflightCheck> Reporter::slug_check() const {
  std::lock_guard<std::mutex> l(mu_);
  return slug_check_;
}

void Reporter::Begin(std::string start_body) {
  if (background_ == nullptr || (o_.slug.empty() && !auth_ok_)) return;
  try {
    worker_ = std::thread([this, body = std::move(start_body)]() mutable {
      Background(std::move(body));
      std::lock_guard<std::mutex> l(done_mu_);
      worker_done_ = true;
      done_cv_.notify_all();
    });
  } catch (const std::system_error& e) {
    Warn(absl::StrCat("HostAtlas: no background thread (", e.what(), "): no start ping, spool not sent"));
  }
}

void Reporter::Background(std::string start_body) {
  auto stopped = [this] { return abort_.load() || (o_.cancel != nullptr && o_.cancel->load()); };
  if (!o_.slug.empty()) {
    PreflightReport scratch;  // the entry is kept in slug_check_
    CheckSlug(scratch);
    if (!stopped()) SendPing(*background_, PingEvent::kStart, start_body, offline_.load() ? 1 : 3, &abort_);
  }
  if (auth_ok_ && !o_.spool_dir.empty() && !offline_.load() && !stopped()) RetrySpool();
}

void Reporter::SendPing(Client& client, PingEvent event, const std::string& body, int max_attempts,
                        const std::atomic<bool>* stop) {
  RetryPolicy policy;
  policy.max_attempts = max_attempts;
  policy.fixed_delays = {absl::Seconds(1), absl::Seconds(3)};
  int attempts = 0;
  auto t0 = std::chrono::steady_clock::now();
  absl::Status st = RetryLoop(policy, stop, [&]() {
    ++attempts;
    bool with_key = client.has_key() && !key_rejected_.load();
    absl::Status s = client.Ping(o_.slug, event, o_.run_id, body, with_key);
    if (s.code() == absl::StatusCode::kPermissionDenied && with_key) {
      // The slug is the ping's secret; a revoked key must not silence it.
      key_rejected_.store(true);
      s = client.Ping(o_.slug, event, o_.run_id, body, false);
    }
    MarkOffline(s);  // any transient failure: later calls of this run get one attempt
    return s;
  });
  double secs = SecondsSince(t0);
  std::string entry = absl::StrCat(
      "{\"event\":\"", PingEventName(event), "\",\"slug\":", JsonString(o_.slug), ",\"outcome\":\"",
      st.ok() ? "ok" : "failed", "\",\"attempts\":", attempts, ",\"duration_seconds\":", absl::StrFormat("%.3f", secs),
      ",\"detail\":", JsonString(st.ok() ? "" : std::string(st.message())), "}");
  {
    std::lock_guard<std::mutex> l(mu_);
    pings_json_.push_back(std::move(entry));
  }
  if (!st.ok()) {
    Warn(absl::StrCat("HostAtlas: heartbeat ", o_.slug, ": ", st.message(),
                      st.code() == absl::StatusCode::kNotFound ? " (unknown slug? hostatlas-backup heartbeat list)" : "",
                      attempts > 1 ? absl::StrCat(" (", attempts, " attempts)") : ""));
  }
}

void Reporter::End(int exit_code, const std::string& body) {
  end_deadline_ = absl::Now() + kEndBudget;
  bool cancelled = o_.cancel != nullptr && o_.cancel->load();
  StopBackground(cancelled ? absl::ZeroDuration() : kWorkerGrace);
  if (o_.slug.empty() || foreground_ == nullptr) return;
  if (cancelled) {
    // The run was stopped: one attempt, short, not cancellable (the fail
    // ping is what tells the dashboard).
    foreground_->SetBounds(std::min(end_deadline_, absl::Now() + absl::Seconds(5)), nullptr);
    SendPing(*foreground_, PingEvent::kFail, body, 1, nullptr);
    return;
  }
  // A signal now aborts what is in flight and the waits between attempts.
  foreground_->SetBounds(end_deadline_, o_.cancel);
  SendPing(*foreground_, exit_code == 0 ? PingEvent::kOk : PingEvent::kFail, body, offline_.load() ? 1 : 3,
           o_.cancel);
}

void Reporter::RetrySpool() {
  Spool spool(o_.spool_dir, key_id_);
  std::vector<std::string> dropped;
  std::vector<Spool::Entry> entries = spool.List(o_.now_unix, &dropped);
  for (const auto& id : dropped) {
    Warn(absl::StrCat("HostAtlas: the spooled run log of run ", id, " was older than ", Spool::kMaxAgeDays,
                      " days and was dropped unsent"));
  }
  int sent = 0, tried = 0, refused = 0;
  for (const auto& e : entries) {
    if (tried++ == kSpoolPerRun || abort_.load() || (o_.cancel != nullptr && o_.cancel->load())) break;
    auto body = spool.Read(e);
    if (!body.ok()) {
      spool.Remove(e);
      Warn(absl::StrCat("HostAtlas: spooled run log ", e.path, " unreadable, dropped: ", body.status().message()));
      continue;
    }
    auto r = background_->PushRun(e.run_id, *body);
    if (r.ok()) {
      spool.Remove(e);
      ++sent;
      continue;
    }
    if (r.status().code() == absl::StatusCode::kInvalidArgument) {
      // 400/422: the server will never take it; keeping it would block the spool.
      spool.Remove(e);
      ++refused;
      Warn(absl::StrCat("HostAtlas: the server refused the spooled run log of run ", e.run_id,
                        "; dropped: ", r.status().message()));
      continue;
    }
    MarkOffline(r.status());
    Debug(absl::StrCat("HostAtlas: spooled run logs not sent yet: ", r.status().message()));
    break;
  }
  std::lock_guard<std::mutex> l(mu_);
  spool_sent_ = sent;
  spool_dropped_ += refused + static_cast<int>(dropped.size());
}

void Reporter::Push(const std::string& run_log_json) {
  auto set = [&](std::string j) {
    std::lock_guard<std::mutex> l(mu_);
    push_json_ = std::move(j);
  };
  if (!auth_ok_ || foreground_ == nullptr) {
    Debug(absl::StrCat("HostAtlas: ", no_auth_reason_, ": the run log is not pushed"));
    set(Outcome("skipped", no_auth_reason_));
    return;
  }
  auto spool_it = [&](const std::string& why) -> std::string {
    if (o_.spool_dir.empty()) return why;
    std::vector<std::string> dropped;
    absl::Status st = Spool(o_.spool_dir, key_id_).Add(o_.run_id, o_.now_unix, run_log_json, &dropped);
    for (const auto& id : dropped) {
      Warn(absl::StrCat("HostAtlas: the push spool is full (", Spool::kMaxEntries, "); the run log of run ", id,
                        " was dropped unsent"));
    }
    if (!st.ok()) return absl::StrCat(why, "; not spooled: ", st.message());
    return absl::StrCat(why, "; kept in ", o_.spool_dir, ", sent with a later run");
  };
  if (end_deadline_ == absl::InfinitePast()) end_deadline_ = absl::Now() + kEndBudget;  // End was not called
  bool cancelled = o_.cancel != nullptr && o_.cancel->load();
  const char* untried = cancelled               ? "run push not tried (the run was cancelled)"
                        : offline_.load()       ? "run push not tried (the HostAtlas API failed earlier in this run)"
                        : absl::Now() + absl::Seconds(1) >= end_deadline_
                            ? "run push not tried (no time left of the 35 s HostAtlas may add to a run)"
                            : nullptr;
  if (untried != nullptr) {
    std::string why = spool_it(untried);
    Warn("HostAtlas: " + why);
    set(absl::StrCat("{\"outcome\":\"spooled\",\"detail\":", JsonString(why), "}"));
    return;
  }
  foreground_->SetBounds(end_deadline_, o_.cancel);
  auto r = foreground_->PushRun(o_.run_id, run_log_json);
  if (r.ok()) {
    set(absl::StrCat("{\"outcome\":\"ok\",\"id\":", JsonString(r->id), ",\"url\":", JsonString(r->url),
                     ",\"http_status\":", r->code, "}"));
    Debug(absl::StrCat("HostAtlas: run pushed: ", r->url));
    return;
  }
  const absl::Status& st = r.status();
  std::string why = std::string(st.message());
  bool keep = IsTransient(st) || st.code() == absl::StatusCode::kPermissionDenied ||
              st.code() == absl::StatusCode::kCancelled;
  if (st.code() == absl::StatusCode::kPermissionDenied) why += "; run `hostatlas-backup login` again";
  MarkOffline(st);
  if (keep) {
    why = spool_it(why);
    set(absl::StrCat("{\"outcome\":\"spooled\",\"detail\":", JsonString(why), "}"));
  } else {
    set(absl::StrCat("{\"outcome\":\"failed\",\"detail\":", JsonString(why), "}"));
  }
  Warn("HostAtlas: " + why);
}

std::string Reporter::LogFields() const {
  std::lock_guard<std::mutex> l(mu_);
  return absl::StrCat("\"logged_in\":", auth_ok_ ? "true" : "false",
                      api_url_.empty() ? "" : absl::StrCat(",\"api_url\":", JsonString(api_url_)), ",\"key_id\":", key_id_.empty() ? "null" : JsonString(key_id_), ",\"heartbeat\":[",
                      absl::StrJoin(pings_json_, ","), "],\"spool\":{\"sent\":", spool_sent_,
                      ",\"dropped\":", spool_dropped_, "}");
}

std::string Reporter::PushJson() const {
  std::lock_guard<std::mutex> l(mu_);
  return push_json_.empty() ? "{\"outcome\":\"pending\"}" : push_json_;
}

}  // namespace hab::hostatlas

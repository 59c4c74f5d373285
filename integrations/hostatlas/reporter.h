// Reporter: what a run tells HostAtlas, best effort and bounded. The run
// knows only "ping this event" and "report this run"; everything else
// (auth.yml, retries, the spool, what goes into the run log) is here.
//
// A run (cli/commands.cc, CmdRun):
//   Reporter r(options);              // reads auth.yml (problems: warnings)
//   r.Begin(start_body);              // in the background: slug check, ping
//                                     // start, send spooled pushes
//   ... pre-flight, hooks, backup ...
//   r.End(exit_code, end_body);       // waits for Begin's work; ping ok/fail
//   log: hostatlas = r.LogFields() + push r.PushJson()  (pending)
//   r.Push(run_log_bytes);            // POST; on failure: spool
//   log: push = r.PushJson(), rewritten
//
// Bounds (docs/hostatlas.md): a ping is tried 3 times (10 s each, 1 s and
// 3 s apart: at most 34 s), an API call once (30 s; the slug check 10 s).
// Begin's work overlaps the run. Once a call of this run found the API
// unreachable (connection, timeout, 5xx), later pings are tried once and
// the push goes to the spool untried, so a dead API costs a run at most
// the background work plus one ping (10 s) at the end. After SIGINT/SIGTERM
// the end ping is tried once and the push is spooled. Nothing here changes
// an exit code.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/preflight.h"
#include "integrations/hostatlas/api.h"
#include "integrations/hostatlas/spool.h"

namespace hab::hostatlas {

struct ReporterOptions {
  std::string auth_file;  // --auth-file ("" = default path)
  std::string slug;       // heartbeat slug ("" = none; must be valid)
  std::string run_id;
  std::string spool_dir;  // "" = no spool
  int64_t now_unix = 0;
  // The run's SIGINT/SIGTERM flag: cancels Begin's work; End's and Push's
  // calls are bounded instead (a cancelled run still pings fail).
  const std::atomic<bool>* cancel = nullptr;
};

class Reporter {
 public:
  explicit Reporter(ReporterOptions options);
  ~Reporter();
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  bool logged_in() const { return auth_ok_; }
  const std::string& auth_path() const { return auth_path_; }
  // Why there is no login ("" when logged in): for the --debug line.
  const std::string& not_logged_in_reason() const { return no_auth_reason_; }

  // Dry run: the slug check, synchronous (one attempt, 10 s), as a
  // pre-flight entry (warning only). Nothing else is sent.
  void CheckSlug(PreflightReport& report);
  // Non-dry run: starts the background work.
  void Begin(std::string start_body);
  // Waits for Begin's work; pings ok (exit 0) or fail. Safe without Begin
  // (then no start ping was sent; the end ping still is).
  void End(int exit_code, const std::string& body);
  // After End: the slug check's pre-flight entry, if one was made.
  std::optional<PreflightCheck> slug_check() const;
  // Sends the run log (when logged in); spools it on a failure worth
  // retrying.
  void Push(const std::string& run_log_json);

  // Lines for stderr and the run log's warnings; each returned once.
  std::vector<std::string> TakeWarnings();
  // Lines for --debug.
  std::vector<std::string> TakeDebug();
  // The run log's "hostatlas" object members before "push":
  // "logged_in":..,"api_url":..,"heartbeat":[..],"spool":{..}
  std::string LogFields() const;
  // The "push" member's value: {"outcome":"pending"} until Push returns.
  std::string PushJson() const;

 private:
  void Background(std::string start_body);
  void RetrySpool();
  // One ping under the retry policy (attempts: 3, or 1 once offline).
  void SendPing(Client& client, PingEvent event, const std::string& body, int max_attempts);
  void Warn(std::string w);
  void Debug(std::string d);
  void MarkOffline(const absl::Status& st);

  ReporterOptions o_;
  std::string auth_path_, no_auth_reason_, api_url_, key_id_;
  bool auth_ok_ = false;
  std::unique_ptr<Client> background_, foreground_;  // cancellable by the run / bounded only
  std::thread worker_;
  std::atomic<bool> offline_{false};
  std::atomic<bool> key_rejected_{false};

  mutable std::mutex mu_;
  std::vector<std::string> warnings_, debug_;
  std::vector<std::string> pings_json_;
  std::optional<PreflightCheck> slug_check_;
  int spool_sent_ = 0, spool_dropped_ = 0;
  std::string push_json_;
};

}  // namespace hab::hostatlas

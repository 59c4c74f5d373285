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
// Bounds (docs/hostatlas.md): everything after the backup (waiting for
// the background work, the end ping, the push) fits in kEndBudget (35 s),
// whatever the API does; a ping is tried 3 times (1 s then 3 s apart),
// each request within what is left. The background work (slug check 10 s,
// start ping, spooled pushes 10 s each) overlaps the run; at the end it
// gets at most kWorkerGrace (10 s) more, then it is aborted. Once a
// request of this run failed transiently (unreachable, timeout, 5xx), the
// API counts as down: later pings get one attempt and the push goes to the
// spool untried. A run cancelled before the end: background aborted at
// once, one end-ping attempt (5 s), push spooled; SIGINT/SIGTERM during
// the end aborts what is in flight within a second. Nothing here changes
// an exit code.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
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
  static constexpr absl::Duration kEndBudget = absl::Seconds(35);
  static constexpr absl::Duration kWorkerGrace = absl::Seconds(10);

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
  // One ping under the retry policy (attempts: 3, or 1 once offline);
  // `stop` ends the waits between attempts.
  void SendPing(Client& client, PingEvent event, const std::string& body, int max_attempts,
                const std::atomic<bool>* stop);
  // Waits for the background work at most `grace`, then aborts it.
  void StopBackground(absl::Duration grace);
  void Warn(std::string w);
  void Debug(std::string d);
  void MarkOffline(const absl::Status& st);

  ReporterOptions o_;
  std::string auth_path_, no_auth_reason_, api_url_, key_id_;
  bool auth_ok_ = false;
  std::unique_ptr<Client> background_, foreground_;
  std::thread worker_;
  std::atomic<bool> abort_{false};  // ends the background work
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool worker_done_ = false;
  std::atomic<bool> offline_{false};
  std::atomic<bool> key_rejected_{false};
  absl::Time end_deadline_ = absl::InfinitePast();

  mutable std::mutex mu_;
  std::vector<std::string> warnings_, debug_;
  std::vector<std::string> pings_json_;
  std::optional<PreflightCheck> slug_check_;
  int spool_sent_ = 0, spool_dropped_ = 0;
  std::string push_json_;
};

}  // namespace hab::hostatlas

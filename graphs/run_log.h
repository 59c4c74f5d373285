// RunLog: the JSON record of one run (docs/run-log.md has the schema).
//
// Built as one JSON object (Json()), then written (Write()) atomically to
// /var/log/hostatlas-backup/run-<UTC>.json as root, $XDG_STATE_HOME/
// hostatlas-backup/ (default ~/.local/state) otherwise;
// HOSTATLAS_BACKUP_LOG_DIR overrides the directory. The same bytes can be
// sent elsewhere (the HostAtlas push). Never holds secrets: it is built
// from results and plan data, which carry none.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/json.h"
#include "engine/preflight.h"
#include "graphs/backup.h"
#include "graphs/hooks.h"

namespace hab {

class RunLog {
 public:
  // `config_path` is recorded absolute, so `status` can tell configs apart.
  RunLog(std::string config_path, std::string host, int64_t started_unix, bool dry_run);
  const std::string& run_id() const { return run_id_; }
  void AddPreflight(const PreflightReport& report);
  // One failed check outside the pre-flight proper (config, lock).
  void AddPreflightFailure(const std::string& check, const std::string& detail);
  void SetLockCollision() { lock_collision_ = true; }
  void SetBackup(const BackupResult& result, bool cancelled);
  // The run was interrupted before the backup (pre-flight, pre hooks).
  void SetCancelled() { cancelled_ = true; }
  void AddHooks(const std::vector<HookResult>& hooks);
  void AddWarning(const std::string& warning);
  // hostatlas.server_uuid of the config ("" = absent).
  void SetServerUuid(std::string uuid) { server_uuid_ = std::move(uuid); }
  // The "hostatlas" object: its members before "push", then push's value
  // (last, so a rewrite after the push changes only that).
  void SetHostAtlas(std::string fields) { hostatlas_fields_ = std::move(fields); }
  void SetPush(std::string push_json) { push_json_ = std::move(push_json); }
  // The whole record for `exit_code` (ended now).
  std::string Json(int exit_code) const;
  // Writes Json(exit_code); returns the file's path. Problems writing it
  // are reported on stderr and returned. A second call replaces the same
  // file (the push outcome, after the push).
  absl::StatusOr<std::string> Write(int exit_code);
  // The bytes the last Write wrote (or tried to).
  const std::string& written() const { return written_; }
  // The directory run logs go to; kFailedPrecondition when there is none
  // that only this user can write (non-root without HOME or XDG_STATE_HOME).
  static absl::StatusOr<std::string> Directory();

 private:
  std::string run_id_;
  std::string config_path_, host_;
  int64_t started_;
  bool dry_run_;
  bool cancelled_ = false;
  bool lock_collision_ = false;
  std::vector<std::string> preflight_json_;
  std::vector<std::string> sources_json_;
  std::vector<std::string> hooks_json_;
  std::vector<std::string> warnings_json_;
  std::vector<std::string> swept_json_;
  uint64_t bytes_in_ = 0, bytes_out_ = 0, memory_peak_ = 0;
  mutable int64_t ended_ = 0;
  std::string server_uuid_;
  std::string hostatlas_fields_ = "\"logged_in\":false";
  std::string push_json_ = "null";
  std::string path_, written_;
};

// The archive file names the run logs in `dir` say `host` wrote (any
// config): how pre-flight tells a shared destination.
std::set<std::string> ArchivesWrittenBy(const std::string& dir, const std::string& host);
// A random (version 4) UUID.
std::string NewUuid();

}  // namespace hab

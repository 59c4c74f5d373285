// RunLog: the JSON record of one run (docs/run-log.md has the schema).
//
// Written atomically to /var/log/hostatlas-backup/run-<UTC>.json as root,
// $XDG_STATE_HOME/hostatlas-backup/ (default ~/.local/state) otherwise;
// HOSTATLAS_BACKUP_LOG_DIR overrides the directory. Never holds secrets:
// it is built from results and plan data, which carry none.
#pragma once

#include <string>
#include <vector>

#include "graphs/backup.h"
#include "graphs/hooks.h"

namespace hab {

class RunLog {
 public:
  RunLog(std::string config_path, std::string host, int64_t started_unix, bool dry_run);
  void AddPreflight(const std::string& check, bool ok, const std::string& detail);
  void SetBackup(const BackupResult& result, bool cancelled);
  // The run was interrupted before the backup (pre-flight, pre hooks).
  void SetCancelled() { cancelled_ = true; }
  void AddHooks(const std::vector<HookResult>& hooks);
  // Writes the file; problems writing it are reported on stderr only.
  void Finish(int exit_code);
  static std::string Directory();

 private:
  std::string config_path_, host_;
  int64_t started_;
  bool dry_run_;
  bool cancelled_ = false;
  std::vector<std::string> preflight_json_;
  std::vector<std::string> sources_json_;
  std::vector<std::string> hooks_json_;
  std::vector<std::string> warnings_json_;
  uint64_t bytes_in_ = 0, bytes_out_ = 0, memory_peak_ = 0;
};

std::string JsonString(absl::string_view s);

}  // namespace hab

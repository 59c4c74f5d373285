// `status` and `list`: the last run of this config (from its run logs,
// offline) and what is at the destination (archives per source across dated
// folders, leftovers of interrupted runs).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "graphs/config.h"

namespace hab {

struct StatusOptions {
  bool json = false;
  const BackupSpec* spec = nullptr;  // null: no destination snapshot
  std::string config_path;           // the run logs of this config only
  std::string hostname;
  int64_t now_unix = 0;
  const std::atomic<bool>* cancel = nullptr;
  // The HostAtlas part, made by the caller (cli): lines for the text view
  // and a JSON object ("null" when absent).
  std::string hostatlas_text;
  std::string hostatlas_json = "null";
  // The last `run` that took the config's lock (from its lock file; the
  // caller reads it): a start newer than the last run log's end is a run
  // in progress, or one that died without a run log (kill -9, OOM, power).
  int64_t lock_pid = 0;
  std::string lock_started;  // RFC 3339; "" when unknown
  bool lock_running = false;
};

absl::StatusOr<std::string> RenderStatus(const StatusOptions& options);

// Every archive at the destination per source (key, time, size), newest
// first; text or JSON.
absl::StatusOr<std::string> RenderList(const StatusOptions& options);

}  // namespace hab

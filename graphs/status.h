// `status`: the newest run log's summary plus a snapshot of the destination
// (archives per source, newest, total size). Works offline; the destination
// part needs only the config (a local destination, or a reachable remote).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "graphs/config.h"

namespace hab {

struct StatusOptions {
  bool json = false;
  const BackupSpec* spec = nullptr;  // null: no destination snapshot
  std::string hostname;
  int64_t now_unix = 0;
};

absl::StatusOr<std::string> RenderStatus(const StatusOptions& options);

}  // namespace hab

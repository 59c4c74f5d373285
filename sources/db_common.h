// Shared by the database sources: password resolution and a short child run
// for pre-flight probes and format checks.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/child_process.h"
#include "engine/config_node.h"
#include "engine/preflight.h"

namespace hab {

// The config block both database kinds share.
struct DbSettings {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string user;
  std::string password_env;
  std::string password_file;
  std::string database;
  int64_t command_timeout_seconds = 21600;
  std::vector<std::string> extra_args;
};
void ParseDbSettings(ConfigNode& block, int default_port, DbSettings& out);
// For the plan: the password only as where it comes from.
std::vector<std::pair<std::string, std::string>> DbPlanParams(const DbSettings& s);

// The password from `password_env` (the variable must be set) or
// `password_file` (must be mode 0600 or stricter, trailing newline dropped).
// Neither set: empty (trust/peer auth). Errors name the variable or file,
// never the value.
absl::StatusOr<std::string> ResolvePassword(const std::string& password_env,
                                            const std::string& password_file);

// Adds "check: detail" problem lines (as RequireTools and the kinds'
// probes write them) to `report` as failed checks.
void AddProblemLines(PreflightReport& report, const std::vector<std::string>& lines);

// Pre-flight: each tool resolves in $PATH; one problem line (with `hint`)
// per missing tool. Returns true when all were found.
bool RequireTools(const std::string& source, std::initializer_list<const char*> tools,
                  const char* hint, std::vector<std::string>& problems);

struct ProbeResult {
  ExitInfo exit;
  std::string output;  // stdout+stderr tail
};
// Runs argv with env to completion (or the timeout, or until `*cancel`)
// and returns its output.
absl::StatusOr<ProbeResult> RunProbe(std::vector<std::string> argv, std::vector<std::string> env,
                                     int timeout_seconds, const std::atomic<bool>* cancel = nullptr,
                                     const std::string& stdin_data = "");

}  // namespace hab

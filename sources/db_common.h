// Shared by the database sources: password resolution and a short child run
// for pre-flight probes and format checks.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/child_process.h"

namespace hab {

// The password from `password_env` (the variable must be set) or
// `password_file` (must be mode 0600 or stricter, trailing newline dropped).
// Neither set: empty (trust/peer auth). Errors name the variable or file,
// never the value.
absl::StatusOr<std::string> ResolvePassword(const std::string& password_env,
                                            const std::string& password_file);

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

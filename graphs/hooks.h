// Pre/post hooks: each command through /bin/sh -c, in its own process
// group, with a per-command timeout after which the whole group is killed.
// Post hooks learn the outcome from the environment:
//   HOSTATLAS_BACKUP_STATUS     ok | failed | cancelled (post hooks only)
//   HOSTATLAS_BACKUP_EXIT_CODE  0 | 1 | 2
//   HOSTATLAS_BACKUP_CONFIG     the config path
//   HOSTATLAS_BACKUP_PHASE      pre | post
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "engine/preflight.h"
#include "graphs/config.h"

namespace hab {

struct HookResult {
  std::string phase;  // pre | post
  std::string command;
  bool ok = false;
  std::string outcome;  // "exit code 0", "killed after the timeout", ...
  double seconds = 0;
  std::string output_tail;  // last 2 KiB of stdout+stderr
};

// Runs hooks in order. Pre hooks stop at the first failure. When `*cancel`
// becomes true (SIGINT/SIGTERM) the running hook's process group gets
// TERM, then KILL after a grace period, and no further hook starts; post
// hooks are run with no cancel flag, so they run even after a cancelled
// backup (a `systemctl start my-app` must not be skipped).
std::vector<HookResult> RunHooks(const std::string& phase, const std::vector<std::string>& commands,
                                 int64_t timeout_seconds,
                                 const std::vector<std::string>& extra_env,
                                 const std::atomic<bool>* cancel = nullptr);

// Pre-flight: the first word of each command resolves in $PATH (or is a
// shell builtin); one check per command.
void CheckHooks(const BackupSpec& spec, PreflightReport& report);

}  // namespace hab

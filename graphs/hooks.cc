#include "graphs/hooks.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/child_process.h"

namespace hab {

std::vector<HookResult> RunHooks(const std::string& phase, const std::vector<std::string>& commands,
                                 int64_t timeout_seconds, const std::vector<std::string>& extra_env,
                                 const std::atomic<bool>* cancel) {
  std::vector<HookResult> results;
  for (const auto& cmd : commands) {
    if (cancel != nullptr && cancel->load()) break;
    HookResult r;
    r.phase = phase;
    r.command = cmd;
    absl::Time start = absl::Now();
    SpawnOptions opt;
    opt.argv = {"/bin/sh", "-c", cmd};
    opt.extra_env = extra_env;
    opt.extra_env.push_back("HOSTATLAS_BACKUP_PHASE=" + phase);
    opt.merge_output = true;
    opt.tail_bytes = 2048;
    opt.supervise_group = true;
    auto child = ChildProcess::Spawn(std::move(opt));
    if (!child.ok()) {
      r.outcome = std::string(child.status().message());
    } else {
      ExitInfo info = (*child)->Wait(start + absl::Seconds(timeout_seconds), cancel);
      r.ok = info.ok();
      r.outcome = info.timed_out ? absl::StrCat("killed after hooks.timeout_seconds (",
                                                timeout_seconds, " s)")
                                 : info.Describe();
      r.output_tail = (*child)->Tail();
    }
    r.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    results.push_back(r);
    if (!r.ok && phase == "pre") break;  // a failed pre-hook aborts the backup
  }
  return results;
}

void CheckHooks(const BackupSpec& spec, PreflightReport& report) {
  static const std::set<std::string> kBuiltins = {
      ":", ".", "true", "false", "echo", "exit", "cd", "test", "[", "set", "export", "printf",
      "sleep", "exec", "eval", "command", "if", "for", "while", "case", "{", "(", "!"};
  auto check = [&](const std::string& phase, const std::string& cmd) {
    std::vector<std::string> words = absl::StrSplit(cmd, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    // Skip leading VAR=value assignments.
    size_t i = 0;
    while (i < words.size() && words[i].find('=') != std::string::npos && words[i][0] != '=') ++i;
    std::string subject = absl::StrCat(phase, ": \"", cmd, "\"");
    if (i >= words.size()) {
      report.Ok("hooks", subject, "only assignments");
      return;
    }
    const std::string& prog = words[i];
    std::string full;
    if (kBuiltins.count(prog)) {
      report.Ok("hooks", subject, "shell builtin");
    } else if (FindInPath(prog, &full)) {
      report.Ok("hooks", subject, full);
    } else {
      report.Fail("hooks", subject, absl::StrCat(prog, " not found in $PATH"));
    }
  };
  for (const auto& c : spec.pre_hooks) check("pre", c);
  for (const auto& c : spec.post_hooks) check("post", c);
}

}  // namespace hab

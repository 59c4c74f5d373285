#include "cli/commands.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include <cstring>
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/output.h"
#include "cli/run_lock.h"
#include "engine/file_util.h"
#include "engine/unique_fd.h"
#include "graphs/backup.h"
#include "graphs/config.h"
#include "graphs/hooks.h"
#include "graphs/status.h"
#include "graphs/plan.h"
#include "graphs/run_log.h"
#include "nodes/age_format.h"
#include "version.h"

namespace hab::cli {
namespace {

std::atomic<bool> g_cancel{false};

void OnSignal(int) { g_cancel.store(true); }

void InstallSignalHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string Home() { return EnvOr("HOME", "/root"); }

std::string Hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

bool FlagValue(const std::vector<std::string>& args, size_t& i, const std::string& name,
               std::string& out) {
  const std::string& a = args[i];
  if (a == name && i + 1 < args.size()) {
    out = args[++i];
    return true;
  }
  if (a.rfind(name + "=", 0) == 0) {
    out = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

}  // namespace

std::string DefaultConfigPath() {
  if (::geteuid() == 0) return "/etc/hostatlas/backup/backup.yml";
  return EnvOr("XDG_CONFIG_HOME", Home() + "/.config") + "/hostatlas/backup/backup.yml";
}

int CmdVersion(const std::vector<std::string>&) {
  std::printf("hostatlas-backup %s (%s)\n", HAB_VERSION, HAB_COMMIT);
  return kExitOk;
}

int CmdKeygen(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (FlagValue(args, i, "-o", out) || FlagValue(args, i, "--output", out)) continue;
    Error("keygen: unknown argument \"" + args[i] + "\"");
    return kExitPreflight;
  }
  auto id = age::X25519Identity::Generate();
  if (out.empty()) {
    if (::isatty(STDOUT_FILENO)) {
      Error("keygen: refusing to print a private key to a terminal");
      Hint("use hostatlas-backup keygen -o /etc/hostatlas/backup/age.key");
      return kExitPreflight;
    }
    std::string text = age::FormatIdentityFile(id);
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    absl::Status st = age::WriteNewIdentityFile(out, id);
    if (!st.ok()) {
      Error(absl::StrCat("keygen: ", st.message()));
      return kExitPreflight;
    }
  }
  std::fprintf(stderr, "Public key: %s\n", id.Recipient().ToString().c_str());
  return kExitOk;
}

int CmdExampleConfig(const std::vector<std::string>& args) {
  std::string source, dest, recipient;
  for (size_t i = 0; i < args.size(); ++i) {
    if (FlagValue(args, i, "--source", source) || FlagValue(args, i, "--dest", dest) ||
        FlagValue(args, i, "--recipient", recipient)) {
      continue;
    }
    Error("example-config: unknown argument \"" + args[i] + "\"");
    return kExitPreflight;
  }
  if (source.empty() || dest.empty() || recipient.empty()) {
    Error("example-config needs --source, --dest and --recipient");
    return kExitPreflight;
  }
  std::string yaml = DefaultConfigYaml(source, dest, recipient);
  std::fwrite(yaml.data(), 1, yaml.size(), stdout);
  return kExitOk;
}

int CmdRun(const GlobalFlags& g, const std::vector<std::string>& args) {
  bool dry_run = false;
  std::string format = "text";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dry-run") {
      dry_run = true;
    } else if (FlagValue(args, i, "--format", format)) {
      if (format != "text" && format != "dot") {
        Error("run: --format must be text or dot");
        return kExitPreflight;
      }
    } else {
      Error("run: unknown argument \"" + args[i] + "\"");
      return kExitPreflight;
    }
  }
  // From the start: SIGINT/SIGTERM during pre-flight or a hook must stop
  // the run within a second, not after the check that happens to run.
  InstallSignalHandlers();
  std::string config_path = g.config_path.empty() ? DefaultConfigPath() : g.config_path;
  int64_t started = std::time(nullptr);
  RunLog log(config_path, Hostname(), started, dry_run);
  auto spec = LoadConfig(config_path);
  if (!spec.ok()) {
    Error(spec.status().message());
    log.AddPreflight("config", false, std::string(spec.status().message()));
    log.Finish(kExitPreflight);
    return kExitPreflight;
  }
  PlanContext pc;
  pc.hostname = Hostname();
  pc.now_unix = started;
  pc.cancel = &g_cancel;
  RunLock lock;
  if (!dry_run) {
    absl::Status st = lock.Acquire(config_path);
    if (!st.ok()) {
      Error(st.message());
      log.AddPreflight("lock", false, std::string(st.message()));
      log.Finish(kExitPreflight);
      return kExitPreflight;
    }
  }
  EstimateSources(*spec, pc);
  std::vector<std::string> problems = Preflight(*spec, pc);
  if (g_cancel.load()) {
    Error("cancelled during pre-flight (SIGINT/SIGTERM); nothing was written");
    log.SetCancelled();
    log.Finish(kExitPreflight);
    return kExitPreflight;
  }
  for (const auto& p : problems) {
    Error("pre-flight: " + p);
    log.AddPreflight("preflight", false, p);
  }
  if (problems.empty()) log.AddPreflight("preflight", true, "all checks passed");
  for (size_t i = 0; i < pc.estimates.size() && i < spec->sources.size(); ++i) {
    if (spec->sources[i].type != "files") continue;  // databases: unknown
    bool bound = i < pc.estimate_is_bound.size() && pc.estimate_is_bound[i];
    Trace(absl::StrCat("size estimate: ", spec->sources[i].name, ": ", pc.estimates[i], " bytes (",
                       bound ? "used space of its filesystem, fits: tree not walked" : "walked", ")"));
  }
  GraphPlan plan = BuildBackupPlan(*spec, pc);
  if (dry_run) {
    std::string text = format == "dot" ? PrintPlanDot(plan) : PrintPlanText(plan);
    std::fwrite(text.data(), 1, text.size(), stdout);
    int code = problems.empty() ? kExitOk : kExitPreflight;
    log.Finish(code);
    return code;
  }
  if (!problems.empty()) {
    log.Finish(kExitPreflight);
    return kExitPreflight;
  }
  Trace(PrintPlanText(plan));
  std::vector<std::string> hook_env = {"HOSTATLAS_BACKUP_CONFIG=" + config_path};
  std::vector<HookResult> pre =
      RunHooks("pre", spec->pre_hooks, spec->hook_timeout_seconds, hook_env, &g_cancel);
  log.AddHooks(pre);
  bool pre_ok = true;
  for (const auto& h : pre) {
    if (!h.ok) {
      pre_ok = false;
      Error(absl::StrCat("pre-hook \"", h.command, "\" failed (", h.outcome, "); backup aborted"));
      if (!h.output_tail.empty()) Info(absl::StrCat("pre-hook output: ", h.output_tail));
    }
  }
  auto run_post = [&](int code, const char* status) {
    std::vector<std::string> env = hook_env;
    env.push_back(absl::StrCat("HOSTATLAS_BACKUP_STATUS=", status));
    env.push_back(absl::StrCat("HOSTATLAS_BACKUP_EXIT_CODE=", code));
    std::vector<HookResult> post = RunHooks("post", spec->post_hooks, spec->hook_timeout_seconds, env);
    log.AddHooks(post);
    // A failed post-hook is logged but never fails the backup.
    for (const auto& h : post) {
      if (!h.ok) Warn(absl::StrCat("post-hook \"", h.command, "\" failed (", h.outcome, ")"));
    }
  };
  if (!pre_ok || g_cancel.load()) {
    if (g_cancel.load()) {
      Error("cancelled during the pre hooks (SIGINT/SIGTERM); backup skipped");
      log.SetCancelled();
    }
    run_post(kExitFailure, g_cancel.load() ? "cancelled" : "failed");
    log.Finish(kExitFailure);
    return kExitFailure;
  }
  BackupResult result = RunBackup(*spec, pc, g_cancel);
  for (const auto& w : result.warnings) Warn(w);
  for (const auto& s : result.sources) {
    for (const auto& w : s.warnings) Warn(absl::StrCat(s.name, ": ", w));
    if (s.zstd_frames > 0) {
      // Why an archive is as large as its source: data that was compressed
      // or encrypted already.
      Trace(absl::StrCat(s.name, ": zstd: ", s.zstd_stored_frames, " of ", s.zstd_frames,
                         " chunks incompressible (stored, not compressed)"));
    }
    if (s.status.ok()) {
      Info(absl::StrCat(s.name, ": ok ", s.archive_key, " (", s.bytes_in, " bytes in, ", s.bytes_out,
                        " bytes out, ", s.members, " members, verification ", s.verification, ")"));
    } else {
      Error(absl::StrCat(s.name, ": failed: ", s.status.message()));
    }
    for (const auto& d : s.deleted) Info(absl::StrCat(s.name, ": retention deleted ", d));
  }
  log.SetBackup(result, g_cancel.load());
  int code = result.ok() ? kExitOk : kExitFailure;
  run_post(code, code == kExitOk ? "ok" : g_cancel.load() ? "cancelled" : "failed");
  log.Finish(code);
  return code;
}

int CmdStatus(const GlobalFlags& g, const std::vector<std::string>& args) {
  StatusOptions opt;
  for (const auto& a : args) {
    if (a == "--json") {
      opt.json = true;
    } else {
      Error("status: unknown argument \"" + a + "\"");
      return kExitPreflight;
    }
  }
  std::string config_path = g.config_path.empty() ? DefaultConfigPath() : g.config_path;
  auto spec = LoadConfig(config_path);
  if (spec.ok()) {
    opt.spec = &*spec;
  } else {
    Warn(absl::StrCat("no destination snapshot: ", spec.status().message()));
  }
  opt.hostname = Hostname();
  opt.now_unix = std::time(nullptr);
  auto out = RenderStatus(opt);
  if (!out.ok()) {
    Error(out.status().message());
    return kExitFailure;
  }
  std::fwrite(out->data(), 1, out->size(), stdout);
  return kExitOk;
}

int CmdRestore(const GlobalFlags& g, const std::vector<std::string>& args) {
  InstallSignalHandlers();
  RestoreOptions opt;
  for (size_t i = 0; i < args.size(); ++i) {
    if (FlagValue(args, i, "--to", opt.target_dir) || FlagValue(args, i, "--from", opt.from_key) ||
        FlagValue(args, i, "--identity", opt.identity_file)) {
      continue;
    }
    Error("restore: unknown argument \"" + args[i] + "\"");
    return kExitPreflight;
  }
  if (opt.target_dir.empty()) {
    Error("restore: --to DIR is required");
    return kExitPreflight;
  }
  std::string config_path = g.config_path.empty() ? DefaultConfigPath() : g.config_path;
  auto spec = LoadConfig(config_path);
  if (!spec.ok()) {
    Error(spec.status().message());
    return kExitPreflight;
  }
  RunLock lock;
  if (absl::Status st = lock.Acquire(config_path); !st.ok()) {
    Error(st.message());
    return kExitPreflight;
  }
  InstallSignalHandlers();
  PlanContext pc;
  pc.hostname = Hostname();
  pc.now_unix = std::time(nullptr);
  auto items = RunRestore(*spec, pc, opt, g_cancel);
  if (!items.ok()) {
    Error(absl::StrCat("restore: ", items.status().message()));
    if (items.status().code() == absl::StatusCode::kPermissionDenied) {
      Hint("the identity file must be readable only by its owner (chmod 600)");
    }
    return kExitPreflight;
  }
  bool ok = true;
  for (const auto& it : *items) {
    for (const auto& w : it.warnings) Warn(absl::StrCat(it.source, ": ", w));
    if (it.status.ok()) {
      Info(absl::StrCat(it.source, ": restored ", it.key, " (", it.members, " members)"));
    } else {
      ok = false;
      Error(absl::StrCat(it.source, ": restore of ", it.key, " failed: ", it.status.message()));
    }
  }
  return ok ? kExitOk : kExitFailure;
}

}  // namespace hab::cli

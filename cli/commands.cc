#include "cli/commands.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cli/output.h"
#include "cli/plan_view.h"
#include "cli/run_lock.h"
#include "engine/file_util.h"
#include "engine/human.h"
#include "graphs/backup.h"
#include "graphs/config.h"
#include "graphs/hooks.h"
#include "graphs/plan.h"
#include "graphs/restore.h"
#include "graphs/run_log.h"
#include "graphs/schedule.h"
#include "graphs/status.h"
#include "integrations/hostatlas/reporter.h"
#include "nodes/age_format.h"
#include "version.h"

namespace hab::cli {
namespace {

std::atomic<bool> g_cancel{false};

void OnSignal(int) { g_cancel.store(true); }

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string Home() { return EnvOr("HOME", "/root"); }

std::string ConfigPath(const GlobalFlags& g) { return g.config_path.empty() ? DefaultConfigPath() : g.config_path; }

PlanContext NewContext(int64_t now) {
  PlanContext pc;
  pc.hostname = Hostname();
  pc.now_unix = now;
  pc.cancel = &g_cancel;
  return pc;
}

void PrintConfigProblems(const std::vector<std::string>& problems) {
  for (const auto& p : problems) Error(p);
}

// The success summary of one source: stdout; problems: stderr.
void ReportSource(const SourceResult& s) {
  for (const auto& w : s.warnings) Warn(absl::StrCat(s.name, ": ", w));
  if (s.zstd_frames > 0) {
    // Why an archive is as large as its source: data that was compressed
    // or encrypted already.
    Trace(absl::StrCat(s.name, ": zstd: ", s.zstd_stored_frames, " of ", s.zstd_frames,
                       " chunks incompressible (stored, not compressed)"));
  }
  if (s.status.ok()) {
    Info(absl::StrCat(s.name, ": ", s.Outcome(), " ", s.archive_key, " (", HumanBytes(s.bytes_in), " in, ",
                      HumanBytes(s.bytes_out), " out, ", s.members, " members, ", HumanSeconds(s.seconds),
                      ", verification ", s.verification, ")"));
  } else {
    Error(absl::StrCat(s.name, ": failed: ", s.status.message()));
  }
  for (const auto& d : s.deleted) Info(absl::StrCat(s.name, ": retention deleted ", d));
}

}  // namespace

void InstallSignalHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

const std::atomic<bool>* CancelFlag() { return &g_cancel; }

std::string Hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

bool FlagValue(const std::vector<std::string>& args, size_t& i, const std::string& name, std::string& out) {
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

// A flag given with nothing after it ("--from=" or "--from ''"): a usage
// error, never "as if not given".
bool EmptyFlag(const std::vector<std::string>& args, const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name + "=" || (args[i] == name && (i + 1 == args.size() || args[i + 1].empty()))) return true;
  }
  return false;
}

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
  bool full = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--full") {
      full = true;
      continue;
    }
    if (FlagValue(args, i, "--source", source) || FlagValue(args, i, "--dest", dest) ||
        FlagValue(args, i, "--recipient", recipient)) {
      continue;
    }
    Error("example-config: unknown argument \"" + args[i] + "\"");
    return kExitPreflight;
  }
  if (full) {
    Out(FullReferenceConfig());
    return kExitOk;
  }
  if (source.empty() || dest.empty() || recipient.empty()) {
    Error("example-config needs --source, --dest and --recipient (or --full for the whole reference)");
    return kExitPreflight;
  }
  Out(DefaultConfigYaml(source, dest, recipient));
  return kExitOk;
}

namespace {

// What the end ping says: a headline, then the failing checks or sources
// (never hook commands or anything from the config beyond names).
struct RunStory {
  std::string headline;
  std::vector<std::string> details;
  std::string Body() const {
    std::string b = headline + "\n";
    for (const auto& d : details) absl::StrAppend(&b, d, "\n");
    return b;
  }
};

// The end of every run, whatever path it took: the end ping, HostAtlas
// warnings, the run log (written, pushed, rewritten with the push outcome).
int FinishRun(RunLog& log, hostatlas::Reporter& r, bool dry_run, int code, const RunStory& story) {
  if (!dry_run) {
    r.End(code, story.Body());
    if (auto c = r.slug_check()) {
      PreflightReport one;
      if (c->outcome == PreflightCheck::Outcome::kOk) {
        one.Ok(c->check, c->subject, c->detail);
      } else {
        one.Warn(c->check, c->subject, c->detail);
        Warn("pre-flight: " + c->Line());
        log.AddWarning("pre-flight: " + c->Line());
      }
      log.AddPreflight(one);
    }
  }
  for (const auto& w : r.TakeWarnings()) {
    Warn(w);
    log.AddWarning(w);
  }
  log.SetHostAtlas(r.LogFields());
  if (dry_run) {
    log.SetPush(absl::StrCat("{\"outcome\":\"skipped\",\"detail\":\"dry run\"}"));
    (void)log.Write(code);
  } else {
    if (!r.logged_in()) r.Push("");  // records "skipped" (and a --debug line); sends nothing
    log.SetPush(r.PushJson());
    auto path = log.Write(code);
    if (r.logged_in()) {
      // The body is the file as written; afterwards only hostatlas.push
      // changes, so the push's own warnings stay out of "warnings".
      r.Push(log.written());
      log.SetPush(r.PushJson());
      if (path.ok()) (void)log.Write(code);
      for (const auto& w : r.TakeWarnings()) Warn(w);
    }
  }
  for (const auto& d : r.TakeDebug()) Trace(d);
  return code;
}

}  // namespace

int CmdRun(const GlobalFlags& g, const std::vector<std::string>& args) {
  // From the start: SIGINT/SIGTERM during pre-flight or a hook must stop
  // the run within a second, not after the check that happens to run.
  InstallSignalHandlers();
  bool dry_run = false;
  std::string format;
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
  if (!format.empty() && !dry_run) {
    // A plan format asked for without --dry-run must not start a backup.
    Error("run: --format is only valid with --dry-run; nothing was done");
    Hint("hostatlas-backup run --dry-run --format=" + format);
    return kExitPreflight;
  }
  auto log_dir = RunLog::Directory();
  if (!log_dir.ok()) {
    Error(log_dir.status().message());
    return kExitPreflight;
  }
  std::string config_path = ConfigPath(g);
  int64_t started = std::time(nullptr);
  RunLog log(config_path, Hostname(), started, dry_run);
  auto loaded = LoadConfigReport(config_path);
  // The heartbeat is pinged whenever the YAML parsed, even with problems:
  // a broken config is exactly what the fail ping is for.
  hostatlas::ReporterOptions ro;
  ro.auth_file = g.auth_file;
  ro.run_id = log.run_id();
  ro.spool_dir = *log_dir + "/hostatlas-spool";
  ro.now_unix = started;
  ro.cancel = &g_cancel;
  if (loaded.ok()) {
    if (ValidHeartbeatSlug(loaded->spec.heartbeat_slug)) ro.slug = loaded->spec.heartbeat_slug;
    if (ValidUuid(loaded->spec.server_uuid)) log.SetServerUuid(loaded->spec.server_uuid);
  }
  hostatlas::Reporter reporter(ro);
  RunStory story;
  auto finish = [&](int code) { return FinishRun(log, reporter, dry_run, code, story); };
  if (!loaded.ok()) {
    Error(loaded.status().message());
    log.AddPreflightFailure("config", std::string(loaded.status().message()));
    story.headline = absl::StrCat("config error on ", Hostname(), ": ", loaded.status().message());
    return finish(kExitPreflight);
  }
  ConfigReport& cfg = *loaded;
  BackupSpec& spec = cfg.spec;
  PlanContext pc = NewContext(started);
  RunLock lock;
  if (!dry_run) {
    absl::Status st = lock.Acquire(config_path);
    if (!st.ok()) {
      Error(st.message());
      if (st.code() == absl::StatusCode::kUnavailable) log.SetLockCollision();
      log.AddPreflightFailure("lock", std::string(st.message()));
      story.headline = absl::StrCat("not started on ", Hostname(), ": ", st.message());
      return finish(kExitPreflight);
    }
    std::vector<std::string> names;
    for (const auto& s : spec.sources) names.push_back(s->name());
    reporter.Begin(absl::StrCat("run started on ", Hostname(), ": ", spec.sources.size(), " source(s) (",
                                absl::StrJoin(names, ", "), "), config ", config_path, "\n"));
  }
  if (spec.destination != nullptr) EstimateSources(spec, pc);
  // A config with problems exits 2 whatever the checks find: they run (all
  // problems in one pass) but write nothing, as in a dry run.
  PreflightReport pf = Preflight(spec, pc, {&cfg, dry_run || !cfg.ok()});
  if (dry_run) reporter.CheckSlug(pf);  // a real run checks it in the background
  for (const auto& p : cfg.problems) log.AddPreflightFailure("config", p);
  log.AddPreflight(pf);
  for (const auto& c : pf.checks()) {
    if (c.outcome == PreflightCheck::Outcome::kWarning) log.AddWarning("pre-flight: " + c.Line());
  }
  if (g_cancel.load()) {
    Error("cancelled during pre-flight (SIGINT/SIGTERM); nothing was written");
    log.SetCancelled();
    story.headline = absl::StrCat("cancelled during pre-flight on ", Hostname(), " (SIGINT/SIGTERM)");
    return finish(kExitPreflight);
  }
  for (size_t i = 0; i < pc.estimates.size() && i < spec.sources.size(); ++i) {
    if (!pc.estimates[i].known()) continue;  // databases: unknown until dumped
    Trace(absl::StrCat("size estimate: ", spec.sources[i]->name(), ": ", pc.estimates[i].bytes, " bytes (",
                       pc.estimates[i].bound ? "used space of its filesystem, fits: tree not walked" : "walked",
                       ")"));
  }
  bool problems = !cfg.ok() || pf.failed();
  if (problems) {
    for (const auto& p : cfg.problems) story.details.push_back("config: " + p);
    for (const auto& c : pf.checks()) {
      if (c.outcome != PreflightCheck::Outcome::kFailed) continue;
      if (c.check == "hooks") {
        // The subject is the command line, which may hold a secret: the
        // phase and the program only.
        story.details.push_back(absl::StrCat("pre-flight: hooks: ", c.detail, " (a ",
                                             c.subject.substr(0, c.subject.find(':')), " hook)"));
      } else {
        story.details.push_back("pre-flight: " + c.Line());
      }
    }
    story.headline = absl::StrCat("pre-flight failed on ", Hostname(), ": ", story.details.size(),
                                  " problem(s); nothing was backed up");
  }
  std::optional<GraphPlan> plan;
  if (cfg.ok()) plan = BuildBackupPlan(spec, pc);
  if (dry_run) {
    if (format == "dot") {
      if (plan.has_value()) Out(PrintPlanDot(*plan));
    } else {
      Out(absl::StrCat("dry run of ", config_path, ": nothing is written, nothing is pinged\n"));
      Out(absl::StrCat("pre-flight (", pf.checks().size(), " checks):\n", RenderChecks(pf, false)));
      if (plan.has_value()) {
        // Listing a destination that just failed its check would wait a
        // second time for a server that does not answer.
        bool dest_failed = false;
        for (const auto& c : pf.checks()) {
          dest_failed |= c.check == "destination" && c.outcome == PreflightCheck::Outcome::kFailed;
        }
        Out(RenderOperatorPlan(spec, *plan,
                               dest_failed ? absl::StatusOr<std::vector<RetentionPreview>>(absl::UnavailableError(
                                                 "not listed: the destination failed its pre-flight check"))
                                           : PreviewRetention(spec, pc, *plan)));
        if (Debug()) Out(PrintPlanText(*plan));
      }
    }
    // Warnings, then the problems last, after the plan, where they stand out.
    for (const auto& c : pf.checks()) {
      if (c.outcome == PreflightCheck::Outcome::kWarning) Warn("pre-flight: " + c.Line());
    }
    if (problems) {
      PrintConfigProblems(cfg.problems);
      for (const auto& c : pf.checks()) {
        if (c.outcome == PreflightCheck::Outcome::kFailed) Error("pre-flight: " + c.Line());
      }
      Error("pre-flight failed: fix the problems above; a run would exit 2");
    }
    return finish(problems ? kExitPreflight : kExitOk);
  }
  PrintConfigProblems(cfg.problems);
  for (const auto& c : pf.checks()) {
    if (c.outcome == PreflightCheck::Outcome::kFailed) Error("pre-flight: " + c.Line());
    if (c.outcome == PreflightCheck::Outcome::kWarning) Warn("pre-flight: " + c.Line());
  }
  if (problems) return finish(kExitPreflight);
  Trace(absl::StripTrailingAsciiWhitespace(PrintPlanText(*plan)));
  std::vector<std::string> hook_env = {"HOSTATLAS_BACKUP_CONFIG=" + config_path};
  std::vector<HookResult> pre = RunHooks("pre", spec.pre_hooks, spec.hook_timeout_seconds, hook_env, &g_cancel);
  log.AddHooks(pre);
  bool pre_ok = true;
  for (size_t i = 0; i < pre.size(); ++i) {
    const HookResult& h = pre[i];
    if (!h.ok) {
      pre_ok = false;
      Error(absl::StrCat("pre-hook \"", h.command, "\" failed (", h.outcome, "); backup aborted"));
      if (!h.output_tail.empty()) Note(absl::StrCat("pre-hook output: ", absl::StripTrailingAsciiWhitespace(h.output_tail)));
      // The hook's position, not its command line: a command may hold a secret.
      story.details.push_back(absl::StrCat("pre-hook ", i + 1, " of ", spec.pre_hooks.size(), " failed (", h.outcome, ")"));
    }
  }
  auto run_post = [&](int code, const char* status) {
    std::vector<std::string> env = hook_env;
    env.push_back(absl::StrCat("HOSTATLAS_BACKUP_STATUS=", status));
    env.push_back(absl::StrCat("HOSTATLAS_BACKUP_EXIT_CODE=", code));
    std::vector<HookResult> post = RunHooks("post", spec.post_hooks, spec.hook_timeout_seconds, env);
    log.AddHooks(post);
    // A failed post-hook is logged but never fails the backup.
    for (size_t i = 0; i < post.size(); ++i) {
      const HookResult& h = post[i];
      if (h.ok) continue;
      std::string what = absl::StrCat("post-hook \"", h.command, "\" failed (", h.outcome, ")");
      log.AddWarning(what);
      Warn(what);
      if (!h.output_tail.empty()) Note(absl::StrCat("post-hook output: ", absl::StripTrailingAsciiWhitespace(h.output_tail)));
      story.details.push_back(absl::StrCat("warning: post-hook ", i + 1, " of ", spec.post_hooks.size(), " failed (",
                                           h.outcome, ")"));
    }
  };
  if (!pre_ok || g_cancel.load()) {
    if (g_cancel.load()) {
      Error("cancelled during the pre hooks (SIGINT/SIGTERM); backup skipped");
      log.SetCancelled();
    }
    story.headline = g_cancel.load() ? absl::StrCat("cancelled during the pre hooks on ", Hostname())
                                     : absl::StrCat("backup aborted on ", Hostname(), ": a pre-hook failed");
    run_post(kExitFailure, g_cancel.load() ? "cancelled" : "failed");
    return finish(kExitFailure);
  }
  BackupResult result = RunBackup(spec, pc, *plan, g_cancel);
  for (const auto& w : result.warnings) Warn(w);
  for (const auto& k : result.swept) Note(absl::StrCat("removed a leftover of an interrupted run: ", k));
  for (const auto& s : result.sources) ReportSource(s);
  log.SetBackup(result, g_cancel.load());
  int code = result.ok() ? kExitOk : kExitFailure;
  uint64_t in = 0, out = 0;
  size_t failed = 0;
  for (const auto& s : result.sources) {
    in += s.bytes_in;
    out += s.bytes_out;
    if (!s.status.ok()) {
      ++failed;
      story.details.push_back(absl::StrCat("source ", s.name, ": ", s.status.message()));
    }
  }
  if (code == kExitOk) {
    story.headline = absl::StrCat("ok on ", Hostname(), ": ", result.sources.size(), " source(s), ", HumanBytes(in),
                                  " in, ", HumanBytes(out), " out, ", HumanSeconds(std::time(nullptr) - started));
  } else {
    story.headline = absl::StrCat(g_cancel.load() ? "cancelled" : "failed", " on ", Hostname(), ": ", failed, " of ",
                                  result.sources.size(), " source(s) failed");
  }
  run_post(code, code == kExitOk ? "ok" : g_cancel.load() ? "cancelled" : "failed");
  return finish(code);
}

int CmdStatus(const GlobalFlags& g, const std::vector<std::string>& args) {
  InstallSignalHandlers();
  StatusOptions opt;
  for (const auto& a : args) {
    if (a == "--json") {
      opt.json = true;
    } else {
      Error("status: unknown argument \"" + a + "\"");
      return kExitPreflight;
    }
  }
  opt.config_path = ConfigPath(g);
  auto spec = LoadConfig(opt.config_path);
  if (spec.ok()) {
    opt.spec = &*spec;
  } else {
    Warn(absl::StrCat("no destination snapshot: ", spec.status().message()));
  }
  opt.hostname = Hostname();
  opt.now_unix = std::time(nullptr);
  opt.cancel = &g_cancel;
  auto log_dir = RunLog::Directory();
  DescribeHostAtlas(g, spec.ok() && ValidHeartbeatSlug(spec->heartbeat_slug) ? spec->heartbeat_slug : "",
                    log_dir.ok() ? *log_dir + "/hostatlas-spool" : "", opt.hostatlas_text, opt.hostatlas_json);
  // The last `run` that took the lock: status says when it has no run log
  // yet (still running, or killed before it could write one).
  std::string me = RealPathOr(opt.config_path);
  if (auto rec = RunLock::Peek(opt.config_path); rec.has_value() && rec->command == "run" && rec->config == me) {
    opt.lock_pid = rec->pid;
    opt.lock_started = rec->started;
    opt.lock_running = rec->running;
  }
  auto out = RenderStatus(opt);
  if (!out.ok()) {
    Error(out.status().message());
    return kExitFailure;
  }
  Out(*out);
  return kExitOk;
}

int CmdList(const GlobalFlags& g, const std::vector<std::string>& args) {
  InstallSignalHandlers();
  StatusOptions opt;
  for (const auto& a : args) {
    if (a == "--json") {
      opt.json = true;
    } else {
      Error("list: unknown argument \"" + a + "\"");
      return kExitPreflight;
    }
  }
  opt.config_path = ConfigPath(g);
  auto spec = LoadConfig(opt.config_path);
  if (!spec.ok()) {
    Error(spec.status().message());
    return kExitPreflight;
  }
  opt.spec = &*spec;
  opt.hostname = Hostname();
  opt.now_unix = std::time(nullptr);
  opt.cancel = &g_cancel;
  auto out = RenderList(opt);
  if (!out.ok()) {
    Error(absl::StrCat("list: ", out.status().message()));
    return kExitFailure;
  }
  Out(*out);
  return kExitOk;
}

namespace {

// Shared by restore and verify: config, lock, context.
struct ArchiveCommand {
  absl::StatusOr<BackupSpec> spec = absl::UnknownError("unset");
  RunLock lock;
  PlanContext pc;
};

int SetupArchiveCommand(const GlobalFlags& g, ArchiveCommand& c, const char* command) {
  std::string config_path = ConfigPath(g);
  c.spec = LoadConfig(config_path);
  if (!c.spec.ok()) {
    Error(c.spec.status().message());
    return kExitPreflight;
  }
  if (absl::Status st = c.lock.Acquire(config_path, command); !st.ok()) {
    Error(st.message());
    return kExitPreflight;
  }
  c.pc = NewContext(std::time(nullptr));
  return kExitOk;
}

int SetupError(const char* verb, const absl::Status& st) {
  Error(absl::StrCat(verb, ": ", st.message()));
  if (st.code() == absl::StatusCode::kPermissionDenied) {
    Hint("the identity file must be readable only by its owner (chmod 600)");
  }
  return kExitPreflight;
}

}  // namespace

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
  for (const char* f : {"--to", "--from", "--identity"}) {
    if (EmptyFlag(args, f)) {
      Error(absl::StrCat("restore: ", f, " needs a value"));
      return kExitPreflight;
    }
  }
  if (opt.target_dir.empty()) {
    Error("restore: --to DIR is required");
    return kExitPreflight;
  }
  ArchiveCommand c;
  if (int rc = SetupArchiveCommand(g, c, "restore"); rc != kExitOk) return rc;
  auto items = RunRestore(*c.spec, c.pc, opt, g_cancel);
  if (!items.ok()) return SetupError("restore", items.status());
  bool ok = true;
  for (const auto& it : *items) {
    for (const auto& w : it.warnings) Warn(absl::StrCat(it.source, ": ", w));
    if (it.skipped) {
      Info(absl::StrCat(it.source, ": skipped, ", it.restored_path,
                        " exists already (restored before?); move it away to restore it again"));
    } else if (it.status.ok()) {
      Info(absl::StrCat(it.source, ": restored ", it.key, " to ", it.restored_path, " (",
                        it.unit == "bytes" ? HumanBytes(it.count) : absl::StrCat(it.count, " ", it.unit), ")"));
      if (!it.load_hint.empty()) Info(absl::StrCat(it.source, ": load it with: ", it.load_hint));
    } else {
      ok = false;
      Error(absl::StrCat(it.source, ": restore of ", it.key, " failed: ", it.status.message()));
    }
  }
  return ok ? kExitOk : kExitFailure;
}

int CmdVerify(const GlobalFlags& g, const std::vector<std::string>& args) {
  InstallSignalHandlers();
  RestoreOptions opt;
  bool latest = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (FlagValue(args, i, "--from", opt.from_key) || FlagValue(args, i, "--identity", opt.identity_file)) continue;
    if (args[i] == "--all") {
      opt.all = true;
    } else if (args[i] == "--latest") {
      latest = true;
    } else {
      Error("verify: unknown argument \"" + args[i] + "\"");
      return kExitPreflight;
    }
  }
  for (const char* f : {"--from", "--identity"}) {
    if (EmptyFlag(args, f)) {
      Error(absl::StrCat("verify: ", f, " needs a value"));
      return kExitPreflight;
    }
  }
  if (static_cast<int>(opt.all) + static_cast<int>(latest) + static_cast<int>(!opt.from_key.empty()) > 1) {
    Error("verify: use one of --from KEY, --latest, --all");
    return kExitPreflight;
  }
  ArchiveCommand c;
  if (int rc = SetupArchiveCommand(g, c, "verify"); rc != kExitOk) return rc;
  auto items = RunVerify(*c.spec, c.pc, opt, g_cancel);
  if (!items.ok()) return SetupError("verify", items.status());
  bool ok = true;
  for (const auto& it : *items) {
    for (const auto& w : it.warnings) Warn(absl::StrCat(it.source, ": ", w));
    if (it.status.ok()) {
      Info(absl::StrCat(it.source, ": ok ", it.key, " (decrypted, decompressed and checked: ",
                        it.unit == "bytes" ? HumanBytes(it.count) : absl::StrCat(it.count, " ", it.unit), ")"));
    } else {
      ok = false;
      Error(absl::StrCat(it.source, ": verification of ", it.key, " failed: ", it.status.message()));
    }
  }
  return ok ? kExitOk : kExitFailure;
}

int CmdSchedule(const GlobalFlags& g, const std::vector<std::string>& args) {
  bool install = false, cron = false;
  for (const auto& a : args) {
    if (a == "--install") {
      install = true;
    } else if (a == "--cron") {
      cron = true;
    } else {
      Error("schedule: unknown argument \"" + a + "\"");
      return kExitPreflight;
    }
  }
  std::string config_path = ConfigPath(g);
  auto spec = LoadConfig(config_path);
  if (!spec.ok()) {
    Error(spec.status().message());
    return kExitPreflight;
  }
  if (spec->schedule.empty()) {
    Error(absl::StrCat("schedule: ", config_path, " has no schedule: key"));
    Hint("add e.g. schedule: \"0 3 * * *\" (daily at 03:00)");
    return kExitPreflight;
  }
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  UnitOptions o;
  o.binary = n > 0 ? std::string(self, static_cast<size_t>(n)) : "/usr/local/bin/hostatlas-backup";
  o.config_path = RealPathOr(config_path);
  o.schedule = spec->schedule;
  // The service's sandbox must not hide what this config reads or writes:
  // the host's /tmp for a source or destination there (PrivateTmp), write
  // access for a local destination under /etc, /usr or /boot
  // (ProtectSystem=full).
  auto under = [](const std::string& p, std::initializer_list<const char*> dirs) {
    for (const char* d : dirs) {
      if (p == d || absl::StartsWith(p, std::string(d) + "/")) return true;
    }
    return false;
  };
  for (const auto& s : spec->sources) {
    for (const auto& p : s->LocalPaths()) {
      if (under(p, {"/tmp", "/var/tmp"})) o.private_tmp = false;
    }
  }
  if (spec->destination->is_local()) {
    std::string root = LocateArchives(*spec->destination, Hostname(), std::time(nullptr)).root;
    if (under(root, {"/tmp", "/var/tmp"})) o.private_tmp = false;
    if (under(root, {"/etc", "/usr", "/boot"})) o.writable_paths.push_back(root);
  }
  // The files of this stem may be another config's (the same file name in
  // another folder): never replaced silently. And one config is scheduled
  // one way: a timer and a cron entry would run it twice.
  auto stem = ConfigStem(o.config_path);
  ScheduleFiles files = ScheduleFilesFor(stem.ok() ? *stem : "backup");
  if (install) {
    for (const std::string& f : {cron ? files.cron : files.timer}) {
      if (::access(f.c_str(), F_OK) != 0) continue;
      std::optional<std::string> cfg = ScheduledConfig(f);
      if (cfg.has_value() && *cfg == o.config_path) continue;
      Error(absl::StrCat("schedule: ", f, " exists and runs ", cfg.value_or("something else"),
                         ", not ", o.config_path, "; not replaced"));
      Hint("two configs with the same file name share these names: rename one of them");
      return kExitPreflight;
    }
    const std::string& other = cron ? files.timer : files.cron;
    if (::access(other.c_str(), F_OK) == 0 && ScheduledConfig(other) == o.config_path) {
      Warn(absl::StrCat(other, " schedules this config too: remove it (",
                        cron ? absl::StrCat("systemctl disable --now ", Basename(files.timer), " and rm ", files.timer,
                                            " ", files.service)
                             : absl::StrCat("rm ", files.cron),
                        "), or every run happens twice"));
    }
  }
  if (cron) {
    auto line = RenderCronLine(o);
    if (!line.ok()) {
      Error(absl::StrCat("schedule: ", line.status().message()));
      return kExitPreflight;
    }
    const std::string& path = files.cron;
    if (!install) {
      Out(absl::StrCat("# ", path, "\n", *line));
      return kExitOk;
    }
    if (absl::Status st = WriteFileAtomic(path, *line, 0644); !st.ok()) {
      Error(absl::StrCat("schedule: ", st.message()));
      return kExitFailure;
    }
    Info(absl::StrCat("wrote ", path, " (cron runs ", o.config_path, " on \"", o.schedule, "\")"));
    return kExitOk;
  }
  auto units = RenderSystemdUnits(o);
  if (!units.ok()) {
    Error(absl::StrCat("schedule: ", units.status().message()));
    return kExitPreflight;
  }
  if (!install) {
    Out(absl::StrCat("# /etc/systemd/system/", units->service_name, "\n", units->service_text, "\n# /etc/systemd/system/",
                     units->timer_name, "\n", units->timer_text));
    return kExitOk;
  }
  if (::access("/run/systemd/system", F_OK) != 0) {
    Error("schedule: systemd is not running on this host");
    Hint("hostatlas-backup schedule --install --cron writes an /etc/cron.d entry instead");
    return kExitFailure;
  }
  for (const auto& [name, text] : {std::pair{units->service_name, units->service_text},
                                   std::pair{units->timer_name, units->timer_text}}) {
    if (absl::Status st = WriteFileAtomic("/etc/systemd/system/" + name, text, 0644); !st.ok()) {
      Error(absl::StrCat("schedule: ", st.message()));
      return kExitFailure;
    }
  }
  std::string cmd = absl::StrCat("systemctl daemon-reload && systemctl enable --now ", units->timer_name);
  if (std::system(cmd.c_str()) != 0) {
    Error(absl::StrCat("schedule: \"", cmd, "\" failed"));
    return kExitFailure;
  }
  Info(absl::StrCat("installed and started ", units->timer_name, " (", o.schedule, ")"));
  Hint(absl::StrCat("systemctl list-timers ", units->timer_name));
  return kExitOk;
}

}  // namespace hab::cli

#include "graphs/backup.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "destinations/faulty_destination.h"
#include "engine/fault.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"
#include "destinations/path_template.h"
#include "graphs/hooks.h"
#include "graphs/run_log.h"
#include "graphs/runtime.h"
#include "graphs/schedule.h"

namespace hab {

std::string SourceResult::Outcome() const {
  if (!status.ok()) return status.code() == absl::StatusCode::kCancelled ? "cancelled" : "failed";
  return warnings.empty() ? "ok" : "ok_with_warnings";
}

bool BackupResult::ok() const {
  for (const auto& s : sources) {
    if (!s.status.ok()) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Destination>> OpenDestination(const BackupSpec& spec, const PlanContext& pc,
                                                              const std::string& root, bool preflight) {
  DestinationOpenOptions o;
  o.root = root;
  o.cancel = pc.cancel;
  o.preflight = preflight;
  HAB_ASSIGN_OR_RETURN(std::unique_ptr<Destination> dest, spec.destination->Open(o));
  // Test hook: damage what is read back, so deep verification must catch it.
  if (auto f = FaultFromEnv(); f.has_value() && f->node == "committed") {
    DestinationFaults faults;
    faults.corrupt_reads = true;
    dest = MakeFaultyDestination(std::move(dest), faults);
  }
  return dest;
}

absl::StatusOr<std::vector<age::X25519Recipient>> Recipients(const BackupSpec& spec) {
  std::vector<age::X25519Recipient> out;
  for (const auto& r : spec.recipients) {
    HAB_ASSIGN_OR_RETURN(auto rec, age::X25519Recipient::Parse(r));
    out.push_back(rec);
  }
  if (out.empty() && !spec.identity_file.empty()) {
    // The product page allows an identity file as the recipient: derive it.
    HAB_ASSIGN_OR_RETURN(auto ids, age::ReadIdentityFile(spec.identity_file));
    for (const auto& id : ids) out.push_back(id.Recipient());
  }
  if (out.empty()) return absl::InvalidArgumentError("no age recipient configured");
  return out;
}

void EstimateSources(const BackupSpec& spec, PlanContext& pc) {
  pc.estimates.clear();
  EstimateOptions o;
  // A files source may be bounded by its filesystem's usage only for a
  // local destination: S3 sizes its parts from the estimate.
  o.allow_filesystem_bound = spec.destination != nullptr && spec.destination->is_local();
  o.parallelism = spec.parallelism;
  o.cancel = pc.cancel;
  for (const auto& s : spec.sources) pc.estimates.push_back(s->Estimate(o));
}

namespace {

std::string Gib(uint64_t b) { return absl::StrFormat("%.2f GiB", static_cast<double>(b) / (1 << 30)); }

// Room for 1.2 x the estimated source size (compression usually leaves far
// less, but an incompressible tree must still fit). A bound that does not
// fit is replaced by the walked size first.
void CheckRoom(const BackupSpec& spec, PlanContext& pc, const std::string& what, const std::string& path,
               uint64_t free, PreflightReport& report) {
  auto need = [&pc] {
    uint64_t estimate = 0;
    for (const auto& e : pc.estimates) estimate += e.bytes;
    return estimate / 10 * 12;
  };
  if (free < need()) {
    EstimateOptions o;
    o.parallelism = spec.parallelism;
    o.cancel = pc.cancel;
    for (size_t i = 0; i < pc.estimates.size() && i < spec.sources.size(); ++i) {
      if (pc.estimates[i].bound) pc.estimates[i] = spec.sources[i]->EstimateExact(o);
    }
  }
  if (free < need()) {
    report.Fail("free space", "",
                absl::StrCat(what, " ", path, " has ", Gib(free), " free, needs ", Gib(need()),
                             " (1.2 x the estimated source size)"));
  } else {
    report.Ok("free space", "", absl::StrCat(what, " ", path, " has ", Gib(free), " free, ", Gib(need()), " needed"));
  }
}

// The product page's 0600 rule for secret files, applied to the config
// when it holds a secret itself.
void CheckConfigMode(const BackupSpec& spec, PreflightReport& report) {
  if (spec.destination == nullptr) return;
  std::vector<std::string> secrets = spec.destination->inline_secrets();
  if (secrets.empty()) return;
  struct stat st;
  if (::stat(spec.config_path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  report.Warn("config", spec.config_path,
              absl::StrFormat("holds %s and is readable by group or others (mode %04o)\nhint: chmod 600 %s",
                              absl::StrJoin(secrets, ", "), st.st_mode & 07777, spec.config_path));
}

// `schedule:` is acted on by `hostatlas-backup schedule`, not by `run`:
// say so while no timer or cron entry for this config is installed.
void CheckSchedule(const BackupSpec& spec, PreflightReport& report) {
  if (spec.schedule.empty()) return;
  auto stem = ConfigStem(spec.config_path);
  if (!stem.ok()) return;
  ScheduleFiles files = ScheduleFilesFor(*stem);
  // `schedule` writes the config's real path into what it installs.
  std::string config = RealPathOr(spec.config_path);
  std::string other;
  for (const std::string& f : {files.timer, files.cron}) {
    if (::access(f.c_str(), F_OK) != 0) continue;
    std::optional<std::string> cfg = ScheduledConfig(f);
    if (cfg.has_value() && *cfg == config) {
      report.Ok("schedule", spec.schedule, absl::StrCat("installed (", f, ")"));
      return;
    }
    other = absl::StrCat(f, " runs ", cfg.value_or("another config"));
  }
  if (!other.empty()) {
    report.Warn("schedule", spec.schedule,
                absl::StrCat("not installed for this config: ", other,
                             " (the same file name)\nhint: rename one of the configs, then hostatlas-backup schedule --install"));
    return;
  }
  report.Warn("schedule", spec.schedule,
              "nothing runs this config on that schedule yet (run itself never schedules)\n"
              "hint: hostatlas-backup schedule --install (systemd timer) or --install --cron");
}

// Every identity file the run will use: readable only by its owner, and
// (for deep verification) able to open what the run encrypts.
void CheckIdentity(const BackupSpec& spec, PreflightReport& report) {
  if (spec.identity_file.empty()) {
    if (spec.verification == "deep") {
      report.Fail("verification", "deep",
                  "needs encryption.identity_file to decrypt the archive back"
                  "\nhint: set encryption.identity_file or use verification.mode: size");
    }
    return;
  }
  auto ids = age::ReadIdentityFile(spec.identity_file);
  if (!ids.ok()) {
    report.Fail("encryption", absl::StrCat("identity_file ", spec.identity_file), std::string(ids.status().message()));
    return;
  }
  if (spec.recipients.empty()) {
    report.Ok("encryption", absl::StrCat("identity_file ", spec.identity_file), "used as the recipient");
    return;
  }
  std::set<std::string> mine;
  for (const auto& id : *ids) mine.insert(id.Recipient().ToString());
  bool matches = false;
  for (const auto& r : spec.recipients) matches |= mine.count(r) > 0;
  std::string subject = absl::StrCat("identity_file ", spec.identity_file);
  if (matches) {
    report.Ok("encryption", subject, "matches a recipient");
  } else if (spec.verification == "deep") {
    report.Fail("encryption", subject,
                "matches none of the recipients, so deep verification could not decrypt the archive");
  } else {
    report.Warn("encryption", subject, "matches none of the recipients: a restore with it would fail");
  }
}

// Archive names carry the source, not the host: two hosts writing to one
// path with the same source names would see, and prune, each other's
// archives. Without {{ hostname }} in the path, archives of our source
// names that this host's run logs do not know are a sign of that.
void CheckSharedDestination(const BackupSpec& spec, const PlanContext& pc, const GraphPlan& plan,
                            Destination& dest, PreflightReport& report) {
  if (HasTemplate(spec.destination->root_template(), "hostname")) return;
  auto listed = ListArchives(dest, plan.location);
  auto dir = RunLog::Directory();
  if (!listed.ok() || !dir.ok()) return;
  std::set<std::string> mine = ArchivesWrittenBy(*dir, pc.hostname);
  std::vector<std::string> foreign;
  for (const auto& a : *listed) {
    if (SourceOf(a.name, spec.sources) != nullptr && !mine.count(Basename(a.key))) foreign.push_back(a.key);
  }
  if (foreign.empty()) return;
  report.Warn("destination", plan.destination,
              absl::StrCat(foreign.size(), " archive(s) of this config's source names were not written by this host"
                           " (e.g. ", foreign.front(), "): if another host shares this path, retention here deletes"
                           " its archives and restore may pick them\nhint: put {{ hostname }} in the destination's path (or prefix)"));
}

void CheckDestination(const BackupSpec& spec, PlanContext& pc, const GraphPlan& plan, bool dry_run,
                      PreflightReport& report) {
  auto dest = OpenDestination(spec, pc, plan.location.root, /*preflight=*/true);
  std::string subject = plan.destination;
  if (!dest.ok()) {
    report.Fail("destination", subject, std::string(dest.status().message()));
    return;
  }
  absl::Status st = (*dest)->Probe(/*create=*/!dry_run);
  for (const auto& w : (*dest)->TakeWarnings()) report.Warn("destination", subject, w);
  if (!st.ok()) {
    report.Fail("destination", subject, std::string(st.message()));  // it names the step (host key, auth, write, ...)
    return;
  }
  report.Ok("destination", subject, dry_run ? "reachable, would accept writes (dry run: nothing created)"
                                            : "writable (probe written and removed)");
  CheckSharedDestination(spec, pc, plan, **dest, report);
  if (auto free = (*dest)->FreeBytes(); free.ok()) CheckRoom(spec, pc, "destination", subject, *free, report);
}

}  // namespace

PreflightReport Preflight(const BackupSpec& spec, PlanContext& pc, const PreflightRequest& request) {
  PreflightReport report;
  auto cancelled = [&pc] { return pc.cancel != nullptr && pc.cancel->load(); };
  const ConfigReport* cfg = request.config;
  for (const auto& w : spec.warnings) report.Warn("config", "", w);
  CheckConfigMode(spec, report);
  if (cfg == nullptr || cfg->ok()) CheckSchedule(spec, report);
  if (!spec.staging_dir.empty()) {
    struct statvfs vfs;
    if (::statvfs(spec.staging_dir.c_str(), &vfs) != 0) {
      report.Fail("staging directory", spec.staging_dir, std::strerror(errno));
    } else {
      CheckRoom(spec, pc, "staging directory", spec.staging_dir,
                static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize, report);
    }
  }
  PreflightOptions o;
  o.cancel = pc.cancel;
  o.parallelism = spec.parallelism;
  for (size_t i = 0; i < spec.sources.size(); ++i) {
    if (cancelled()) return report;
    if (cfg != nullptr && i < cfg->source_valid.size() && !cfg->source_valid[i]) continue;
    spec.sources[i]->Preflight(report, o);
  }
  if (cancelled()) return report;
  if (cfg == nullptr || cfg->hooks_valid) CheckHooks(spec, report);
  if (cfg == nullptr || cfg->encryption_valid) {
    if (!spec.recipients.empty()) report.Ok("encryption", "recipients", absl::StrCat(spec.recipients.size(), " age recipient(s)"));
    CheckIdentity(spec, report);
  }
  if (cancelled()) return report;
  if (spec.destination != nullptr && (cfg == nullptr || cfg->destination_valid)) {
    GraphPlan plan = BuildBackupPlan(spec, pc);
    if (!plan.memory_problem.empty()) {
      report.Fail("memory", "", plan.memory_problem);
    } else {
      report.Ok("memory", "performance.memory_limit",
                absl::StrCat(plan.concurrent_branches, " of ", plan.branches.size(), " sources at once"));
    }
    CheckDestination(spec, pc, plan, request.dry_run, report);
  }
  return report;
}

namespace {

SourceResult FailedSource(const PlanBranch& b, absl::Status status) {
  SourceResult r;
  r.name = b.source;
  r.type = b.source_type;
  r.archive_key = b.archive_key;
  r.status = std::move(status);
  return r;
}

// keep_last per source, counted across every dated folder; the archive
// just written is never a candidate, and a failed source deletes nothing.
const SourceConfig* FindSource(const BackupSpec& spec, const std::string& name) {
  for (const auto& s : spec.sources) {
    if (s->name() == name) return s.get();
  }
  return nullptr;
}

void ApplyRetention(const BackupSpec& spec, const PlanContext& pc, Destination& dest, const GraphPlan& plan,
                    BackupResult& result) {
  if (spec.keep_last <= 0) return;
  auto listed = ListArchives(dest, plan.location);
  if (!listed.ok()) {
    for (auto& r : result.sources) {
      if (r.status.ok()) r.warnings.push_back(absl::StrCat("retention: list failed: ", listed.status().message()));
    }
    return;
  }
  for (auto& r : result.sources) {
    if (!r.status.ok()) continue;
    const SourceConfig* source = FindSource(spec, r.name);
    if (source == nullptr) continue;
    std::vector<const ArchiveRef*> mine;  // oldest first
    for (const auto& a : *listed) {
      if (!IsArchiveOf(a.name, *source)) continue;
      if (DatedInTheFuture(a.name, pc.now_unix)) {
        r.warnings.push_back(absl::StrCat("retention: ", a.key, " is dated in the future (a clock that was ahead,"
                                          " or a name planted in a shared folder): not counted, not deleted"));
        continue;
      }
      mine.push_back(&a);
    }
    if (mine.size() <= static_cast<size_t>(spec.keep_last)) continue;
    size_t excess = mine.size() - static_cast<size_t>(spec.keep_last);
    for (size_t i = 0; i < excess; ++i) {
      if (mine[i]->key == r.archive_key) continue;
      absl::Status st = dest.Remove(mine[i]->key);
      if (st.ok()) {
        r.deleted.push_back(mine[i]->key);
      } else {
        r.warnings.push_back(absl::StrCat("retention: ", st.message()));
      }
    }
  }
}

// Our own leftovers: temporary files or open uploads of archives of these
// sources that nothing has touched for kOrphanStaleSeconds. This run holds
// the config's lock, so no run of this config owns them; the age protects
// a run of another config (another file name) that shares the destination
// and the source names and is writing right now.
constexpr int64_t kOrphanStaleSeconds = 600;

void SweepOrphans(const BackupSpec& spec, const PlanContext& pc, const GraphPlan& plan, Destination& dest,
                  BackupResult& result) {
  OrphanFilter f;
  f.ours = [&spec, &plan](absl::string_view final_key) { return IsKeyOf(final_key, plan.location, spec.sources); };
  f.before_unix = pc.now_unix - kOrphanStaleSeconds;
  auto orphans = dest.ListOrphans(f);
  if (!orphans.ok()) {
    result.warnings.push_back(absl::StrCat("leftovers of interrupted runs not checked: ", orphans.status().message()));
    return;
  }
  for (const auto& o : *orphans) {
    absl::Status st = dest.RemoveOrphan(o);
    if (st.ok()) {
      result.swept.push_back(o.key);
    } else {
      result.warnings.push_back(absl::StrCat("could not remove the leftover ", o.key, ": ", st.message()));
    }
  }
}

}  // namespace

absl::StatusOr<std::vector<RetentionPreview>> PreviewRetention(const BackupSpec& spec, const PlanContext& pc,
                                                               const GraphPlan& plan) {
  std::vector<RetentionPreview> out;
  if (spec.keep_last <= 0) return out;
  HAB_ASSIGN_OR_RETURN(auto dest, OpenDestination(spec, pc, plan.location.root, /*preflight=*/true));
  HAB_ASSIGN_OR_RETURN(std::vector<ArchiveRef> listed, ListArchives(*dest, plan.location));
  for (const auto& b : plan.branches) {
    RetentionPreview p;
    p.source = b.source;
    const SourceConfig* source = FindSource(spec, b.source);
    std::vector<const ArchiveRef*> mine;
    for (const auto& a : listed) {
      if (source != nullptr && IsArchiveOf(a.name, *source) && !DatedInTheFuture(a.name, pc.now_unix)) {
        mine.push_back(&a);
      }
    }
    p.existing = mine.size();
    // After this run there is one more; the oldest beyond keep_last go.
    size_t total = mine.size() + 1;
    size_t excess = total > static_cast<size_t>(spec.keep_last) ? total - static_cast<size_t>(spec.keep_last) : 0;
    for (size_t i = 0; i < excess && i < mine.size(); ++i) p.would_delete.push_back(mine[i]->key);
    p.kept = mine.size() - p.would_delete.size();
    out.push_back(std::move(p));
  }
  return out;
}

BackupResult RunBackup(const BackupSpec& spec, const PlanContext& pc, const GraphPlan& plan,
                       const std::atomic<bool>& cancel) {
  BackupResult result;
  auto dest_or = OpenDestination(spec, pc, plan.location.root);
  auto rec_or = Recipients(spec);
  if (!dest_or.ok() || !rec_or.ok()) {
    absl::Status st = !dest_or.ok() ? dest_or.status() : rec_or.status();
    for (const auto& b : plan.branches) result.sources.push_back(FailedSource(b, st));
    return result;
  }
  std::unique_ptr<Destination> dest = std::move(*dest_or);
  SweepOrphans(spec, pc, plan, *dest, result);
  MemoryBudget budget(spec.memory_limit);
  RuntimeContext rc;
  rc.spec = &spec;
  rc.pc = &pc;
  rc.dest = dest.get();
  rc.budget = &budget;
  rc.cancel = &cancel;
  rc.recipients = std::move(*rec_or);
  rc.fault = FaultFromEnv();
  if (spec.verification == "deep" && !spec.identity_file.empty()) {
    auto ids = age::ReadIdentityFile(spec.identity_file);
    if (ids.ok()) rc.identities = std::move(*ids);
  }
  Instance inst = Instantiate(plan, rc);
  std::vector<BranchResult> runs = inst.graph->Run(cancel);
  result.memory_peak = budget.peak();
  for (size_t i = 0; i < plan.branches.size(); ++i) {
    const PlanBranch& b = plan.branches[i];
    if (!inst.build_errors[i].ok()) {
      result.sources.push_back(FailedSource(b, inst.build_errors[i]));
      continue;
    }
    const BranchResult& run = runs[inst.graph_index[i]];
    const BranchOutputs& out = inst.outputs[i];
    SourceResult r = FailedSource(b, run.status);
    r.bytes_in = out.stats->stream_bytes.load();
    r.members = out.stats->members.load();
    if (out.zstd != nullptr) {
      r.zstd_frames = out.zstd->frames();
      r.zstd_stored_frames = out.zstd->stored_frames();
    }
    r.bytes_out = out.digest->bytes;
    r.sha256 = out.digest->sha256_hex;
    r.seconds = run.seconds;
    r.warnings = run.warnings;
    r.verification = out.verify->outcome;
    const SourceConfig& s = *spec.sources[i];
    if (r.verification == "ok" && s.kind().verify_count_is_members()) r.members = out.verify->count;
    result.sources.push_back(std::move(r));
  }
  ApplyRetention(spec, pc, *dest, plan, result);
  return result;
}

}  // namespace hab

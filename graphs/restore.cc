#include "graphs/restore.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"
#include "graphs/backup.h"
#include "graphs/runtime.h"
#include "sources/registry.h"

namespace hab {
namespace {

// Something is there already: a non-empty directory or any other entry.
bool Exists(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) return true;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return true;
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    // A dead restore's staging directory is not a restore (it is swept).
    if (n != "." && n != ".." && !absl::StartsWith(n, ".hostatlas-restore-")) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return !empty;
}

size_t CommonPrefix(const std::string& a, const std::string& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// The archives to work on: `from`, the newest per configured source, or all.
// Archives dated in the future are not taken for the newest; `future`
// gets a warning per source for each one passed over.
absl::StatusOr<std::vector<ArchiveRef>> Select(const BackupSpec& spec, const PlanContext& pc, Destination& dest,
                                               const ArchiveLocation& where, const RestoreOptions& o,
                                               std::map<std::string, std::vector<std::string>>& future,
                                               std::map<std::string, std::string>& newest_future) {
  HAB_ASSIGN_OR_RETURN(std::vector<ArchiveRef> archives, ListArchives(dest, where));
  if (!o.from_key.empty()) {
    HAB_ASSIGN_OR_RETURN(ArchiveRef one, ResolveArchive(archives, where, o.from_key));
    return std::vector<ArchiveRef>{std::move(one)};
  }
  std::map<std::string, ArchiveRef> newest;
  std::vector<ArchiveRef> out;
  for (auto& a : archives) {  // oldest first
    // Only this config's sources, each with its kind's archives: a files
    // source "app" never restores a database dump named "app".
    if (SourceOf(a.name, spec.sources) == nullptr) continue;
    if (o.all) {
      out.push_back(a);
    } else if (DatedInTheFuture(a.name, pc.now_unix)) {
      newest_future[a.name.source] = a.key;
      future[a.name.source].push_back(absl::StrCat(
          "passed over ", a.key, ": dated in the future (a clock that was ahead, or a name planted in a shared"
          " folder); name it with --from to use it"));
    } else {
      newest[a.name.source] = a;
    }
  }
  for (auto& [_, a] : newest) out.push_back(std::move(a));
  if (out.empty()) {
    std::string passed;
    for (const auto& [_, w] : future) passed = absl::StrCat(passed, "\n", absl::StrJoin(w, "\n"));
    return absl::NotFoundError(absl::StrCat("no archives of the configured sources at ", dest.Describe(),
                                            where.dated.empty() ? "" : absl::StrCat(" (in folders ", where.dated, ")"),
                                            passed));
  }
  return out;
}

void AddSelectWarnings(std::vector<RestoreItem>& items, const std::map<std::string, std::vector<std::string>>& future) {
  for (auto& item : items) {
    auto it = future.find(item.source);
    if (it == future.end()) continue;
    item.warnings.insert(item.warnings.end(), it->second.begin(), it->second.end());
  }
}

// A configured source whose every archive is dated in the future has no
// item: it fails (named), it is not silently left out.
void AddFutureOnly(std::vector<RestoreItem>& items, const std::map<std::string, std::vector<std::string>>& future,
                   const std::map<std::string, std::string>& newest_future) {
  for (const auto& [source, warnings] : future) {
    bool has_item = false;
    for (const auto& item : items) has_item |= item.source == source;
    if (has_item) continue;
    RestoreItem item;
    item.source = source;
    auto k = newest_future.find(source);
    item.key = k != newest_future.end() ? k->second : "";
    item.status = absl::FailedPreconditionError(
        "every archive of this source is dated in the future (a clock that was ahead, or names planted in a"
        " shared folder); none was taken; name one with --from KEY (hostatlas-backup list shows them)");
    items.push_back(std::move(item));
  }
}

struct Setup {
  std::unique_ptr<Destination> dest;
  ArchiveLocation where;
  std::vector<age::X25519Identity> identities;
};

absl::StatusOr<Setup> Prepare(const BackupSpec& spec, const PlanContext& pc, const RestoreOptions& options,
                              const char* what) {
  std::string identity_file = options.identity_file.empty() ? spec.identity_file : options.identity_file;
  if (identity_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " needs the private key: set encryption.identity_file or pass --identity FILE"));
  }
  Setup s;
  HAB_ASSIGN_OR_RETURN(s.identities, age::ReadIdentityFile(identity_file));
  s.where = LocateArchives(*spec.destination, pc.hostname, pc.now_unix);
  HAB_ASSIGN_OR_RETURN(s.dest, OpenDestination(spec, pc, s.where.root));
  return s;
}

// Runs a restore or verify plan; fills count, warnings, status per item.
void RunItems(const BackupSpec& spec, const PlanContext& pc, Setup& setup, const std::string& target_dir,
              std::vector<RestoreItem>& items, const std::vector<size_t>& to_run,
              const std::atomic<bool>& cancel) {
  std::vector<RestoreItemPlan> plans;
  for (size_t i : to_run) {
    auto name = ParseArchiveName(Basename(items[i].key));
    plans.push_back({items[i].key, *name});
  }
  GraphPlan plan = BuildRestorePlan(spec, pc, plans, target_dir);
  if (!plan.memory_problem.empty()) {
    for (size_t i : to_run) items[i].status = absl::InvalidArgumentError(plan.memory_problem);
    return;
  }
  MemoryBudget budget(spec.memory_limit);
  RuntimeContext rc;
  rc.spec = &spec;
  rc.pc = &pc;
  rc.dest = setup.dest.get();
  rc.budget = &budget;
  rc.cancel = &cancel;
  rc.identities = std::move(setup.identities);
  rc.fault = FaultFromEnv();
  Instance inst = Instantiate(plan, rc);
  std::vector<BranchResult> runs = inst.graph->Run(cancel);
  for (size_t k = 0; k < to_run.size(); ++k) {
    RestoreItem& item = items[to_run[k]];
    if (!inst.build_errors[k].ok()) {
      item.status = inst.build_errors[k];
      continue;
    }
    const BranchResult& run = runs[inst.graph_index[k]];
    const BranchOutputs& out = inst.outputs[k];
    item.status = run.status;
    item.count = out.plain->count;
    item.warnings = out.plain->warnings;
    for (const auto& w : run.warnings) item.warnings.push_back(w);
    // A member that was refused (hostile name, a path through a symlink)
    // is missing from the restore: that is not a success.
    std::vector<std::string> refused;
    for (const auto& w : item.warnings) {
      if (absl::StartsWith(w, "refused member")) refused.push_back(w);
    }
    if (item.status.ok() && !refused.empty()) {
      item.status = absl::DataLossError(absl::StrCat(refused.size(), " member(s) refused, not restored: ",
                                                     absl::StrJoin(refused, "; ")));
    }
  }
}

}  // namespace

absl::StatusOr<ArchiveRef> ResolveArchive(const std::vector<ArchiveRef>& archives, const ArchiveLocation& where,
                                          const std::string& from) {
  if (!ParseArchiveName(Basename(from)).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", from, "\" is not a hostatlas-backup archive name"));
  }
  std::vector<std::string> candidates = {from};
  // The key with the root in front (an S3 prefix, or a local path).
  std::string root = where.root;
  if (!root.empty() && root.back() != '/') root += '/';
  if (!root.empty() && absl::StartsWith(from, root)) candidates.push_back(from.substr(root.size()));
  // A path as typed in a shell under a local destination: relative to the
  // working folder, or with "./" and ".." in it.
  if (!root.empty() && root[0] == '/' && from.find('/') != std::string::npos) {
    std::error_code ec;
    std::string full = std::filesystem::absolute(from, ec).lexically_normal().string();
    if (!ec && absl::StartsWith(full, root)) candidates.push_back(full.substr(root.size()));
  }
  for (const auto& c : candidates) {
    for (const auto& a : archives) {
      if (a.key == c) return a;
    }
  }
  // A bare file name: unique among the archives (names carry the time).
  if (from.find('/') == std::string::npos) {
    for (const auto& a : archives) {
      if (Basename(a.key) == from) return a;
    }
  }
  std::vector<const ArchiveRef*> close;
  for (const auto& a : archives) close.push_back(&a);
  std::string base = Basename(from);
  std::sort(close.begin(), close.end(), [&](const ArchiveRef* x, const ArchiveRef* y) {
    size_t px = CommonPrefix(Basename(x->key), base), py = CommonPrefix(Basename(y->key), base);
    return px != py ? px > py : x->key > y->key;
  });
  std::vector<std::string> names;
  for (size_t i = 0; i < close.size() && i < 3; ++i) names.push_back(close[i]->key);
  return absl::NotFoundError(absl::StrCat(
      "no archive \"", from, "\" at the destination",
      names.empty() ? "" : absl::StrCat("; closest: ", absl::StrJoin(names, ", ")),
      "\nhint: hostatlas-backup list shows every archive and its key"));
}

absl::StatusOr<std::vector<RestoreItem>> RunRestore(const BackupSpec& spec, const PlanContext& pc,
                                                    const RestoreOptions& options,
                                                    const std::atomic<bool>& cancel) {
  HAB_ASSIGN_OR_RETURN(Setup setup, Prepare(spec, pc, options, "restore"));
  std::map<std::string, std::vector<std::string>> future;
  std::map<std::string, std::string> newest_future;
  HAB_ASSIGN_OR_RETURN(std::vector<ArchiveRef> todo,
                       Select(spec, pc, *setup.dest, setup.where, options, future, newest_future));
  // `--to` itself is ours to remove again if this restore made it and
  // failed to put anything in it.
  struct stat st;
  bool target_existed = ::lstat(options.target_dir.c_str(), &st) == 0;
  std::vector<RestoreItem> items;
  std::vector<size_t> to_run;
  for (auto& a : todo) {
    RestoreItem item;
    item.key = a.key;
    item.source = a.name.source;
    const SourceKind* kind = FindSourceKindByExtension(a.name.ext);
    item.unit = std::string(kind->restore_unit());
    item.restored_path = kind->RestorePath(options.target_dir, a.name.source);
    item.load_hint = kind->LoadHint(item.restored_path);
    if (Exists(item.restored_path)) {
      item.skipped = true;  // restored before: a re-run restores what is missing
    } else {
      to_run.push_back(items.size());
    }
    items.push_back(std::move(item));
  }
  if (!to_run.empty()) RunItems(spec, pc, setup, options.target_dir, items, to_run, cancel);
  if (!target_existed) (void)RemoveEmptyDirs(options.target_dir, options.target_dir);
  AddSelectWarnings(items, future);
  AddFutureOnly(items, future, newest_future);
  return items;
}

absl::StatusOr<std::vector<RestoreItem>> RunVerify(const BackupSpec& spec, const PlanContext& pc,
                                                   const RestoreOptions& options,
                                                   const std::atomic<bool>& cancel) {
  HAB_ASSIGN_OR_RETURN(Setup setup, Prepare(spec, pc, options, "verify"));
  std::map<std::string, std::vector<std::string>> future;
  std::map<std::string, std::string> newest_future;
  HAB_ASSIGN_OR_RETURN(std::vector<ArchiveRef> todo,
                       Select(spec, pc, *setup.dest, setup.where, options, future, newest_future));
  std::vector<RestoreItem> items;
  std::vector<size_t> to_run;
  for (auto& a : todo) {
    RestoreItem item;
    item.key = a.key;
    item.source = a.name.source;
    to_run.push_back(items.size());
    items.push_back(std::move(item));
  }
  RunItems(spec, pc, setup, "", items, to_run, cancel);
  AddSelectWarnings(items, future);
  for (auto& item : items) {
    const SourceKind* kind = FindSourceKindByExtension(ParseArchiveName(Basename(item.key))->ext);
    item.unit = kind->verify_count_is_members() ? "table-of-contents entries"
                : kind->verify_counts_members() ? "members"
                                                : "bytes";
  }
  AddFutureOnly(items, future, newest_future);
  return items;
}

}  // namespace hab

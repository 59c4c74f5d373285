#include "cli/plan_view.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "engine/human.h"

namespace hab::cli {
namespace {

std::string Param(const PlanNode& n, const std::string& key) {
  for (const auto& [k, v] : n.params) {
    if (k == key) return v;
  }
  return "";
}

// The source's own words: "files /var/www, /etc/nginx (exclude …)" or
// "postgres backup@10.0.0.2:5432/app".
std::string DescribeSource(const PlanBranch& b) {
  const PlanNode& src = b.nodes.front();
  if (!Param(src, "paths").empty()) {
    std::string ex = Param(src, "exclude");
    return absl::StrCat(b.source_type, " ", absl::StrReplaceAll(Param(src, "paths"), {{",", ", "}}),
                        ex.empty() ? "" : absl::StrCat(" (exclude ", absl::StrReplaceAll(ex, {{",", ", "}}), ")"));
  }
  return absl::StrCat(b.source_type, " ", Param(src, "user"), "@", Param(src, "host"), ":", Param(src, "port"), "/",
                      Param(src, "database"), ", password from ", Param(src, "password"));
}

}  // namespace

std::string RenderChecks(const PreflightReport& report, bool problems_only) {
  std::string out;
  for (const auto& c : report.checks()) {
    const char* mark = c.outcome == PreflightCheck::Outcome::kOk        ? "\u2713"
                       : c.outcome == PreflightCheck::Outcome::kWarning ? "!"
                                                                        : "\u2717";
    if (problems_only && c.outcome == PreflightCheck::Outcome::kOk) continue;
    std::string line = c.Line();
    // Continuation lines (hints) indented under their check.
    absl::StrAppend(&out, "  ", mark, " ", absl::StrReplaceAll(line, {{"\n", "\n      "}}), "\n");
  }
  return out;
}

std::string RenderOperatorPlan(const BackupSpec& spec, const GraphPlan& plan,
                               const absl::StatusOr<std::vector<RetentionPreview>>& retention) {
  std::string out = absl::StrCat("plan: back up ", plan.branches.size(), " source(s) to ", plan.destination, "\n");
  absl::StrAppend(&out, "  ", plan.concurrent_branches, " at once within memory_limit ",
                  HumanBytes(plan.memory_limit), ", ", plan.parallelism, " thread(s), zstd level ", spec.zstd_level,
                  ", age to ", spec.recipients.empty() ? std::string("identity_file's key")
                                                        : absl::StrCat(spec.recipients.size(), " recipient(s)"),
                  ", verification ", spec.verification, "\n");
  if (!plan.location.dated.empty()) {
    absl::StrAppend(&out, "  dated folders: ", plan.location.dated, " (today: ", plan.location.folder, ")\n");
  }
  for (const auto& b : plan.branches) {
    absl::StrAppend(&out, "  ", b.source, ": ", DescribeSource(b), "\n");
    std::string size = b.estimate_bytes == 0 ? " (size unknown until it runs)"
                       : b.estimate_is_bound
                           ? absl::StrCat(" (at most ", HumanBytes(b.estimate_bytes),
                                          ": its filesystem's used space; the tree was not walked)")
                           : absl::StrCat(" (source about ", HumanBytes(b.estimate_bytes), ")");
    absl::StrAppend(&out, "    -> ", b.archive_key, size, "\n");
  }
  if (!spec.pre_hooks.empty() || !spec.post_hooks.empty()) {
    absl::StrAppend(&out, "hooks that would run (each through /bin/sh -c, timeout ",
                    HumanSeconds(static_cast<double>(spec.hook_timeout_seconds)), "):\n");
    for (const auto& h : spec.pre_hooks) absl::StrAppend(&out, "  before: ", h, "\n");
    for (const auto& h : spec.post_hooks) absl::StrAppend(&out, "  after:  ", h, " (also after a failure)\n");
  }
  if (spec.keep_last <= 0) {
    absl::StrAppend(&out, "retention: off (every archive is kept)\n");
  } else if (!retention.ok()) {
    absl::StrAppend(&out, "retention: keep_last ", spec.keep_last, " per source; the destination could not be listed (",
                    retention.status().message(), ")\n");
  } else {
    absl::StrAppend(&out, "retention: keep_last ", spec.keep_last, " per source, after this run's archive\n");
    for (const auto& r : *retention) {
      if (r.would_delete.empty()) {
        absl::StrAppend(&out, "  ", r.source, ": ", r.existing, " archive(s) now; none would be deleted (",
                        r.existing + 1, " of at most ", spec.keep_last, ")\n");
        continue;
      }
      absl::StrAppend(&out, "  ", r.source, ": would delete ", r.would_delete.size(), " (the oldest): ",
                      absl::StrJoin(r.would_delete, ", "), "\n");
      absl::StrAppend(&out, "    keeps the newest ", r.kept, " and the new one\n");
    }
  }
  return out;
}

}  // namespace hab::cli

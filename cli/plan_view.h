// What `run --dry-run` tells the operator: a ✓/!/✗ line per pre-flight
// check, the plan in the operator's words (sources, sizes in human units,
// where archives go, how many run at once), the hooks that would run, and
// what retention would delete and why the other archives stay. The
// engine's node parameters (PrintPlanText) are added under --debug.
#pragma once

#include <string>
#include <vector>

#include "engine/preflight.h"
#include "graphs/backup.h"
#include "graphs/config.h"
#include "graphs/plan.h"

namespace hab::cli {

// One line per check: "  ✓ source path  web: /var/www: readable".
// `problems_only`: failed checks and warnings only.
std::string RenderChecks(const PreflightReport& report, bool problems_only);

std::string RenderOperatorPlan(const BackupSpec& spec, const GraphPlan& plan,
                               const absl::StatusOr<std::vector<RetentionPreview>>& retention);

}  // namespace hab::cli

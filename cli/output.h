// CLI output rules, in one place:
//  - stdout carries what was asked for: the success summary of a run or a
//    restore, the plan, status, list, a public key, the version;
//  - problems (errors, warnings), hints, progress and traces go to stderr,
//    so `2>/dev/null` never hides a success line and cron's mail holds
//    only what went wrong;
//  - with -q/--quiet nothing is printed unless something failed or warned,
//    and then everything is (the `chronic` convention): output is held back
//    until Finish();
//  - messages are lower-case, prefixed "hostatlas-backup: ", no trailing
//    period; a "hint:" line follows when we know the fix;
//  - secrets are never printed (the config layer never hands them out).
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace hab::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;    // a source or destination failed during the run
inline constexpr int kExitPreflight = 2;  // config, pre-flight or lock problem

void Error(absl::string_view message);  // stderr, counts as a problem
void Warn(absl::string_view message);   // stderr, counts as a problem
void Hint(absl::string_view message);   // stderr
void Note(absl::string_view message);   // stderr: progress, not a problem
void Info(absl::string_view message);   // stdout: the summary, prefixed
void Out(absl::string_view text);       // stdout, as is
void SetDebug(bool on);
bool Debug();
void Trace(absl::string_view message);  // stderr, only with --debug
void SetQuiet(bool on);
// Emits what -q held back if the run failed or warned; returns exit_code.
int Finish(int exit_code);

}  // namespace hab::cli

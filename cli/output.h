// CLI output rules, in one place:
//  - progress, warnings, errors and prompts go to stderr; stdout carries only
//    what was asked for (the plan, a public key, version, status);
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

void Error(absl::string_view message);
void Warn(absl::string_view message);
void Info(absl::string_view message);
void Hint(absl::string_view message);
void SetDebug(bool on);
bool Debug();
void Trace(absl::string_view message);  // only with --debug

}  // namespace hab::cli

// JSON text helpers for the records we write by hand (run logs, status,
// API bodies): the writers build JSON with StrCat, so one escaping rule.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace hab {

// `s` as a JSON string literal, quotes included: '"', '\\' and control
// characters escaped; other bytes (UTF-8) as they are.
std::string JsonString(absl::string_view s);

// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD
// (for text declared charset=utf-8).
std::string ValidUtf8(absl::string_view s);

}  // namespace hab

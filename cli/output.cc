#include "cli/output.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_split.h"

namespace hab::cli {
namespace {
bool g_debug = false;

void Print(const char* level, absl::string_view message) {
  // Multi-line messages (config problems) get the prefix on every line.
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    if (line.rfind("hint: ", 0) == 0) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    } else {
      std::fprintf(stderr, "hostatlas-backup: %s%.*s\n", level, static_cast<int>(line.size()), line.data());
    }
  }
}
}  // namespace

void Error(absl::string_view m) { Print("error: ", m); }
void Warn(absl::string_view m) { Print("warning: ", m); }
void Info(absl::string_view m) { Print("", m); }
void Hint(absl::string_view m) { std::fprintf(stderr, "hint: %.*s\n", static_cast<int>(m.size()), m.data()); }
void SetDebug(bool on) { g_debug = on; }
bool Debug() { return g_debug; }
void Trace(absl::string_view m) {
  if (g_debug) Print("trace: ", m);
}

}  // namespace hab::cli

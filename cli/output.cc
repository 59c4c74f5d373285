#include "cli/output.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hab::cli {
namespace {

bool g_debug = false;
bool g_quiet = false;
bool g_problem = false;
// What -q holds back, in order, with the stream it belongs to.
std::vector<std::pair<FILE*, std::string>> g_held;

void Emit(FILE* f, std::string text) {
  if (g_quiet) {
    g_held.push_back({f, std::move(text)});
    return;
  }
  // stdout is buffered, stderr is not: what was printed first must come
  // first when both go to one file (cron's mail, a CI log).
  if (f == stderr) std::fflush(stdout);
  std::fwrite(text.data(), 1, text.size(), f);
  if (f == stderr) std::fflush(stderr);
}

void Print(FILE* f, const char* level, absl::string_view message) {
  // Multi-line messages (config problems) get the prefix on every line.
  std::string text;
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    if (line.rfind("hint: ", 0) == 0) {
      absl::StrAppend(&text, line, "\n");
    } else {
      absl::StrAppend(&text, "hostatlas-backup: ", level, line, "\n");
    }
  }
  Emit(f, std::move(text));
}

}  // namespace

void Error(absl::string_view m) {
  g_problem = true;
  Print(stderr, "error: ", m);
}
void Warn(absl::string_view m) {
  g_problem = true;
  Print(stderr, "warning: ", m);
}
void Note(absl::string_view m) { Print(stderr, "", m); }
void Info(absl::string_view m) { Print(stdout, "", m); }
void Out(absl::string_view text) { Emit(stdout, std::string(text)); }
void Hint(absl::string_view m) { Emit(stderr, absl::StrCat("hint: ", m, "\n")); }
void SetDebug(bool on) { g_debug = on; }
bool Debug() { return g_debug; }
void Trace(absl::string_view m) {
  if (g_debug) Print(stderr, "trace: ", m);
}
void SetQuiet(bool on) { g_quiet = on; }

int Finish(int exit_code) {
  if (g_quiet && (exit_code != 0 || g_problem)) {
    for (auto& [f, text] : g_held) {
      if (f == stderr) std::fflush(stdout);
      std::fwrite(text.data(), 1, text.size(), f);
      if (f == stderr) std::fflush(stderr);
    }
  }
  g_held.clear();
  std::fflush(stdout);
  std::fflush(stderr);
  return exit_code;
}

}  // namespace hab::cli

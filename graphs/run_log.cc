#include "graphs/run_log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/file_util.h"
#include "version.h"

namespace hab {

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

RunLog::RunLog(std::string config_path, std::string host, int64_t started, bool dry_run)
    : config_path_(std::move(config_path)), host_(std::move(host)), started_(started), dry_run_(dry_run) {}

std::string RunLog::Directory() {
  if (const char* d = std::getenv("HOSTATLAS_BACKUP_LOG_DIR"); d && *d) return d;
  if (::geteuid() == 0) return "/var/log/hostatlas-backup";
  const char* state = std::getenv("XDG_STATE_HOME");
  std::string base = state && *state ? state : absl::StrCat(std::getenv("HOME") ? std::getenv("HOME") : "/tmp", "/.local/state");
  return base + "/hostatlas-backup";
}

void RunLog::AddPreflight(const std::string& check, bool ok, const std::string& detail) {
  preflight_json_.push_back(absl::StrCat("{\"check\":", JsonString(check), ",\"ok\":", ok ? "true" : "false",
                                         ",\"detail\":", JsonString(detail), "}"));
}

void RunLog::SetBackup(const BackupResult& result, bool cancelled) {
  cancelled_ = cancelled;
  memory_peak_ = result.memory_peak;
  for (const auto& w : result.warnings) warnings_json_.push_back(JsonString(w));
  for (const auto& s : result.sources) {
    std::vector<std::string> warnings, deleted;
    for (const auto& w : s.warnings) warnings.push_back(JsonString(w));
    for (const auto& d : s.deleted) deleted.push_back(JsonString(d));
    std::string status = s.status.ok() ? "ok" : (s.status.code() == absl::StatusCode::kCancelled ? "cancelled" : "failed");
    sources_json_.push_back(absl::StrCat(
        "{\"name\":", JsonString(s.name), ",\"type\":", JsonString(s.type),
        ",\"archive_key\":", JsonString(s.archive_key), ",\"status\":", JsonString(status),
        ",\"error\":", s.status.ok() ? "null" : JsonString(s.status.message()),
        ",\"bytes_in\":", s.bytes_in, ",\"bytes_out\":", s.bytes_out,
        ",\"sha256\":", s.sha256.empty() ? "null" : JsonString(s.sha256),
        ",\"members\":", s.members, ",\"verification\":", JsonString(s.verification),
        ",\"duration_seconds\":", absl::StrFormat("%.3f", s.seconds),
        ",\"warnings\":[", absl::StrJoin(warnings, ","), "]",
        ",\"retention_deleted\":[", absl::StrJoin(deleted, ","), "]}"));
    bytes_in_ += s.bytes_in;
    bytes_out_ += s.bytes_out;
  }
}

void RunLog::AddHooks(const std::vector<HookResult>& hooks) {
  for (const auto& h : hooks) {
    hooks_json_.push_back(absl::StrCat(
        "{\"phase\":", JsonString(h.phase), ",\"command\":", JsonString(h.command),
        ",\"ok\":", h.ok ? "true" : "false", ",\"outcome\":", JsonString(h.outcome),
        ",\"duration_seconds\":", absl::StrFormat("%.3f", h.seconds),
        ",\"output_tail\":", JsonString(h.output_tail), "}"));
  }
}

void RunLog::Finish(int exit_code) {
  int64_t ended = std::time(nullptr);
  std::string status = exit_code == 0 ? "ok" : cancelled_ ? "cancelled" : exit_code == 2 ? "preflight_failed" : "failed";
  std::string json = absl::StrCat(
      "{\"schema\":\"hostatlas-backup/run-log/v1\",\"version\":", JsonString(HAB_VERSION),
      ",\"commit\":", JsonString(HAB_COMMIT), ",\"host\":", JsonString(host_),
      ",\"config\":", JsonString(config_path_), ",\"dry_run\":", dry_run_ ? "true" : "false",
      ",\"started_at\":", JsonString(Rfc3339Utc(started_)), ",\"ended_at\":", JsonString(Rfc3339Utc(ended)),
      ",\"duration_seconds\":", ended - started_, ",\"status\":", JsonString(status),
      ",\"exit_code\":", exit_code, ",\"preflight\":[", absl::StrJoin(preflight_json_, ","), "]",
      ",\"sources\":[", absl::StrJoin(sources_json_, ","), "]",
      ",\"hooks\":[", absl::StrJoin(hooks_json_, ","), "]",
      ",\"warnings\":[", absl::StrJoin(warnings_json_, ","), "]",
      ",\"totals\":{\"bytes_in\":", bytes_in_, ",\"bytes_out\":", bytes_out_,
      ",\"memory_budget_peak\":", memory_peak_, "}}\n");
  std::string dir = Directory();
  absl::Status st = MakeDirs(dir, 0700);
  // Two runs in one second (a dry-run next to a run) must not collide.
  std::string path = absl::StrCat(dir, "/run-", CompactUtc(started_), dry_run_ ? "-dry-run" : "", "-", ::getpid(), ".json");
  if (st.ok()) st = WriteFileAtomic(path, json, 0600);
  if (!st.ok()) {
    std::fprintf(stderr, "hostatlas-backup: warning: run log not written: %s\n", std::string(st.message()).c_str());
  }
}

}  // namespace hab

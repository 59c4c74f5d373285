#include "graphs/run_log.h"

#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <dirent.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/file_util.h"
#include "version.h"

namespace hab {

std::string NewUuid() {
  uint8_t b[16];
  randombytes_buf(b, sizeof b);
  b[6] = (b[6] & 0x0F) | 0x40;  // version 4
  b[8] = (b[8] & 0x3F) | 0x80;  // RFC 4122 variant
  return absl::StrFormat("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                         b[15]);
}

RunLog::RunLog(std::string config_path, std::string host, int64_t started, bool dry_run)
    : run_id_(NewUuid()), config_path_(RealPathOr(config_path)), host_(std::move(host)), started_(started),
      dry_run_(dry_run) {}

absl::StatusOr<std::string> RunLog::Directory() {
  if (const char* d = std::getenv("HOSTATLAS_BACKUP_LOG_DIR"); d && *d) return std::string(d);
  if (::geteuid() == 0) return std::string("/var/log/hostatlas-backup");
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state) {
    return absl::StrCat(state, "/hostatlas-backup");
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return absl::StrCat(home, "/.local/state/hostatlas-backup");
  }
  // Not a shared /tmp/.local/state another user could have made first.
  return absl::FailedPreconditionError(
      "no directory for run logs: HOME and XDG_STATE_HOME are unset\n"
      "hint: set XDG_STATE_HOME or HOSTATLAS_BACKUP_LOG_DIR to a directory of yours");
}

void RunLog::AddPreflight(const PreflightReport& report) {
  for (const auto& c : report.checks()) {
    const char* outcome = c.outcome == PreflightCheck::Outcome::kOk        ? "ok"
                          : c.outcome == PreflightCheck::Outcome::kWarning ? "warning"
                                                                           : "failed";
    preflight_json_.push_back(absl::StrCat(
        "{\"check\":", JsonString(c.check), ",\"subject\":", JsonString(c.subject), ",\"outcome\":\"", outcome,
        "\",\"ok\":", c.outcome != PreflightCheck::Outcome::kFailed ? "true" : "false",
        ",\"detail\":", JsonString(c.detail), "}"));
  }
}

void RunLog::AddPreflightFailure(const std::string& check, const std::string& detail) {
  PreflightReport r;
  r.Fail(check, "", detail);
  AddPreflight(r);
}

void RunLog::AddWarning(const std::string& warning) { warnings_json_.push_back(JsonString(warning)); }

void RunLog::SetBackup(const BackupResult& result, bool cancelled) {
  cancelled_ = cancelled;
  memory_peak_ = result.memory_peak;
  for (const auto& w : result.warnings) warnings_json_.push_back(JsonString(w));
  for (const auto& k : result.swept) swept_json_.push_back(JsonString(k));
  for (const auto& s : result.sources) {
    std::vector<std::string> warnings, deleted;
    for (const auto& w : s.warnings) warnings.push_back(JsonString(w));
    for (const auto& d : s.deleted) deleted.push_back(JsonString(d));
    sources_json_.push_back(absl::StrCat(
        "{\"name\":", JsonString(s.name), ",\"type\":", JsonString(s.type),
        ",\"archive_key\":", JsonString(s.archive_key), ",\"status\":", JsonString(s.Outcome()),
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

std::string RunLog::Json(int exit_code) const {
  if (ended_ == 0) ended_ = std::time(nullptr);
  std::string status = exit_code == 0 ? "ok" : cancelled_ ? "cancelled" : exit_code == 2 ? "preflight_failed" : "failed";
  return absl::StrCat(
      "{\"schema\":\"hostatlas-backup/run-log/v1\",\"run_id\":", JsonString(run_id_),
      ",\"version\":", JsonString(HAB_VERSION),
      ",\"commit\":", JsonString(HAB_COMMIT), ",\"host\":", JsonString(host_),
      ",\"config\":", JsonString(config_path_), ",\"dry_run\":", dry_run_ ? "true" : "false",
      ",\"started_at\":", JsonString(Rfc3339Utc(started_)), ",\"ended_at\":", JsonString(Rfc3339Utc(ended_)),
      ",\"duration_seconds\":", ended_ - started_, ",\"status\":", JsonString(status),
      ",\"exit_code\":", exit_code, ",\"lock_collision\":", lock_collision_ ? "true" : "false",
      ",\"preflight\":[", absl::StrJoin(preflight_json_, ","), "]",
      ",\"sources\":[", absl::StrJoin(sources_json_, ","), "]",
      ",\"hooks\":[", absl::StrJoin(hooks_json_, ","), "]",
      ",\"warnings\":[", absl::StrJoin(warnings_json_, ","), "]",
      ",\"swept\":[", absl::StrJoin(swept_json_, ","), "]",
      ",\"totals\":{\"bytes_in\":", bytes_in_, ",\"bytes_out\":", bytes_out_,
      ",\"memory_budget_peak\":", memory_peak_, "}",
      server_uuid_.empty() ? "" : absl::StrCat(",\"server_uuid\":", JsonString(server_uuid_)),
      ",\"hostatlas\":{", hostatlas_fields_, ",\"push\":", push_json_, "}}\n");
}

std::set<std::string> ArchivesWrittenBy(const std::string& dir, const std::string& host) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  simdjson::dom::parser parser;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (!absl::StartsWith(n, "run-") || !absl::EndsWith(n, ".json")) continue;
    auto raw = ReadFile(dir + "/" + n);
    simdjson::dom::element doc;
    if (!raw.ok() || parser.parse(*raw).get(doc) != simdjson::SUCCESS) continue;
    std::string_view h;
    if (doc["host"].get_string().get(h) != simdjson::SUCCESS || h != host) continue;
    simdjson::dom::array sources;
    if (doc["sources"].get_array().get(sources) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : sources) {
      std::string_view key, status;
      if (s["archive_key"].get_string().get(key) != simdjson::SUCCESS) continue;
      if (s["status"].get_string().get(status) != simdjson::SUCCESS || status.substr(0, 2) != "ok") continue;
      out.insert(Basename(std::string(key)));
    }
  }
  ::closedir(d);
  return out;
}

absl::StatusOr<std::string> RunLog::Write(int exit_code) {
  written_ = Json(exit_code);
  auto dir = Directory();
  absl::Status st = dir.status();
  if (st.ok()) st = MakeDirs(*dir, 0700);
  if (st.ok()) {
    // Two runs in one second (a dry-run next to a run) must not collide.
    if (path_.empty()) {
      path_ = absl::StrCat(*dir, "/run-", CompactUtc(started_), dry_run_ ? "-dry-run" : "", "-", ::getpid(), ".json");
    }
    st = WriteFileAtomic(path_, written_, 0600);
  }
  if (!st.ok()) {
    std::fprintf(stderr, "hostatlas-backup: warning: run log not written: %s\n", std::string(st.message()).c_str());
    return st;
  }
  return path_;
}

}  // namespace hab

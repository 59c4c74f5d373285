// PreflightReport: the outcome of every pre-flight check, one entry each.
//
// Checks run independently (a failed one never stops the others, so a
// broken config surfaces all its problems in one pass); each adds one entry:
// ok, warning (printed, never fails the run) or failed (exit 2). The run log
// keeps every entry; `run --dry-run` prints a line per entry.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace hab {

struct PreflightCheck {
  enum class Outcome { kOk, kWarning, kFailed };
  std::string check;    // "source path", "destination", "encryption", ...
  std::string subject;  // "webroot: /var/www", "local:/mnt/backups"
  Outcome outcome = Outcome::kOk;
  std::string detail;   // why (failed, warning) or what was found (ok); may hold "hint:" lines
  // "check: subject: detail", the one-line form of a problem.
  std::string Line() const;
};

class PreflightReport {
 public:
  void Ok(std::string check, std::string subject, std::string detail = "");
  void Warn(std::string check, std::string subject, std::string detail);
  void Fail(std::string check, std::string subject, std::string detail);
  const std::vector<PreflightCheck>& checks() const { return checks_; }
  bool failed() const;
  size_t warnings() const;

 private:
  std::vector<PreflightCheck> checks_;
};

// What a kind's pre-flight may use.
struct PreflightOptions {
  const std::atomic<bool>* cancel = nullptr;  // stop early when it becomes true
  int parallelism = 1;
  bool cancelled() const { return cancel != nullptr && cancel->load(); }
};

}  // namespace hab

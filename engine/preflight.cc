#include "engine/preflight.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace hab {

std::string PreflightCheck::Line() const {
  if (subject.empty()) return absl::StrCat(check, ": ", detail);
  if (detail.empty()) return absl::StrCat(check, ": ", subject);
  return absl::StrCat(check, ": ", subject, ": ", detail);
}

void PreflightReport::Ok(std::string check, std::string subject, std::string detail) {
  checks_.push_back({std::move(check), std::move(subject), PreflightCheck::Outcome::kOk, std::move(detail)});
}

void PreflightReport::Warn(std::string check, std::string subject, std::string detail) {
  checks_.push_back(
      {std::move(check), std::move(subject), PreflightCheck::Outcome::kWarning, std::move(detail)});
}

void PreflightReport::Fail(std::string check, std::string subject, std::string detail) {
  checks_.push_back(
      {std::move(check), std::move(subject), PreflightCheck::Outcome::kFailed, std::move(detail)});
}

bool PreflightReport::failed() const {
  return std::any_of(checks_.begin(), checks_.end(), [](const PreflightCheck& c) {
    return c.outcome == PreflightCheck::Outcome::kFailed;
  });
}

size_t PreflightReport::warnings() const {
  return static_cast<size_t>(std::count_if(checks_.begin(), checks_.end(), [](const PreflightCheck& c) {
    return c.outcome == PreflightCheck::Outcome::kWarning;
  }));
}

}  // namespace hab

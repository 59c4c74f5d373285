// Status propagation macros, defined once for the whole project.
//
//   HAB_RETURN_IF_ERROR(DoThing());
//   HAB_ASSIGN_OR_RETURN(auto value, ComputeThing());
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HAB_STATUS_CONCAT_INNER(a, b) a##b
#define HAB_STATUS_CONCAT(a, b) HAB_STATUS_CONCAT_INNER(a, b)

#define HAB_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    ::absl::Status hab_status_ = (expr);           \
    if (!hab_status_.ok()) return hab_status_;     \
  } while (0)

#define HAB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()

#define HAB_ASSIGN_OR_RETURN(lhs, expr) \
  HAB_ASSIGN_OR_RETURN_IMPL(HAB_STATUS_CONCAT(hab_statusor_, __LINE__), lhs, expr)

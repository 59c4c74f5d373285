#include "destinations/registry.h"

#include <vector>

#include "absl/strings/str_join.h"
#include "destinations/local/local_kind.h"
#include "destinations/s3/s3_kind.h"
#include "destinations/sftp/sftp_kind.h"

namespace hab {
namespace {

std::vector<const DestinationKind*> Kinds() {
  return {
      &LocalDestinationKind(),
      &S3DestinationKind(),
      &SftpDestinationKind(),
  };
}

}  // namespace

const DestinationKind* FindDestinationKind(absl::string_view type) {
  for (const DestinationKind* k : Kinds()) {
    if (k->type() == type) return k;
  }
  return nullptr;
}

std::string DestinationTypeList() {
  std::vector<std::string> names;
  for (const DestinationKind* k : Kinds()) names.emplace_back(k->type());
  return absl::StrJoin(names, ", ");
}

}  // namespace hab

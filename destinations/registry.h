// The destination kinds this build knows, by config `type:`. Adding a kind:
// a folder under destinations/ and one line in registry.cc.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "destinations/destination_kind.h"

namespace hab {

const DestinationKind* FindDestinationKind(absl::string_view type);
// "local, s3" for messages.
std::string DestinationTypeList();

}  // namespace hab

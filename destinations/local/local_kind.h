// The `local` destination kind: `path:` (absolute, templated).
#pragma once

#include "destinations/destination_kind.h"

namespace hab {

const DestinationKind& LocalDestinationKind();

}  // namespace hab

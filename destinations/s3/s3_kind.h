// The `s3` destination kind: an S3-compatible bucket under a prefix.
#pragma once

#include "destinations/destination_kind.h"

namespace hab {

const DestinationKind& S3DestinationKind();

}  // namespace hab

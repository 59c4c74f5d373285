// MemoryDestination: a Destination in memory, for tests. It keeps the
// contract of engine/destination.h to the letter (invisible until Commit,
// never replacing, Abort removes, orphans are the writers that neither
// committed nor aborted), so it runs the conformance suite like the real
// kinds and stands in for them in unit tests.
#pragma once

#include <memory>

#include "engine/destination.h"

namespace hab {

std::unique_ptr<Destination> MakeMemoryDestination();

}  // namespace hab

// FaultyDestination: a decorator that makes any Destination misbehave on
// purpose, for tests (the conformance suite, and the end-to-end tests
// through HOSTATLAS_BACKUP_FAULT=committed:1, which damages what deep
// verification reads back). Never used unless a test asks for it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "engine/destination.h"

namespace hab {

struct DestinationFaults {
  int fail_write_at = 0;   // the Nth Write of any writer fails (kInternal); 0: never
  bool fail_commit = false;  // every Commit fails before the inner commit
  int unavailable_first = 0;  // the first k calls of List/Stat/Open/Remove/Create: kUnavailable
  bool truncate_reads = false;  // readers end at half the object
  bool corrupt_reads = false;   // readers flip one bit in the middle of the object
};

std::unique_ptr<Destination> MakeFaultyDestination(std::unique_ptr<Destination> inner,
                                                   DestinationFaults faults);

}  // namespace hab

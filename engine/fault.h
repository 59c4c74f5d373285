// Fault injection decorators for tests: wrap a Source, Transform or Sink and
// fail its Nth call with the given status. Enabled in the binary only by the
// environment variable HOSTATLAS_BACKUP_FAULT="<node>:<n>" (for example
// "zstd:3" or "store:1"), which the end-to-end tests use to prove that a
// failure in any node leaves nothing at the final archive name.
// "<node>:delay=<ms>" (sources only) instead slows every chunk a source
// emits, so a test can signal or
// kill a run reliably while it is in flight.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "engine/node.h"

namespace hab {

struct FaultSpec {
  std::string node;  // Name() of the node to fail
  int nth = 1;       // 1-based call number that fails
  int delay_ms = 0;  // > 0: no failure, sleep this long per call
};

// Parses HOSTATLAS_BACKUP_FAULT; nullopt when unset or malformed.
std::optional<FaultSpec> FaultFromEnv();

std::unique_ptr<Source> MaybeFaulty(std::unique_ptr<Source> s, const std::optional<FaultSpec>& f);
std::unique_ptr<Transform> MaybeFaulty(std::unique_ptr<Transform> t, const std::optional<FaultSpec>& f);
std::unique_ptr<Sink> MaybeFaulty(std::unique_ptr<Sink> s, const std::optional<FaultSpec>& f);

}  // namespace hab

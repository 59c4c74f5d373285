// PlainSink: where a restore (or a deep verification) delivers the plain
// stream after decryption and decompression: a tar extractor, a dump file,
// a format check. Write is called in order on one thread; Commit makes the
// result visible (or returns the check's verdict) and returns a count in
// the sink's own unit (tar members, bytes, table-of-contents entries);
// Abort undoes everything Write did and is idempotent.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/chunk.h"

namespace hab {

class PlainSink {
 public:
  virtual ~PlainSink() = default;
  virtual absl::Status Write(std::span<const uint8_t> bytes) = 0;
  // The same, for a buffer the sink may keep (no copy where it queues).
  virtual absl::Status WriteOwned(Buffer bytes) { return Write(bytes.span()); }
  virtual absl::StatusOr<uint64_t> Commit() = 0;
  virtual void Abort() noexcept = 0;
  virtual std::vector<std::string> TakeWarnings() { return {}; }
};

}  // namespace hab

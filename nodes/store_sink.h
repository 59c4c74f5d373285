// StoreSink: adapts any Destination's ObjectWriter to the engine's Sink, and
// computes the archive's SHA-256 and length on the way (the writer thread is
// the one place that sees every archive byte in order).
#pragma once

#include <memory>
#include <string>

#include "engine/destination.h"
#include "engine/node.h"
#include "engine/sha256.h"

namespace hab {

struct ArchiveDigest {
  std::string sha256_hex;
  uint64_t bytes = 0;
};

class StoreSink : public Sink {
 public:
  StoreSink(Destination* destination, std::string key, std::shared_ptr<ArchiveDigest> digest,
            WriteOptions options = {})
      : destination_(destination), key_(std::move(key)), digest_(std::move(digest)), options_(options) {}
  std::string Name() const override { return "store"; }
  absl::Status Write(RunContext& ctx, const Chunk& chunk) override;
  absl::StatusOr<SinkReport> Commit(RunContext& ctx) override;
  void Abort() noexcept override;

 private:
  Destination* destination_;
  std::string key_;
  std::shared_ptr<ArchiveDigest> digest_;
  std::unique_ptr<ObjectWriter> writer_;
  Sha256 sha_;
  uint64_t bytes_ = 0;
  WriteOptions options_;
};

}  // namespace hab

// DecompressSink: the restore's sink: zstd decompression (ParallelZstdDecoder)
// on the writer thread in front of a PlainSink (a tar extractor, a dump
// file, a verifier). Commit finishes the zstd stream (a truncated one is
// kDataLoss), then commits the plain sink, whose count (members, bytes,
// TOC entries) becomes SinkReport::bytes; Abort aborts it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/node.h"
#include "nodes/plain_sink.h"
#include "nodes/zstd.h"

namespace hab {

struct PlainResult {
  uint64_t count = 0;
  std::vector<std::string> warnings;
};

class DecompressSink : public Sink {
 public:
  // Frames of up to `max_frame_content` bytes decode on `threads` threads.
  DecompressSink(std::unique_ptr<PlainSink> inner, int threads, size_t max_frame_content,
                 std::shared_ptr<PlainResult> result)
      : inner_(std::move(inner)),
        zstd_(std::make_unique<ParallelZstdDecoder>(threads, max_frame_content)),
        result_(std::move(result)) {}
  std::string Name() const override { return "extract"; }
  absl::Status Write(RunContext& ctx, const Chunk& chunk) override;
  absl::StatusOr<SinkReport> Commit(RunContext& ctx) override;
  void Abort() noexcept override;

 private:
  // Both go when the branch ends (committed or aborted): decoder threads
  // and buffers, the extractor's thread.
  void Drop();
  std::unique_ptr<PlainSink> inner_;
  std::unique_ptr<ParallelZstdDecoder> zstd_;
  std::shared_ptr<PlainResult> result_;
};

}  // namespace hab

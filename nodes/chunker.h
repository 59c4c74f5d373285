// Chunker: re-cuts a byte stream into blocks that are whole multiples of a
// unit, except the final block.
//
// The age STREAM needs 64 KiB plaintext chunks (and 64 KiB + 16 ciphertext
// chunks on restore) at known positions, while zstd frames have arbitrary
// sizes. The chunker keeps a carry of 1..unit bytes between inputs, so the
// final block is never empty unless the whole stream is (a full-size final
// age chunk is legal; an empty final chunk after data is not). Each emitted
// block shares the lease of the input that completed it; the carry itself is
// a fixed per-branch buffer (FixedBytes). Serial: one instance per branch.
//
// Fed a ChunkRef, the chunker copies only the one unit that straddles two
// inputs (carry + head of the input); the whole units inside an input go on
// as a view of it (Chunk::base), so the bulk of the stream is never copied.
#pragma once

#include "engine/node.h"

namespace hab {

class Chunker {
 public:
  explicit Chunker(size_t unit) : unit_(unit), carry_(unit) {}
  static size_t FixedBytes(size_t unit) { return unit; }
  // Feeds `in`; emits zero or more blocks. `last` flushes the final block.
  void Feed(std::span<const uint8_t> in, bool last, const LeaseRef& lease, Emitter& out);
  // The same cut, without copying whole units of `in` (see above).
  void Feed(const ChunkRef& in, Emitter& out);

 private:
  void EmitBlock(std::span<const uint8_t> in, size_t emit_len, bool last, const LeaseRef& lease,
                 Emitter& out);
  size_t unit_;
  Buffer carry_;
  uint64_t offset_ = 0;
  bool done_ = false;
};

class ChunkerNode : public Transform {
 public:
  explicit ChunkerNode(size_t unit) : chunker_(unit) {}
  std::string Name() const override { return "chunker"; }
  absl::Status Process(RunContext& ctx, const ChunkRef& in, Emitter& out) override {
    chunker_.Feed(in, out);
    return absl::OkStatus();
  }

 private:
  Chunker chunker_;
};

}  // namespace hab

// Helpers for node unit tests: a collecting Emitter and chunk builders.
#pragma once

#include <random>
#include <vector>

#include "engine/node.h"

namespace hab::testing {

class CollectEmitter : public Emitter {
 public:
  void Emit(Chunk c) override { chunks.push_back(std::make_shared<const Chunk>(std::move(c))); }
  void Forward(const ChunkRef& in) override { chunks.push_back(in); }
  std::vector<uint8_t> Bytes() const {
    std::vector<uint8_t> out;
    for (const auto& c : chunks) out.insert(out.end(), c->bytes().begin(), c->bytes().end());
    return out;
  }
  std::vector<ChunkRef> chunks;
};

inline ChunkRef MakeChunk(std::span<const uint8_t> bytes, uint64_t seq, uint64_t offset, bool last) {
  auto c = std::make_shared<Chunk>();
  c->seq = seq;
  c->offset = offset;
  c->last = last;
  c->data = Buffer(bytes.size());
  c->data.append(bytes);
  return c;
}

inline std::vector<uint8_t> RandomBytes(size_t n, unsigned seed, bool compressible = false) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = compressible ? static_cast<uint8_t>("abcdefgh"[rng() % 8]) : static_cast<uint8_t>(rng());
  return v;
}

// Splits `data` into chunks of `size` and runs them through `t` in order.
inline absl::Status RunThrough(Transform& t, RunContext& ctx, const std::vector<uint8_t>& data,
                               size_t size, CollectEmitter& out) {
  size_t pos = 0;
  uint64_t seq = 0;
  do {
    size_t n = std::min(size, data.size() - pos);
    bool last = pos + n == data.size();
    auto c = MakeChunk(std::span<const uint8_t>(data).subspan(pos, n), seq++, pos, last);
    absl::Status st = t.Process(ctx, c, out);
    if (!st.ok()) return st;
    pos += n;
    if (last) break;
  } while (true);
  return absl::OkStatus();
}

}  // namespace hab::testing

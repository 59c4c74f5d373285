// Chunk: the unit of data on the graph's edges.
//
// A chunk owns its bytes (Buffer, uninitialised on allocation) and shares the
// admission lease of the source chunk it derives from, so the budget is
// charged until the last derived chunk retires. `seq` orders chunks within a
// branch (dense, from 0); `offset` is the byte position of `data` in the
// stream this node emits; `last` marks the final chunk, which may be empty.
// Edges carry ChunkRef: TBB messages must be copyable and a broadcast must
// not copy bytes. A chunk is written once, then read-only. Read a chunk's
// bytes with bytes(): it may be a view into another chunk (`base`).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "engine/memory_budget.h"

namespace hab {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t capacity)
      : bytes_(capacity ? std::make_unique_for_overwrite<uint8_t[]>(capacity) : nullptr),
        capacity_(capacity) {}
  uint8_t* data() { return bytes_.get(); }
  const uint8_t* data() const { return bytes_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  // Shrinks or grows within capacity; grown bytes are uninitialised.
  void resize(size_t n) { size_ = n <= capacity_ ? n : capacity_; }
  void append(std::span<const uint8_t> b) {
    size_t n = std::min(b.size(), capacity_ - size_);
    if (n) std::memcpy(bytes_.get() + size_, b.data(), n);
    size_ += n;
  }
  std::span<const uint8_t> span() const { return {bytes_.get(), size_}; }
  std::span<uint8_t> writable() { return {bytes_.get(), capacity_}; }

 private:
  std::unique_ptr<uint8_t[]> bytes_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

struct Chunk;
using ChunkRef = std::shared_ptr<const Chunk>;

struct Chunk {
  uint64_t seq = 0;
  uint64_t offset = 0;
  bool last = false;
  // Set on placeholders that keep the sequence dense after a branch failed.
  bool dropped = false;
  Buffer data;
  LeaseRef lease;
  // A zero-copy slice of another chunk's bytes (the chunker re-cuts without
  // copying): when `base` is set, `view` points into it and `data` is empty.
  ChunkRef base;
  std::span<const uint8_t> view;

  std::span<const uint8_t> bytes() const { return base ? view : data.span(); }
};

}  // namespace hab

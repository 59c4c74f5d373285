#include "nodes/chunker.h"

namespace hab {
namespace {

// How many bytes to emit of `available`: everything on `last`, else whole
// units, keeping 1..unit bytes back (only the next input, or `last`, tells
// whether they belong to the final block).
size_t EmitLength(size_t available, size_t unit, bool last) {
  if (last) return available;
  return available == 0 ? 0 : (available - 1) / unit * unit;
}

}  // namespace

// Emits one block of `emit_len` bytes: the carry, then the head of `in`.
void Chunker::EmitBlock(std::span<const uint8_t> in, size_t emit_len, bool last,
                        const LeaseRef& lease, Emitter& out) {
  Chunk block;
  block.offset = offset_;
  block.last = last;
  block.lease = lease;
  block.data = Buffer(emit_len);
  block.data.append(carry_.span());
  block.data.append(in.subspan(0, emit_len - carry_.size()));
  carry_.resize(0);
  offset_ += emit_len;
  out.Emit(std::move(block));
}

void Chunker::Feed(std::span<const uint8_t> in, bool last, const LeaseRef& lease, Emitter& out) {
  size_t emit_len = EmitLength(carry_.size() + in.size(), unit_, last);
  if (emit_len > 0 || last) {
    size_t from_in = emit_len - carry_.size();
    EmitBlock(in, emit_len, last, lease, out);
    in = in.subspan(from_in);
  }
  carry_.append(in);
}

void Chunker::Feed(const ChunkRef& in, Emitter& out) {
  std::span<const uint8_t> rest = in->bytes();
  size_t emit_len = EmitLength(carry_.size() + rest.size(), unit_, in->last);
  if (emit_len == 0 && !in->last) {
    carry_.append(rest);
    return;
  }
  // The unit that straddles the carry and this input is copied.
  if (!carry_.empty() || emit_len == 0) {
    size_t head = std::min(emit_len, unit_);
    size_t from_in = head - carry_.size();
    bool last = in->last && head == emit_len;
    EmitBlock(rest, head, last, in->lease, out);
    rest = rest.subspan(from_in);
    emit_len -= head;
    if (last) return;
  }
  // Whole units inside this input (and, on `last`, the tail): a view.
  if (emit_len > 0) {
    Chunk block;
    block.offset = offset_;
    block.last = in->last;
    block.lease = in->lease;
    block.base = in;
    block.view = rest.subspan(0, emit_len);
    offset_ += emit_len;
    out.Emit(std::move(block));
    rest = rest.subspan(emit_len);
  }
  carry_.append(rest);
}

}  // namespace hab

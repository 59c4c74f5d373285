#include "nodes/chunker.h"

namespace hab {

void Chunker::Feed(std::span<const uint8_t> in, bool last, const LeaseRef& lease, Emitter& out) {
  size_t available = carry_.size() + in.size();
  size_t emit_len;
  if (last) {
    emit_len = available;
  } else {
    // Keep 1..unit bytes back: only the next input (or `last`) tells whether
    // they belong to the final block.
    emit_len = available == 0 ? 0 : (available - 1) / unit_ * unit_;
  }
  if (emit_len > 0 || last) {
    Chunk block;
    block.offset = offset_;
    block.last = last;
    block.lease = lease;
    block.data = Buffer(emit_len);
    block.data.append(carry_.span());
    size_t from_in = emit_len - carry_.size();
    block.data.append(in.subspan(0, from_in));
    in = in.subspan(from_in);
    carry_.resize(0);
    offset_ += emit_len;
    out.Emit(std::move(block));
  }
  carry_.append(in);
}

}  // namespace hab

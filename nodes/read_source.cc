#include "nodes/read_source.h"

#include "engine/status_macros.h"

namespace hab {

absl::Status ReadSource::Produce(RunContext& ctx, const EmitFn& emit) {
  while (true) {
    HAB_ASSIGN_OR_RETURN(Chunk c, ctx.NewSourceChunk(chunk_bytes_));
    while (c.data.size() < c.data.capacity()) {
      if (ctx.cancelled()) return absl::CancelledError("read cancelled");
      HAB_ASSIGN_OR_RETURN(size_t n, reader_->Read(c.data.writable().subspan(c.data.size())));
      if (n == 0) {
        c.last = true;
        break;
      }
      c.data.resize(c.data.size() + n);
    }
    bool last = c.last;
    HAB_RETURN_IF_ERROR(emit(std::move(c)));
    if (last) {
      reader_.reset();  // its buffers (S3 ranges) go now
      return absl::OkStatus();
    }
  }
}

}  // namespace hab

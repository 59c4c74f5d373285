#include "nodes/zstd.h"

#include "absl/strings/str_cat.h"

namespace hab {

ZstdCCtxPtr ZstdCompress::Borrow() {
  {
    absl::MutexLock lock(&mu_);
    if (!pool_.empty()) {
      ZstdCCtxPtr c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  ZstdCCtxPtr c(ZSTD_createCCtx());
  if (c) {
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, options_.level);
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_contentSizeFlag, 1);
  }
  return c;
}

void ZstdCompress::Return(ZstdCCtxPtr c) {
  absl::MutexLock lock(&mu_);
  pool_.push_back(std::move(c));
}

absl::Status ZstdCompress::CompressFrame(std::span<const uint8_t> in, Buffer& out) {
  ZstdCCtxPtr c = Borrow();
  if (!c) return absl::ResourceExhaustedError("zstd: cannot allocate a compression context");
  out = Buffer(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress2(c.get(), out.data(), out.capacity(), in.data(), in.size());
  if (ZSTD_isError(n)) {
    // The context may be left mid-frame: drop it rather than return it.
    return absl::InternalError(absl::StrCat("zstd compress: ", ZSTD_getErrorName(n)));
  }
  out.resize(n);
  Return(std::move(c));
  return absl::OkStatus();
}

absl::Status ZstdCompress::Process(RunContext& ctx, const ChunkRef& in, Emitter& out) {
  Chunk c;
  c.last = in->last;
  c.lease = in->lease;
  // An empty final chunk after data adds no frame; an entirely empty stream
  // still gets one (empty) frame so the archive is a valid zstd file.
  if (!in->data.empty() || in->offset == 0) {
    absl::Status st = CompressFrame(in->bytes(), c.data);
    if (!st.ok()) return st;
  }
  out.Emit(std::move(c));
  return absl::OkStatus();
}

ZstdDecompressor::ZstdDecompressor(size_t out_piece_bytes)
    : dctx_(ZSTD_createDCtx()), out_buf_(out_piece_bytes) {}

absl::Status ZstdDecompressor::Feed(std::span<const uint8_t> in, const Output& out) {
  if (!dctx_) return absl::ResourceExhaustedError("zstd: cannot allocate a decompression context");
  if (!in.empty()) any_input_ = true;
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  bool output_full = false;
  while (ib.pos < ib.size || output_full) {
    ZSTD_outBuffer ob{out_buf_.data(), out_buf_.size(), 0};
    size_t before = ib.pos;
    size_t hint = ZSTD_decompressStream(dctx_.get(), &ob, &ib);
    if (ZSTD_isError(hint)) {
      return absl::DataLossError(absl::StrCat("zstd decompress: ", ZSTD_getErrorName(hint)));
    }
    // A call that neither read nor wrote (draining after a full output
    // buffer) reports the next frame's header size: not a truncation sign.
    if (ob.pos > 0 || ib.pos > before) last_hint_ = hint;
    output_full = ob.pos == ob.size;
    if (ob.pos > 0) {
      absl::Status st = out({out_buf_.data(), ob.pos});
      if (!st.ok()) return st;
    }
  }
  return absl::OkStatus();
}

absl::Status ZstdDecompressor::Finish() {
  if (!any_input_) return absl::DataLossError("zstd: empty stream");
  if (last_hint_ != 0) return absl::DataLossError("zstd: stream truncated inside a frame");
  return absl::OkStatus();
}

}  // namespace hab

#include "nodes/zstd.h"

#include <zstd_errors.h>

#include <deque>
#include <map>

#include "absl/strings/str_cat.h"
#include "engine/blocking_queue.h"
#include "engine/status_macros.h"
#include "engine/thread_priority.h"

namespace hab {

namespace {

ZstdCCtxPtr NewCCtx(int level) {
  ZstdCCtxPtr c(ZSTD_createCCtx());
  if (c) {
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_contentSizeFlag, 1);
  }
  return c;
}

// zstd's fast mode with a large acceleration: on data without matches it
// steps through the input quickly and emits raw blocks.
constexpr int kStoreLevel = -1000;

absl::Status NoContext() { return absl::ResourceExhaustedError("zstd: cannot allocate a compression context"); }

}  // namespace

std::unique_ptr<ZstdCompress::Contexts> ZstdCompress::Borrow() {
  {
    absl::MutexLock lock(&mu_);
    if (!pool_.empty()) {
      std::unique_ptr<Contexts> c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<Contexts>();
  c->level = NewCCtx(options_.level);
  return c;
}

void ZstdCompress::Release() {
  absl::MutexLock lock(&mu_);
  pool_.clear();
}

void ZstdCompress::Return(std::unique_ptr<Contexts> c) {
  absl::MutexLock lock(&mu_);
  pool_.push_back(std::move(c));
}

absl::StatusOr<bool> ZstdCompress::Incompressible(Contexts& c, std::span<const uint8_t> in) {
  if (!options_.probe_incompressible || in.size() < kProbeMinBytes) return false;
  if (!c.probe) {
    c.probe = NewCCtx(1);
    if (!c.probe) return NoContext();
    // Only the compressed size matters: no checksum or size fields.
    ZSTD_CCtx_setParameter(c.probe.get(), ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(c.probe.get(), ZSTD_c_contentSizeFlag, 0);
  }
  // Each slice on its own, so one compressible region is not drowned in the
  // statistics of the others.
  const size_t step = (in.size() - kProbeSliceBytes) / (kProbeSlices - 1);
  uint8_t out[ZSTD_COMPRESSBOUND(kProbeSliceBytes)];
  for (int i = 0; i < kProbeSlices; ++i) {
    size_t n = ZSTD_compress2(c.probe.get(), out, sizeof out, in.data() + i * step, kProbeSliceBytes);
    if (ZSTD_isError(n)) {
      c.probe.reset();  // may be left mid-frame
      return absl::InternalError(absl::StrCat("zstd probe: ", ZSTD_getErrorName(n)));
    }
    if (n * 100 < kProbeSliceBytes * 99) return false;  // saves 1 % or more
  }
  return true;
}

absl::Status ZstdCompress::CompressFrame(std::span<const uint8_t> in, Buffer& out) {
  std::unique_ptr<Contexts> c = Borrow();
  if (!c->level) return NoContext();
  HAB_ASSIGN_OR_RETURN(bool store, Incompressible(*c, in));
  if (store && !c->store) {
    c->store = NewCCtx(kStoreLevel);
    if (!c->store) return NoContext();
  }
  ZstdCCtxPtr& cctx = store ? c->store : c->level;
  out = Buffer(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress2(cctx.get(), out.data(), out.capacity(), in.data(), in.size());
  if (ZSTD_isError(n)) {
    // The context may be left mid-frame: drop them rather than return them.
    return absl::InternalError(absl::StrCat("zstd compress: ", ZSTD_getErrorName(n)));
  }
  out.resize(n);
  frames_.fetch_add(1, std::memory_order_relaxed);
  if (store) stored_frames_.fetch_add(1, std::memory_order_relaxed);
  Return(std::move(c));
  return absl::OkStatus();
}

absl::Status ZstdCompress::Process(RunContext& ctx, const ChunkRef& in, Emitter& out) {
  Chunk c;
  c.last = in->last;
  c.lease = in->lease;
  // An empty final chunk after data adds no frame; an entirely empty stream
  // still gets one (empty) frame so the archive is a valid zstd file.
  if (!in->bytes().empty() || in->offset == 0) {
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

namespace hab {

// The largest zstd frame header (ZSTD_FRAMEHEADERSIZE_MAX, a static-only
// symbol in the library's header).
constexpr size_t kFrameHeaderMax = 18;

struct ParallelZstdJob {
  uint64_t seq;
  Buffer frame;
  size_t content;
};

struct ParallelZstdShared {
  BlockingQueue<ParallelZstdJob> jobs;
  absl::Mutex mu;
  std::map<uint64_t, absl::StatusOr<Buffer>> done ABSL_GUARDED_BY(mu);
};

size_t ParallelZstdDecoder::MaxBufferedBytes(int threads, size_t max_frame_content) {
  return static_cast<size_t>(2 * threads) * (ZSTD_compressBound(max_frame_content) + max_frame_content) +
         ZSTD_compressBound(max_frame_content);
}

ParallelZstdDecoder::ParallelZstdDecoder(int threads, size_t max_frame_content)
    : threads_(std::max(1, threads)),
      max_content_(max_frame_content),
      stream_(std::clamp<size_t>(max_frame_content, 64 << 10, 1 << 20)),
      shared_(std::make_unique<ParallelZstdShared>()) {
  for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { WorkLoop(); });
}

ParallelZstdDecoder::~ParallelZstdDecoder() {
  shared_->jobs.Close();
  for (auto& w : workers_) w.join();
}

void ParallelZstdDecoder::WorkLoop() {
  // The workers are ahead of their consumer: in a restore the single tar
  // extractor thread is the stage that bounds the run, and where the cores
  // are few, workers at the same priority take time slices from it. At
  // nice +5 relative to the process they use the time it leaves over.
  LowerThisThreadPriority(5);
  ZstdDCtxPtr dctx(ZSTD_createDCtx());
  while (std::optional<ParallelZstdJob> job = shared_->jobs.Pop()) {
    absl::StatusOr<Buffer> result;
    Buffer out(job->content);  // uninitialised: the decoder fills it
    size_t n = 0;
    if (dctx) {
      n = ZSTD_decompressDCtx(dctx.get(), out.data(), out.capacity(), job->frame.data(), job->frame.size());
    }
    if (!dctx) {
      result = absl::ResourceExhaustedError("zstd: cannot allocate a decompression context");
    } else if (ZSTD_isError(n)) {
      result = absl::DataLossError(absl::StrCat("zstd decompress: ", ZSTD_getErrorName(n)));
    } else if (n != job->content) {
      result = absl::DataLossError("zstd: frame content size does not match its header");
    } else {
      out.resize(n);
      result = std::move(out);
    }
    job->frame = Buffer();
    absl::MutexLock lock(&shared_->mu);
    shared_->done[job->seq] = std::move(result);
  }
}

absl::Status ParallelZstdDecoder::DeliverOldest(const Output& out) {
  uint64_t seq = next_deliver_;
  absl::StatusOr<Buffer> r;
  {
    absl::MutexLock lock(&shared_->mu);
    auto ready = [this, seq]() ABSL_SHARED_LOCKS_REQUIRED(shared_->mu) {
      return shared_->done.count(seq) > 0;
    };
    shared_->mu.Await(absl::Condition(&ready));
    r = std::move(shared_->done[seq]);
    shared_->done.erase(seq);
  }
  ++next_deliver_;
  if (!r.ok()) return r.status();
  if (r->empty()) return absl::OkStatus();
  return out(std::move(*r));
}

absl::Status ParallelZstdDecoder::StreamFeed(std::span<const uint8_t> in, const Output& out) {
  return stream_.Feed(in, [&](std::span<const uint8_t> b) {
    Buffer piece(b.size());
    piece.append(b);
    return out(std::move(piece));
  });
}

absl::Status ParallelZstdDecoder::Submit(Buffer frame, size_t content, const Output& out) {
  // Bounded: at most 2 x threads frames in flight.
  while (next_submit_ - next_deliver_ >= static_cast<uint64_t>(2 * threads_)) {
    absl::Status st = DeliverOldest(out);
    if (!st.ok()) return st;
  }
  shared_->jobs.Push(ParallelZstdJob{next_submit_++, std::move(frame), content});
  return absl::OkStatus();
}

absl::Status ParallelZstdDecoder::Feed(std::span<const uint8_t> in, const Output& out) {
  if (streaming_) return StreamFeed(in, out);
  // Parse straight from `in` when nothing is pending; only an unfinished
  // frame at the end is kept back.
  std::span<const uint8_t> data = in;
  if (!pending_.empty()) {
    pending_.insert(pending_.end(), in.begin(), in.end());
    data = pending_;
  }
  auto keep_from = [&](size_t pos) {
    if (!pending_.empty() && data.data() == pending_.data()) {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(pos));
    } else {
      pending_.assign(data.begin() + static_cast<long>(pos), data.end());
    }
    return absl::OkStatus();
  };
  size_t pos = 0;
  while (pos < data.size()) {
    const uint8_t* p = data.data() + pos;
    size_t avail = data.size() - pos;
    unsigned long long content = ZSTD_getFrameContentSize(p, avail);
    if (content == ZSTD_CONTENTSIZE_ERROR) {
      if (avail < kFrameHeaderMax) return keep_from(pos);  // the header itself is split: wait
      return absl::DataLossError("zstd decompress: not a zstd frame");
    }
    if (content == ZSTD_CONTENTSIZE_UNKNOWN) break;  // no size: stream the rest
    size_t size = ZSTD_findFrameCompressedSize(p, avail);
    if (ZSTD_isError(size)) {
      if (ZSTD_getErrorCode(size) != ZSTD_error_srcSize_wrong) {
        return absl::DataLossError(absl::StrCat("zstd decompress: ", ZSTD_getErrorName(size)));
      }
      // Incomplete: wait for more input, unless this frame is beyond what we
      // buffer for the parallel path.
      if (avail > ZSTD_compressBound(max_content_)) break;
      return keep_from(pos);
    }
    if (content > max_content_) break;
    any_frame_ = true;
    Buffer frame(size);
    frame.append(std::span<const uint8_t>(p, size));
    pos += size;
    absl::Status st = Submit(std::move(frame), static_cast<size_t>(content), out);
    if (!st.ok()) return st;
    // Hand out what is already done, so output keeps flowing.
    while (next_deliver_ < next_submit_) {
      bool ready;
      {
        absl::MutexLock lock(&shared_->mu);
        ready = shared_->done.count(next_deliver_) > 0;
      }
      if (!ready) break;
      st = DeliverOldest(out);
      if (!st.ok()) return st;
    }
  }
  if (pos < data.size()) {
    // The rest does not qualify for the parallel path: finish what is in
    // flight (in order), then stream everything from here on.
    while (next_deliver_ < next_submit_) {
      absl::Status st = DeliverOldest(out);
      if (!st.ok()) return st;
    }
    streaming_ = true;
    std::vector<uint8_t> rest(data.begin() + static_cast<long>(pos), data.end());
    pending_.clear();
    return StreamFeed(rest, out);
  }
  pending_.clear();
  return absl::OkStatus();
}

absl::Status ParallelZstdDecoder::Finish(const Output& out) {
  while (next_deliver_ < next_submit_) {
    absl::Status st = DeliverOldest(out);
    if (!st.ok()) return st;
  }
  if (streaming_) return stream_.Finish();
  if (!pending_.empty()) return absl::DataLossError("zstd: stream truncated inside a frame");
  if (!any_frame_) return absl::DataLossError("zstd: empty stream");
  return absl::OkStatus();
}

}  // namespace hab

// ZstdCompress / ZstdDecompressor: the archive's compression layer.
//
// Design note. ZstdCompress turns every input chunk into one independent
// zstd frame (with content size and checksum), so chunks compress on all
// cores and the concatenation is an ordinary multi-frame zstd stream that
// `zstd -d` reads. With 4 MiB chunks and level 3 (a 2 MiB window) the cost of
// restarting the window at frame boundaries is a fraction of a percent
// (docs/performance.md). Per-call compression contexts come from a pool, so
// Process is safe to call concurrently.
//
// Incompressible input (media, compressed files, encrypted data) is not
// worth the level's search: before a chunk of at least kProbeMinBytes is
// compressed, kProbeSlices evenly spread slices of it are compressed one by
// one at level 1; if none saves 1 %, the chunk is framed by zstd's fastest
// setting instead (still a standard zstd frame with content size and
// checksum, ~110 bytes larger than a 4 MiB input). A chunk in which any
// sampled slice compresses gets the configured level.
//
// ZstdDecompressor is the streaming inverse, used on the restore writer
// thread: it accepts arbitrary input pieces and hands out bounded output
// pieces, and Finish() reports a truncated stream as kDataLoss.
#pragma once

#include <zstd.h>

#include <atomic>
#include <functional>
#include <thread>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/node.h"

namespace hab {

struct ZstdOptions {
  int level = 3;  // 1..22
  // Probe each chunk and store incompressible ones cheaply (see above).
  bool probe_incompressible = true;
};

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
using ZstdCCtxPtr = std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter>;
using ZstdDCtxPtr = std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter>;

class ZstdCompress : public Transform {
 public:
  explicit ZstdCompress(ZstdOptions options, int concurrency)
      : options_(options), concurrency_(concurrency) {}
  std::string Name() const override { return "zstd"; }
  int Concurrency() const override { return concurrency_; }
  absl::Status Process(RunContext& ctx, const ChunkRef& in, Emitter& out) override;
  void Release() override;

  // Compresses one buffer into one frame (exposed for tests and benchmarks).
  absl::Status CompressFrame(std::span<const uint8_t> in, Buffer& out);
  // Frames made so far, and how many of them took the incompressible path.
  uint64_t frames() const { return frames_.load(std::memory_order_relaxed); }
  uint64_t stored_frames() const { return stored_frames_.load(std::memory_order_relaxed); }

  static constexpr size_t kProbeMinBytes = 256 << 10;
  static constexpr int kProbeSlices = 8;
  static constexpr size_t kProbeSliceBytes = 2 << 10;

 private:
  // One thread's contexts: the configured level, the probe (level 1) and
  // the incompressible path (zstd's fastest setting), created on first use.
  struct Contexts {
    ZstdCCtxPtr level, probe, store;
  };
  std::unique_ptr<Contexts> Borrow();
  void Return(std::unique_ptr<Contexts> c);
  absl::StatusOr<bool> Incompressible(Contexts& c, std::span<const uint8_t> in);

  ZstdOptions options_;
  int concurrency_;
  std::atomic<uint64_t> frames_{0};
  std::atomic<uint64_t> stored_frames_{0};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Contexts>> pool_ ABSL_GUARDED_BY(mu_);
};

class ZstdDecompressor {
 public:
  using Output = std::function<absl::Status(std::span<const uint8_t>)>;
  explicit ZstdDecompressor(size_t out_piece_bytes = 1 << 20);
  // Decompresses `in`, passing output in pieces of at most out_piece_bytes.
  absl::Status Feed(std::span<const uint8_t> in, const Output& out);
  // kDataLoss if the input ended inside a frame.
  absl::Status Finish();

 private:
  ZstdDCtxPtr dctx_;
  std::vector<uint8_t> out_buf_;
  size_t last_hint_ = 0;  // 0 after a frame ended
  bool any_input_ = false;
};

// ParallelZstdDecoder: decodes a multi-frame zstd stream on `threads`
// worker threads when its frames are independent and small enough (content
// size in the header, at most `max_frame_content`), as our archives' frames
// are; output is delivered in order on the caller's thread. The first frame
// that does not qualify (no content size, larger, or an unfinished frame
// longer than its bound) switches the rest of the stream to the streaming
// decoder. Memory: at most 2 x threads frames in flight, each at most
// compressBound(max_frame_content) in and max_frame_content out
// (MaxBufferedBytes). Errors are kDataLoss. Not thread-safe itself.
class ParallelZstdDecoder {
 public:
  // Decoded pieces are handed over whole, so the consumer keeps them
  // without another copy.
  using Output = std::function<absl::Status(Buffer)>;
  ParallelZstdDecoder(int threads, size_t max_frame_content);
  ~ParallelZstdDecoder();
  absl::Status Feed(std::span<const uint8_t> in, const Output& out);
  // Drains the workers; kDataLoss if the stream ended inside a frame.
  absl::Status Finish(const Output& out);
  static size_t MaxBufferedBytes(int threads, size_t max_frame_content);

 private:
  absl::Status Submit(Buffer frame, size_t content, const Output& out);
  absl::Status StreamFeed(std::span<const uint8_t> in, const Output& out);
  absl::Status DeliverOldest(const Output& out);
  void WorkLoop();

  int threads_;
  size_t max_content_;
  std::vector<uint8_t> pending_;
  bool streaming_ = false;
  bool any_frame_ = false;
  ZstdDecompressor stream_;
  uint64_t next_submit_ = 0, next_deliver_ = 0;
  std::unique_ptr<struct ParallelZstdShared> shared_;
  std::vector<std::thread> workers_;
};

}  // namespace hab

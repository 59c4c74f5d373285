#include "nodes/zstd.h"

#include <atomic>

#include "gtest/gtest.h"
#include "nodes/test_util.h"

namespace hab {
namespace {

using testing::CollectEmitter;
using testing::RandomBytes;
using testing::RunThrough;

class ZstdSizes : public ::testing::TestWithParam<size_t> {};

TEST_P(ZstdSizes, FramesConcatenateToOneStream) {
  const size_t chunk = 64 << 10;
  std::vector<uint8_t> data = RandomBytes(GetParam(), 7, /*compressible=*/true);
  MemoryBudget budget(1 << 30);
  std::atomic<bool> cancel{false};
  RunContext ctx(&budget, &cancel, 300);
  ZstdCompress z(ZstdOptions{3}, 2);
  CollectEmitter out;
  ASSERT_TRUE(RunThrough(z, ctx, data, chunk, out).ok());
  // The last contract: exactly one last chunk, at the end.
  int lasts = 0;
  for (const auto& c : out.chunks) lasts += c->last;
  EXPECT_EQ(lasts, 1);
  EXPECT_TRUE(out.chunks.back()->last);
  std::vector<uint8_t> stream = out.Bytes();
  // A standard decoder reads the multi-frame stream.
  ZstdDecompressor d;
  std::vector<uint8_t> back;
  ASSERT_TRUE(d.Feed(stream, [&](std::span<const uint8_t> b) {
                 back.insert(back.end(), b.begin(), b.end());
                 return absl::OkStatus();
               }).ok());
  ASSERT_TRUE(d.Finish().ok());
  EXPECT_EQ(back, data);
}

INSTANTIATE_TEST_SUITE_P(Sizes, ZstdSizes,
                         ::testing::Values(0, 1, (64 << 10) - 1, 64 << 10, (64 << 10) + 1,
                                           10 * (64 << 10) + 12345));

TEST(Zstd, TruncatedStreamIsDataLoss) {
  std::vector<uint8_t> data = RandomBytes(300000, 3, true);
  ZstdCompress z(ZstdOptions{3}, 1);
  Buffer frame;
  ASSERT_TRUE(z.CompressFrame(data, frame).ok());
  ZstdDecompressor d;
  auto sink = [](std::span<const uint8_t>) { return absl::OkStatus(); };
  ASSERT_TRUE(d.Feed(frame.span().subspan(0, frame.size() - 3), sink).ok());
  EXPECT_EQ(d.Finish().code(), absl::StatusCode::kDataLoss);
  ZstdDecompressor garbage;
  std::vector<uint8_t> junk(100, 0x42);
  EXPECT_EQ(garbage.Feed(junk, sink).code(), absl::StatusCode::kDataLoss);
  ZstdDecompressor empty;
  EXPECT_EQ(empty.Finish().code(), absl::StatusCode::kDataLoss);
}

TEST(Zstd, ByteAtATimeDecompression) {
  std::vector<uint8_t> data = RandomBytes(5000, 9, true);
  ZstdCompress z(ZstdOptions{19}, 1);
  Buffer frame;
  ASSERT_TRUE(z.CompressFrame(data, frame).ok());
  ZstdDecompressor d;
  std::vector<uint8_t> back;
  for (size_t i = 0; i < frame.size(); ++i) {
    ASSERT_TRUE(d.Feed(frame.span().subspan(i, 1), [&](std::span<const uint8_t> b) {
                   back.insert(back.end(), b.begin(), b.end());
                   return absl::OkStatus();
                 }).ok());
  }
  EXPECT_TRUE(d.Finish().ok());
  EXPECT_EQ(back, data);
}

std::vector<uint8_t> Decode(const Buffer& frame) {
  std::vector<uint8_t> back(ZSTD_getFrameContentSize(frame.data(), frame.size()));
  size_t n = ZSTD_decompress(back.data(), back.size(), frame.data(), frame.size());
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  back.resize(ZSTD_isError(n) ? 0 : n);
  return back;
}

TEST(Zstd, IncompressibleChunkTakesTheCheapPathAndStaysAStandardFrame) {
  std::vector<uint8_t> data = RandomBytes(4 << 20, 11);
  ZstdCompress z(ZstdOptions{3}, 1);
  Buffer frame;
  ASSERT_TRUE(z.CompressFrame(data, frame).ok());
  EXPECT_EQ(z.stored_frames(), 1u);
  EXPECT_EQ(z.frames(), 1u);
  // Raw blocks: a header per 128 KiB block, the frame header and checksum.
  EXPECT_LE(frame.size(), data.size() + 200);
  EXPECT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), data.size());
  EXPECT_EQ(Decode(frame), data);
}

TEST(Zstd, CompressibleChunkGetsTheConfiguredLevelUnchanged) {
  std::vector<uint8_t> data = RandomBytes(4 << 20, 12, /*compressible=*/true);
  ZstdCompress z(ZstdOptions{3}, 1);
  Buffer frame;
  ASSERT_TRUE(z.CompressFrame(data, frame).ok());
  EXPECT_EQ(z.stored_frames(), 0u);
  // Byte for byte what a plain level-3 frame with checksum and size is.
  ZstdCCtxPtr c(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 1);
  std::vector<uint8_t> want(ZSTD_compressBound(data.size()));
  want.resize(ZSTD_compress2(c.get(), want.data(), want.size(), data.data(), data.size()));
  EXPECT_EQ(std::vector<uint8_t>(frame.data(), frame.data() + frame.size()), want);
}

TEST(Zstd, OneCompressibleSampleKeepsTheLevel) {
  // Random data with one text region that covers only the first probe
  // slice: the probe sees a saving and the chunk is compressed normally.
  std::vector<uint8_t> data = RandomBytes(4 << 20, 13);
  std::vector<uint8_t> text = RandomBytes(64 << 10, 14, /*compressible=*/true);
  std::copy(text.begin(), text.end(), data.begin());
  ZstdCompress z(ZstdOptions{3}, 1);
  Buffer frame;
  ASSERT_TRUE(z.CompressFrame(data, frame).ok());
  EXPECT_EQ(z.stored_frames(), 0u);
  EXPECT_LT(frame.size(), data.size() - (16 << 10));  // the text region did compress
  EXPECT_EQ(Decode(frame), data);
}

TEST(Zstd, SmallChunksAndTheOptionOffAreNotProbed) {
  ZstdCompress z(ZstdOptions{3}, 1);
  Buffer frame;
  std::vector<uint8_t> small = RandomBytes(ZstdCompress::kProbeMinBytes - 1, 15);
  ASSERT_TRUE(z.CompressFrame(small, frame).ok());
  EXPECT_EQ(z.stored_frames(), 0u);
  EXPECT_EQ(Decode(frame), small);
  ZstdCompress off(ZstdOptions{.level = 3, .probe_incompressible = false}, 1);
  std::vector<uint8_t> big = RandomBytes(1 << 20, 16);
  ASSERT_TRUE(off.CompressFrame(big, frame).ok());
  EXPECT_EQ(off.stored_frames(), 0u);
  EXPECT_EQ(off.frames(), 1u);
  EXPECT_EQ(z.frames(), 1u);  // every frame is counted, stored or not
  EXPECT_EQ(Decode(frame), big);
}

}  // namespace
}  // namespace hab

namespace hab {
namespace {

std::vector<uint8_t> FramesOf(const std::vector<uint8_t>& data, size_t frame) {
  ZstdCompress z(ZstdOptions{3}, 1);
  std::vector<uint8_t> out;
  for (size_t pos = 0; pos == 0 || pos < data.size(); pos += frame) {
    Buffer b;
    EXPECT_TRUE(z.CompressFrame(std::span<const uint8_t>(data).subspan(pos, std::min(frame, data.size() - pos)), b).ok());
    out.insert(out.end(), b.data(), b.data() + b.size());
    if (data.empty()) break;
  }
  return out;
}

absl::Status ParallelDecode(const std::vector<uint8_t>& stream, size_t piece, size_t max_content,
                            std::vector<uint8_t>& back) {
  ParallelZstdDecoder d(2, max_content);
  auto out = [&](Buffer b) {
    back.insert(back.end(), b.data(), b.data() + b.size());
    return absl::OkStatus();
  };
  for (size_t pos = 0; pos < stream.size(); pos += piece) {
    absl::Status st = d.Feed(std::span<const uint8_t>(stream).subspan(pos, std::min(piece, stream.size() - pos)), out);
    if (!st.ok()) return st;
  }
  return d.Finish(out);
}

TEST(ParallelZstd, FramesInOrderAtAnyInputCut) {
  std::vector<uint8_t> data = testing::RandomBytes(3 * (1 << 20) + 777, 11, true);
  std::vector<uint8_t> stream = FramesOf(data, 256 << 10);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{100000}, stream.size()}) {
    std::vector<uint8_t> back;
    ASSERT_TRUE(ParallelDecode(stream, piece, 1 << 20, back).ok()) << piece;
    EXPECT_EQ(back, data) << piece;
  }
}

TEST(ParallelZstd, LargeOrUnsizedFramesFallBackToStreaming) {
  std::vector<uint8_t> data = testing::RandomBytes(2 << 20, 12, true);
  // Frames larger than max_content.
  std::vector<uint8_t> stream = FramesOf(data, 1 << 20);
  std::vector<uint8_t> back;
  ASSERT_TRUE(ParallelDecode(stream, 65536, 256 << 10, back).ok());
  EXPECT_EQ(back, data);
  // A frame without a content size (streaming compression), after a sized one.
  std::vector<uint8_t> mixed = FramesOf(std::vector<uint8_t>(data.begin(), data.begin() + 100000), 100000);
  ZstdCCtxPtr c(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_contentSizeFlag, 0);
  std::vector<uint8_t> tail(ZSTD_compressBound(data.size()));
  ZSTD_inBuffer ib{data.data(), data.size(), 0};
  ZSTD_outBuffer ob{tail.data(), tail.size(), 0};
  ASSERT_EQ(ZSTD_compressStream2(c.get(), &ob, &ib, ZSTD_e_end), 0u);
  mixed.insert(mixed.end(), tail.begin(), tail.begin() + static_cast<long>(ob.pos));
  std::vector<uint8_t> expect(data.begin(), data.begin() + 100000);
  expect.insert(expect.end(), data.begin(), data.end());
  back.clear();
  ASSERT_TRUE(ParallelDecode(mixed, 30000, 1 << 20, back).ok());
  EXPECT_EQ(back, expect);
}

TEST(ParallelZstd, TruncationCorruptionAndEmptyAreDataLoss) {
  std::vector<uint8_t> data = testing::RandomBytes(1 << 20, 13, true);
  std::vector<uint8_t> stream = FramesOf(data, 256 << 10);
  std::vector<uint8_t> back;
  std::vector<uint8_t> cut(stream.begin(), stream.end() - 5);
  EXPECT_EQ(ParallelDecode(cut, 4096, 1 << 20, back).code(), absl::StatusCode::kDataLoss);
  std::vector<uint8_t> bad = stream;
  bad[bad.size() / 2] ^= 0xff;
  back.clear();
  EXPECT_EQ(ParallelDecode(bad, 4096, 1 << 20, back).code(), absl::StatusCode::kDataLoss);
  back.clear();
  EXPECT_EQ(ParallelDecode({}, 4096, 1 << 20, back).code(), absl::StatusCode::kDataLoss);
  std::vector<uint8_t> junk(100, 0x42);
  EXPECT_EQ(ParallelDecode(junk, 4096, 1 << 20, back).code(), absl::StatusCode::kDataLoss);
  // The empty archive: one empty frame.
  back.clear();
  EXPECT_TRUE(ParallelDecode(FramesOf({}, 1024), 4096, 1 << 20, back).ok());
  EXPECT_TRUE(back.empty());
}

}  // namespace
}  // namespace hab

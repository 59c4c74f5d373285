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

}  // namespace
}  // namespace hab

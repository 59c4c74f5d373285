// The graph's age nodes: chunker + AgeEncrypt produce a standard age file;
// AgeDecryptFramer + AgeDecrypt read one back, from any input cut.
#include <atomic>

#include "gtest/gtest.h"
#include "nodes/age.h"
#include "nodes/age_stream.h"
#include "nodes/chunker.h"
#include "nodes/test_util.h"

namespace hab {
namespace {

using testing::CollectEmitter;
using testing::RandomBytes;
using testing::RunThrough;

struct Ctx {
  MemoryBudget budget{1 << 30};
  std::atomic<bool> cancel{false};
  RunContext ctx{&budget, &cancel, 300};
};

std::vector<uint8_t> EncryptViaNodes(const std::vector<uint8_t>& plain, size_t in_chunk,
                                     const age::X25519Recipient& r) {
  Ctx c;
  ChunkerNode chunker(age::kChunkSize);
  CollectEmitter blocks;
  EXPECT_TRUE(RunThrough(chunker, c.ctx, plain, in_chunk, blocks).ok());
  std::vector<age::X25519Recipient> rs = {r};
  auto enc = AgeEncrypt::Create(rs, 2);
  EXPECT_TRUE(enc.ok());
  CollectEmitter out;
  for (const auto& b : blocks.chunks) {
    EXPECT_EQ(b->offset % age::kChunkSize, 0u);
    EXPECT_TRUE((*enc)->Process(c.ctx, b, out).ok());
  }
  int lasts = 0;
  for (const auto& o : out.chunks) lasts += o->last;
  EXPECT_EQ(lasts, 1);
  return out.Bytes();
}

absl::Status DecryptViaNodes(const std::vector<uint8_t>& file, size_t in_chunk,
                             const age::X25519Identity& id, std::vector<uint8_t>& plain) {
  Ctx c;
  auto state = std::make_shared<AgeDecryptState>();
  std::vector<age::X25519Identity> ids;
  ids.push_back(*age::X25519Identity::Parse(id.ToString()));
  AgeDecryptFramer framer(std::move(ids), state);
  CollectEmitter blocks;
  absl::Status st = RunThrough(framer, c.ctx, file, in_chunk, blocks);
  if (!st.ok()) return st;
  AgeDecrypt dec(state, 2);
  CollectEmitter out;
  for (const auto& b : blocks.chunks) {
    st = dec.Process(c.ctx, b, out);
    if (!st.ok()) return st;
  }
  plain = out.Bytes();
  return absl::OkStatus();
}

class AgeNodeSizes : public ::testing::TestWithParam<std::tuple<size_t, size_t>> {};

TEST_P(AgeNodeSizes, RoundTripAndStandardFormat) {
  auto [size, cut] = GetParam();
  auto id = age::X25519Identity::Generate();
  std::vector<uint8_t> plain = RandomBytes(size, static_cast<unsigned>(size));
  std::vector<uint8_t> file = EncryptViaNodes(plain, cut, id.Recipient());
  // The whole-buffer reference decryptor agrees (same format as age).
  std::vector<age::X25519Identity> ids;
  ids.push_back(*age::X25519Identity::Parse(id.ToString()));
  std::vector<uint8_t> ref;
  ASSERT_TRUE(age::DecryptBuffer(file, ids, ref).ok());
  EXPECT_EQ(ref, plain);
  std::vector<uint8_t> back;
  ASSERT_TRUE(DecryptViaNodes(file, cut + 7, id, back).ok());
  EXPECT_EQ(back, plain);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, AgeNodeSizes,
    ::testing::Combine(::testing::Values(0, 1, age::kChunkSize - 1, age::kChunkSize,
                                         age::kChunkSize + 1, 5 * age::kChunkSize, 777777),
                       ::testing::Values(1000, age::kChunkSize, 300000)));

TEST(AgeNode, TruncationAndTamperingAreDataLoss) {
  auto id = age::X25519Identity::Generate();
  std::vector<uint8_t> plain = RandomBytes(3 * age::kChunkSize + 5, 1);
  std::vector<uint8_t> file = EncryptViaNodes(plain, 100000, id.Recipient());
  std::vector<uint8_t> back;
  std::vector<uint8_t> cut(file.begin(), file.end() - static_cast<long>(age::kTagSize + 5));
  EXPECT_EQ(DecryptViaNodes(cut, 50000, id, back).code(), absl::StatusCode::kDataLoss);
  // Cut exactly at a chunk boundary: the stream lacks its final chunk.
  size_t header = file.size() - age::SealedSize(plain.size(), true);
  std::vector<uint8_t> boundary(file.begin(), file.begin() + static_cast<long>(header + 2 * age::kEncChunkSize));
  EXPECT_EQ(DecryptViaNodes(boundary, 50000, id, back).code(), absl::StatusCode::kDataLoss);
  std::vector<uint8_t> flipped = file;
  flipped[header + 100] ^= 0x01;
  EXPECT_EQ(DecryptViaNodes(flipped, 50000, id, back).code(), absl::StatusCode::kDataLoss);
  std::vector<uint8_t> extra = file;
  extra.push_back(0);
  EXPECT_FALSE(DecryptViaNodes(extra, 50000, id, back).ok());
  // Wrong key.
  EXPECT_FALSE(DecryptViaNodes(file, 50000, age::X25519Identity::Generate(), back).ok());
}

}  // namespace
}  // namespace hab

#include "engine/sha256.h"

#include <random>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace hab {
namespace {

std::string Sodium(const std::vector<uint8_t>& d) {
  uint8_t h[32];
  crypto_hash_sha256(h, d.data(), d.size());
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(h), 32));
}

TEST(Sha256, KnownVectors) {
  Sha256 a;
  a.Update("abc");
  EXPECT_EQ(a.FinalHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 e;
  EXPECT_EQ(e.FinalHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 two;
  two.Update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  EXPECT_EQ(two.FinalHex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MatchesLibsodiumAtEveryLengthAndSplit) {
  std::mt19937 rng(1);
  std::vector<uint8_t> data(5000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t n = 0; n < 300; ++n) {
    std::vector<uint8_t> d(data.begin(), data.begin() + static_cast<long>(n));
    Sha256 h;
    size_t cut = n / 3;
    h.Update(std::span<const uint8_t>(d).subspan(0, cut));
    h.Update(std::span<const uint8_t>(d).subspan(cut));
    ASSERT_EQ(h.FinalHex(), Sodium(d)) << n;
  }
  std::vector<uint8_t> big(10 << 20);
  for (auto& b : big) b = static_cast<uint8_t>(rng());
  Sha256 h;
  for (size_t pos = 0; pos < big.size(); pos += 777777) {
    h.Update(std::span<const uint8_t>(big).subspan(pos, std::min<size_t>(777777, big.size() - pos)));
  }
  EXPECT_EQ(h.FinalHex(), Sodium(big));
}

TEST(Sha256, UpdateBothMatchesTwoSeparateHashers) {
  std::mt19937 rng(2);
  std::vector<uint8_t> data(3000);
  for (auto& x : data) x = static_cast<uint8_t>(rng());
  // a and b start at different offsets (equal or not modulo 64), then take
  // the same bytes in pieces that cross block edges in every way.
  for (size_t pa : {0, 1, 63, 64, 65, 130}) {
    for (size_t pb : {0, 1, 64, 66, 130}) {
      for (size_t piece : {1, 63, 64, 100, 1000, 3000}) {
        Sha256 a, b;
        a.Update(std::span<const uint8_t>(data).subspan(0, pa));
        b.Update(std::span<const uint8_t>(data).subspan(500, pb));
        for (size_t pos = 1000; pos < data.size(); pos += piece) {
          Sha256::UpdateBoth(a, b, std::span<const uint8_t>(data).subspan(pos, std::min(piece, data.size() - pos)));
        }
        std::vector<uint8_t> ea(data.begin(), data.begin() + static_cast<long>(pa));
        ea.insert(ea.end(), data.begin() + 1000, data.end());
        std::vector<uint8_t> eb(data.begin() + 500, data.begin() + 500 + static_cast<long>(pb));
        eb.insert(eb.end(), data.begin() + 1000, data.end());
        ASSERT_EQ(a.FinalHex(), Sodium(ea)) << pa << " " << pb << " " << piece;
        ASSERT_EQ(b.FinalHex(), Sodium(eb)) << pa << " " << pb << " " << piece;
      }
    }
  }
}

}  // namespace
}  // namespace hab

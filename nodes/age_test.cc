#include <sodium.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "nodes/age_encoding.h"
#include "nodes/age_format.h"
#include "nodes/age_stream.h"

namespace hab::age {
namespace {

std::string ToHex(const SecretBytes& s) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
}

std::vector<uint8_t> Range(int from, int to) {
  std::vector<uint8_t> v;
  for (int i = from; i <= to; ++i) v.push_back(static_cast<uint8_t>(i));
  return v;
}

// RFC 5869 appendix A, the SHA-256 cases.
TEST(Hkdf, Rfc5869Case1) {
  auto okm = Hkdf(std::vector<uint8_t>(22, 0x0b), Range(0x00, 0x0c),
                  std::string(reinterpret_cast<const char*>(Range(0xf0, 0xf9).data()), 10), 42);
  EXPECT_EQ(ToHex(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869Case2LongInputs) {
  auto info = Range(0xb0, 0xff);
  auto okm = Hkdf(Range(0x00, 0x4f), Range(0x60, 0xaf),
                  std::string(reinterpret_cast<const char*>(info.data()), info.size()), 82);
  EXPECT_EQ(ToHex(okm),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
            "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(Hkdf, Rfc5869Case3EmptySaltAndInfo) {
  auto okm = Hkdf(std::vector<uint8_t>(22, 0x0b), {}, "", 42);
  EXPECT_EQ(ToHex(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Base64, CanonicalOnly) {
  EXPECT_TRUE(Base64DecodeCanonical("AAAA").ok());
  EXPECT_TRUE(Base64DecodeCanonical("AA").ok());
  EXPECT_FALSE(Base64DecodeCanonical("AB").ok());  // non-zero trailing bits
  EXPECT_FALSE(Base64DecodeCanonical("AA==").ok());
  EXPECT_FALSE(Base64DecodeCanonical("A").ok());
  EXPECT_FALSE(Base64DecodeCanonical("A-AA").ok());
  std::vector<uint8_t> data = {1, 2, 3, 4, 5};
  EXPECT_EQ(*Base64DecodeCanonical(Base64EncodeRaw(data)), data);
}

TEST(Keys, RecipientRoundTripAndRejects) {
  auto id = X25519Identity::Generate();
  std::string r = id.Recipient().ToString();
  EXPECT_EQ(r.substr(0, 4), "age1");
  EXPECT_EQ(r.size(), 62u);
  auto parsed = X25519Recipient::Parse(r);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->key(), id.Recipient().key());
  EXPECT_FALSE(X25519Recipient::Parse(r.substr(0, 61)).ok());
  std::string upper = r;
  for (auto& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_FALSE(X25519Recipient::Parse(upper).ok());
  EXPECT_FALSE(X25519Recipient::Parse(id.ToString()).ok());
  auto id2 = X25519Identity::Parse(id.ToString());
  ASSERT_TRUE(id2.ok());
  EXPECT_EQ(id2->Recipient().key(), id.Recipient().key());
}

TEST(Keys, ParseIdentitiesSkipsCommentsAndNamesBadLine) {
  auto a = X25519Identity::Generate(), b = X25519Identity::Generate();
  std::string text = "# comment\n\n" + a.ToString() + "\r\n" + b.ToString() + "\n";
  auto ids = ParseIdentities(text);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->size(), 2u);
  auto bad = ParseIdentities("# x\nAGE-SECRET-KEY-1NOPE\n");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), absl::string_view::npos);
  EXPECT_FALSE(ParseIdentities("# only comments\n").ok());
}

TEST(Keys, IdentityFileModeIsEnforcedAndNeverOverwritten) {
  auto dir = std::filesystem::temp_directory_path() / ("hab-age-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "key.txt").string();
  auto id = X25519Identity::Generate();
  ASSERT_TRUE(WriteNewIdentityFile(path, id).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(WriteNewIdentityFile(path, X25519Identity::Generate()).code(),
            absl::StatusCode::kAlreadyExists);
  auto ids = ReadIdentityFile(path);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ((*ids)[0].Recipient().key(), id.Recipient().key());
  chmod(path.c_str(), 0644);
  auto refused = ReadIdentityFile(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("chmod 600 " + path), absl::string_view::npos);
  // The secret never appears in an error.
  EXPECT_EQ(refused.status().message().find("AGE-SECRET-KEY"), absl::string_view::npos);
  EXPECT_FALSE(ReadIdentityFile((dir / "missing").string()).ok());
  std::filesystem::remove_all(dir);
}

class RoundTrip : public ::testing::TestWithParam<size_t> {};

TEST_P(RoundTrip, EncryptDecrypt) {
  size_t n = GetParam();
  std::vector<uint8_t> plain(n);
  std::mt19937 rng(static_cast<unsigned>(n));
  for (auto& b : plain) b = static_cast<uint8_t>(rng());
  auto id = X25519Identity::Generate();
  std::vector<X25519Recipient> rs = {id.Recipient()};
  auto enc = EncryptBuffer(rs, plain);
  ASSERT_TRUE(enc.ok());
  std::vector<X25519Identity> ids;
  ids.push_back(std::move(id));
  std::vector<uint8_t> out;
  ASSERT_TRUE(DecryptBuffer(*enc, ids, out).ok());
  EXPECT_EQ(out, plain);
  // Any single flipped payload byte is detected.
  if (n > 0) {
    (*enc)[enc->size() - 1] ^= 1;
    EXPECT_EQ(AgeErrorKindOf(DecryptBuffer(*enc, ids, out)), AgeErrorKind::kPayload);
  }
  // Truncation at a chunk boundary is detected, never silently accepted.
  auto enc2 = EncryptBuffer(rs, plain);
  if (n > kChunkSize) {
    size_t cut = n % kChunkSize == 0 ? kEncChunkSize : n % kChunkSize + kTagSize;
    enc2->erase(enc2->end() - static_cast<std::ptrdiff_t>(cut), enc2->end());
    EXPECT_EQ(AgeErrorKindOf(DecryptBuffer(*enc2, ids, out)), AgeErrorKind::kPayload);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, RoundTrip,
                         ::testing::Values(0, 1, kChunkSize - 1, kChunkSize, kChunkSize + 1,
                                           3 * kChunkSize, 3 * kChunkSize + 17, 1 << 20));

TEST(Stream, ChunksAreIndependentGivenTheCounter) {
  auto id = X25519Identity::Generate();
  std::vector<X25519Recipient> rs = {id.Recipient()};
  auto header = MakeEncryptionHeader(rs);
  ASSERT_TRUE(header.ok());
  std::vector<uint8_t> plain(5 * kChunkSize + 100, 7);
  // Whole stream at once vs. two independent blocks.
  std::vector<uint8_t> whole(SealedSize(plain.size(), true));
  ASSERT_TRUE(SealChunks(header->payload_key, 0, plain, true, whole).ok());
  std::span<const uint8_t> p(plain);
  std::vector<uint8_t> a(SealedSize(2 * kChunkSize, false));
  std::vector<uint8_t> b(SealedSize(plain.size() - 2 * kChunkSize, true));
  ASSERT_TRUE(SealChunks(header->payload_key, 0, p.subspan(0, 2 * kChunkSize), false, a).ok());
  ASSERT_TRUE(SealChunks(header->payload_key, 2, p.subspan(2 * kChunkSize), true, b).ok());
  a.insert(a.end(), b.begin(), b.end());
  EXPECT_EQ(a, whole);
  std::vector<uint8_t> out;
  ASSERT_TRUE(OpenChunks(header->payload_key, 0, whole, true, out).ok());
  EXPECT_EQ(out, plain);
}

TEST(Stream, MultipleRecipientsEachDecrypt) {
  std::vector<X25519Identity> ids;
  std::vector<X25519Recipient> rs;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(X25519Identity::Generate());
    rs.push_back(ids.back().Recipient());
  }
  std::vector<uint8_t> plain(1000, 42);
  auto enc = EncryptBuffer(rs, plain);
  ASSERT_TRUE(enc.ok());
  for (auto& id : ids) {
    std::vector<X25519Identity> one;
    one.push_back(*X25519Identity::Parse(id.ToString()));
    std::vector<uint8_t> out;
    ASSERT_TRUE(DecryptBuffer(*enc, one, out).ok());
    EXPECT_EQ(out, plain);
  }
  std::vector<X25519Identity> stranger;
  stranger.push_back(X25519Identity::Generate());
  std::vector<uint8_t> out;
  EXPECT_EQ(AgeErrorKindOf(DecryptBuffer(*enc, stranger, out)), AgeErrorKind::kNoMatch);
}

}  // namespace
}  // namespace hab::age

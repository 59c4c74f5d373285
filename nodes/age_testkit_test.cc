// Runs every vector of the public age test kit (tests/data/age-testkit,
// see its FORMAT.md) through our decryptor and checks the exact outcome.
#include <sodium.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "nodes/age_encoding.h"
#include "nodes/age_format.h"
#include "nodes/age_stream.h"

namespace hab::age {
namespace {

const char kKitDir[] = "tests/data/age-testkit";

struct Vector {
  std::string name;
  std::multimap<std::string, std::string> keys;
  std::vector<uint8_t> body;
};

std::vector<uint8_t> Inflate(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(32 << 20);
  uLongf out_len = out.size();
  int rc = uncompress(out.data(), &out_len, in.data(), in.size());
  EXPECT_EQ(rc, Z_OK);
  out.resize(out_len);
  return out;
}

Vector Load(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Vector v;
  v.name = path.filename().string();
  size_t split = all.find("\n\n");
  EXPECT_NE(split, std::string::npos) << v.name;
  for (absl::string_view line : absl::StrSplit(all.substr(0, split), '\n')) {
    size_t colon = line.find(": ");
    v.keys.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
  v.body.assign(all.begin() + split + 2, all.end());
  auto c = v.keys.find("compressed");
  if (c != v.keys.end()) {
    EXPECT_EQ(c->second, "zlib");
    v.body = Inflate(v.body);
  }
  return v;
}

std::string Sha256Hex(const std::vector<uint8_t>& data) {
  uint8_t h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, data.data(), data.size());
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(h), sizeof h));
}

// Identity types we deliberately do not implement: scrypt passphrases and the
// ML-KEM hybrid. These vectors must fail cleanly (never crash, never release
// plaintext); their expected outcome is not checked.
bool Unsupported(const Vector& v) {
  if (v.keys.count("passphrase") > 0) return true;
  for (auto [it, end] = v.keys.equal_range("identity"); it != end; ++it) {
    if (absl::StartsWith(it->second, "AGE-SECRET-KEY-PQ-")) return true;
  }
  return false;
}

const std::set<std::string>& ExpectedUnsupported() {
  static const std::set<std::string> names = [] {
    std::set<std::string> s = {"armor_hybrid", "armor_scrypt"};
    for (const auto& e : std::filesystem::directory_iterator(kKitDir)) {
      std::string n = e.path().filename().string();
      if (absl::StartsWith(n, "scrypt") || absl::StartsWith(n, "hybrid")) s.insert(n);
    }
    return s;
  }();
  return names;
}

std::string KindName(AgeErrorKind k) {
  switch (k) {
    case AgeErrorKind::kNone: return "success";
    case AgeErrorKind::kHeader: return "header failure";
    case AgeErrorKind::kNoMatch: return "no match";
    case AgeErrorKind::kHmac: return "HMAC failure";
    case AgeErrorKind::kPayload: return "payload failure";
    case AgeErrorKind::kArmor: return "armor failure";
  }
  return "?";
}

TEST(AgeTestKit, EveryVector) {
  EnsureSodium();
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(kKitDir)) {
    if (e.path().filename() != "FORMAT.md") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 143u) << "the kit has 143 vectors; is tests/data/age-testkit complete?";
  int checked = 0, unsupported = 0;
  for (const auto& path : files) {
    Vector v = Load(path);
    SCOPED_TRACE(v.name);
    const std::set<std::string> known = {"expect", "payload", "identity", "passphrase", "armored",
                                         "compressed", "file key", "comment"};
    for (const auto& [k, _] : v.keys) ASSERT_TRUE(known.count(k)) << "unknown key " << k;
    std::vector<X25519Identity> ids;
    for (auto [it, end] = v.keys.equal_range("identity"); it != end; ++it) {
      auto id = X25519Identity::Parse(it->second);
      if (id.ok()) ids.push_back(std::move(*id));
    }
    std::vector<uint8_t> released;
    auto armored = v.keys.find("armored");
    absl::Status st =
        DecryptBuffer(v.body, ids, released, armored != v.keys.end() && armored->second == "yes");
    if (Unsupported(v)) {
      ++unsupported;
      EXPECT_TRUE(ExpectedUnsupported().count(v.name)) << "unexpectedly unsupported";
      if (v.keys.find("expect")->second == "success") {
        EXPECT_FALSE(st.ok()) << "an unsupported vector must fail cleanly";
        EXPECT_TRUE(released.empty());
      }
      continue;
    }
    ++checked;
    std::string expect = v.keys.find("expect")->second;
    EXPECT_EQ(KindName(AgeErrorKindOf(st)), expect) << st;
    if (expect == "success" || expect == "payload failure") {
      EXPECT_EQ(Sha256Hex(released), v.keys.find("payload")->second);
    } else {
      EXPECT_TRUE(released.empty());
    }
  }
  EXPECT_EQ(unsupported, static_cast<int>(ExpectedUnsupported().size()));
  EXPECT_EQ(checked + unsupported, 143);
}

}  // namespace
}  // namespace hab::age

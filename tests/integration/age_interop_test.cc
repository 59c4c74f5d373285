// Interoperability with the stock `age` CLI, both ways.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "nodes/age_format.h"
#include "nodes/age_stream.h"
#include "nodes/test_util.h"

namespace hab::age {
namespace {

namespace fs = std::filesystem;

class AgeInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(std::system("age --version >/dev/null 2>&1"), 0)
        << "the stock age CLI is required (apt-get install age)";
    dir_ = fs::temp_directory_path() / ("hab-interop-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void WriteFile(const fs::path& p, const std::vector<uint8_t>& d) {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
  }
  static std::vector<uint8_t> ReadFile(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  int Run(const std::string& cmd) { return std::system(cmd.c_str()); }

  fs::path dir_;
};

TEST_F(AgeInterop, OurFilesDecryptWithStockAge) {
  std::vector<X25519Identity> ids;
  std::vector<X25519Recipient> rs;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(X25519Identity::Generate());
    rs.push_back(ids.back().Recipient());
    ASSERT_TRUE(WriteNewIdentityFile((dir_ / ("id" + std::to_string(i))).string(), ids.back()).ok());
  }
  for (size_t n : {size_t{0}, size_t{1}, kChunkSize - 1, kChunkSize, kChunkSize + 1, size_t{10} << 20}) {
    SCOPED_TRACE(n);
    std::vector<uint8_t> plain = hab::testing::RandomBytes(n, static_cast<unsigned>(n));
    // One recipient, and three recipients (each identity must work).
    for (size_t count : {size_t{1}, size_t{3}}) {
      auto enc = EncryptBuffer(std::span<const X25519Recipient>(rs).subspan(0, count), plain);
      ASSERT_TRUE(enc.ok());
      WriteFile(dir_ / "f.age", *enc);
      for (size_t k = 0; k < count; ++k) {
        ASSERT_EQ(Run("age -d -i " + (dir_ / ("id" + std::to_string(k))).string() + " -o " +
                      (dir_ / "out").string() + " " + (dir_ / "f.age").string()),
                  0);
        EXPECT_EQ(ReadFile(dir_ / "out"), plain);
        fs::remove(dir_ / "out");
      }
    }
  }
}

TEST_F(AgeInterop, StockAgeFilesDecryptWithOurs) {
  ASSERT_EQ(Run("age-keygen -o " + (dir_ / "key").string() + " 2>/dev/null"), 0);
  auto ids = ReadIdentityFile((dir_ / "key").string());
  ASSERT_TRUE(ids.ok()) << ids.status();
  std::string recipient = (*ids)[0].Recipient().ToString();
  for (size_t n : {size_t{0}, size_t{1}, kChunkSize - 1, kChunkSize, kChunkSize + 1, size_t{10} << 20}) {
    SCOPED_TRACE(n);
    std::vector<uint8_t> plain = hab::testing::RandomBytes(n, static_cast<unsigned>(n) + 1);
    WriteFile(dir_ / "plain", plain);
    ASSERT_EQ(Run("age -r " + recipient + " -o " + (dir_ / "f.age").string() + " " + (dir_ / "plain").string()), 0);
    std::vector<uint8_t> out;
    ASSERT_TRUE(DecryptBuffer(ReadFile(dir_ / "f.age"), *ids, out).ok());
    EXPECT_EQ(out, plain);
    // And armored output, which we read but never write.
    ASSERT_EQ(Run("age -a -r " + recipient + " -o " + (dir_ / "f.asc").string() + " " + (dir_ / "plain").string()), 0);
    ASSERT_TRUE(DecryptBuffer(ReadFile(dir_ / "f.asc"), *ids, out, /*armored=*/true).ok());
    EXPECT_EQ(out, plain);
  }
}

TEST_F(AgeInterop, KeygenFilesAreReadByStockAge) {
  auto id = X25519Identity::Generate();
  std::string key = (dir_ / "ours.key").string();
  ASSERT_TRUE(WriteNewIdentityFile(key, id).ok());
  // age-keygen -y prints the recipient of an identity file.
  std::string out = (dir_ / "recipient").string();
  ASSERT_EQ(Run("age-keygen -y " + key + " > " + out), 0);
  auto text = ReadFile(out);
  std::string r(text.begin(), text.end());
  EXPECT_EQ(r, id.Recipient().ToString() + "\n");
}

}  // namespace
}  // namespace hab::age

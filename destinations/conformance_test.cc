// The destination conformance suite: the same cases against every kind.
//
// Which destination is chosen by the environment, so one binary runs
// against all of them: HAB_CONFORMANCE_DEST = memory | faulty | local |
// s3 (then HAB_S3_ENDPOINT, HAB_S3_BUCKET, HAB_S3_KEY, HAB_S3_SECRET; and
// HAB_S3_NO_UPLOAD_LISTING=1 for a server without ListMultipartUploads,
// which then must report no orphans rather than fail) | sftp (then
// HAB_SFTP_HOST, HAB_SFTP_PORT, HAB_SFTP_USER, HAB_SFTP_KEY,
// HAB_SFTP_KNOWN_HOSTS, HAB_SFTP_PATH). ctest runs memory, faulty and
// local; tests/e2e/conformance.sh runs it against s3rver, moto and a
// private OpenSSH sshd. Without HAB_CONFORMANCE_DEST every case fails:
// nothing is skipped.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "destinations/faulty_destination.h"
#include "destinations/local/local_destination.h"
#include "destinations/memory_destination.h"
#include "destinations/s3/s3_destination.h"
#include "destinations/sftp/sftp_destination.h"
#include "gtest/gtest.h"

namespace hab {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::vector<uint8_t> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

class Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    kind_ = Env("HAB_CONFORMANCE_DEST");
    // Each case in its own folder, so runs against a shared server do not
    // meet each other's objects.
    prefix_ = absl::StrCat("conformance-", ::getpid(), "-",
                           ::testing::UnitTest::GetInstance()->current_test_info()->name(), "/");
    if (kind_ == "memory") {
      dest_ = MakeMemoryDestination();
    } else if (kind_ == "faulty") {
      // The decorator with no fault armed must be invisible.
      dest_ = MakeFaultyDestination(MakeMemoryDestination(), {});
    } else if (kind_ == "local") {
      dir_ = std::filesystem::temp_directory_path() / absl::StrCat("hab-conf-", ::getpid());
      std::filesystem::create_directories(dir_);
      dest_ = std::make_unique<LocalDestination>(dir_.string());
    } else if (kind_ == "s3") {
      S3Options o;
      o.endpoint.endpoint = Env("HAB_S3_ENDPOINT");
      o.endpoint.bucket = Env("HAB_S3_BUCKET");
      o.endpoint.access_key_id = Env("HAB_S3_KEY");
      o.endpoint.secret_access_key = Env("HAB_S3_SECRET");
      o.endpoint.timeout_seconds = 10;
      o.prefix = prefix_;
      o.part_size = 5 << 20;
      ASSERT_FALSE(o.endpoint.endpoint.empty()) << "HAB_S3_ENDPOINT is not set";
      auto d = S3Destination::Connect(o);
      ASSERT_TRUE(d.ok()) << d.status();
      dest_ = std::move(*d);
    } else if (kind_ == "sftp") {
      SshTarget t;
      t.host = Env("HAB_SFTP_HOST");
      t.port = std::atoi(Env("HAB_SFTP_PORT").c_str());
      t.user = Env("HAB_SFTP_USER");
      t.identity_file = Env("HAB_SFTP_KEY");
      t.known_hosts_file = Env("HAB_SFTP_KNOWN_HOSTS");
      t.timeout_seconds = 10;
      ASSERT_FALSE(t.host.empty()) << "HAB_SFTP_HOST is not set";
      dest_ = std::make_unique<SftpDestination>(t, Env("HAB_SFTP_PATH") + "/" + prefix_);
    } else {
      FAIL() << "HAB_CONFORMANCE_DEST must be memory, faulty, local, s3 or sftp (got \"" << kind_ << "\")";
    }
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  absl::Status Put(const std::string& key, const std::vector<uint8_t>& data, WriteOptions o = {}) {
    auto w = dest_->Create(key, o);
    if (!w.ok()) return w.status();
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      size_t n = std::min<size_t>(1 << 20, data.size() - off);
      if (absl::Status st = (*w)->Write({data.data() + off, n}); !st.ok()) return st;
    }
    auto size = (*w)->Commit();
    if (!size.ok()) return size.status();
    if (*size != data.size()) return absl::InternalError("commit returned a different size");
    return absl::OkStatus();
  }

  std::vector<std::string> Keys(const std::string& prefix = "") {
    auto l = dest_->List(prefix);
    EXPECT_TRUE(l.ok()) << l.status();
    std::vector<std::string> out;
    if (l.ok()) {
      for (const auto& o : *l) out.push_back(o.key);
    }
    return out;
  }

  std::string kind_, prefix_;
  std::filesystem::path dir_;
  std::unique_ptr<Destination> dest_;
};

constexpr char kArchive[] = "hostatlas-backup-web-20261129T030000Z.tar.zst.age";

TEST_F(Conformance, OnlyCommitMakesAnObjectVisible) {
  auto data = Random(3 << 20, 1);
  auto w = dest_->Create(kArchive, {});
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Write(data).ok());
  EXPECT_TRUE(Keys().empty()) << "visible before commit";
  EXPECT_EQ(dest_->Stat(kArchive).status().code(), absl::StatusCode::kNotFound);
  auto size = (*w)->Commit();
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, data.size());
  EXPECT_EQ(Keys(), std::vector<std::string>{kArchive});
  auto st = dest_->Stat(kArchive);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->size, data.size());
}

TEST_F(Conformance, AbortAndDestructionLeaveNothing) {
  {
    auto w = dest_->Create(kArchive, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(Random(6 << 20, 2)).ok());
    (*w)->Abort();
    (*w)->Abort();  // idempotent
  }
  {
    auto w = dest_->Create("a.zst.age", {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(Random(1000, 3)).ok());
  }  // destroyed without Commit: aborts, never commits
  EXPECT_TRUE(Keys().empty());
  OrphanFilter all{[](absl::string_view) { return true; }, static_cast<int64_t>(::time(nullptr)) + 60};
  auto orphans = dest_->ListOrphans(all);
  ASSERT_TRUE(orphans.ok()) << orphans.status();
  EXPECT_TRUE(orphans->empty()) << orphans->front().key;
}

TEST_F(Conformance, AFailedWriteLeavesNothingAtTheFinalName) {
  DestinationFaults f;
  f.fail_write_at = 2;
  // The decorator around this kind: the second write fails mid-object.
  auto faulty = MakeFaultyDestination(std::move(dest_), f);
  auto w = faulty->Create(kArchive, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Random(1 << 20, 4)).ok());
  EXPECT_FALSE((*w)->Write(Random(1 << 20, 5)).ok());
  (*w)->Abort();
  auto l = faulty->List("");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->empty());
  EXPECT_EQ(faulty->Stat(kArchive).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(Conformance, CommitNeverReplaces) {
  ASSERT_TRUE(Put(kArchive, Random(1000, 6)).ok());
  absl::Status st = Put(kArchive, Random(2000, 7));
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists) << st;
  auto info = dest_->Stat(kArchive);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 1000u) << "the first object was replaced";
}

TEST_F(Conformance, ListIsRecursiveRelativeAndFiltered) {
  std::string dated = std::string("2026-11-29/") + kArchive;
  ASSERT_TRUE(Put(dated, Random(100, 8)).ok());
  ASSERT_TRUE(Put(std::string("2026-11-30/") + kArchive, Random(100, 9)).ok());
  ASSERT_TRUE(Put("notes.txt", Random(10, 10)).ok());
  EXPECT_EQ(Keys(), (std::vector<std::string>{dated, std::string("2026-11-30/") + kArchive, "notes.txt"}));
  EXPECT_EQ(Keys("2026-11-29/"), std::vector<std::string>{dated});
  EXPECT_EQ(Keys("hostatlas-backup-"), std::vector<std::string>{});
}

TEST_F(Conformance, ReadsBackInRangesAndInOrder) {
  auto data = Random((7 << 20) + 12345, 11);
  ASSERT_TRUE(Put(kArchive, data, {data.size(), 2, 5 << 20}).ok());
  auto r = dest_->Open(kArchive, ReadOptions{3, 1 << 20});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->size(), data.size());
  std::vector<uint8_t> back, buf(300000);
  while (true) {
    auto n = (*r)->Read(buf);
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    back.insert(back.end(), buf.begin(), buf.begin() + static_cast<long>(*n));
  }
  EXPECT_EQ(back, data);
  EXPECT_EQ(dest_->Open("missing.zst.age", {}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(Conformance, RemoveIsIdempotent) {
  ASSERT_TRUE(Put(kArchive, Random(100, 12)).ok());
  EXPECT_TRUE(dest_->Remove(kArchive).ok());
  EXPECT_TRUE(Keys().empty());
  EXPECT_TRUE(dest_->Remove(kArchive).ok()) << "removing what is gone is not an error";
}

TEST_F(Conformance, OrphansOfInterruptedWritesAreFoundAndRemoved) {
  // A writer that neither committed nor aborted (its process was killed):
  // enough data that a multipart upload has begun.
  auto w = dest_->Create(kArchive, {0, 1, 5 << 20});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Random(11 << 20, 13)).ok());
  OrphanFilter ours{[](absl::string_view n) { return n == kArchive; }, static_cast<int64_t>(::time(nullptr)) + 60};
  OrphanFilter others{[](absl::string_view) { return false; }, static_cast<int64_t>(::time(nullptr)) + 60};
  auto none = dest_->ListOrphans(others);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty()) << "an orphan that is not ours was listed";
  auto found = dest_->ListOrphans(ours);
  ASSERT_TRUE(found.ok()) << found.status();
  if (Env("HAB_S3_NO_UPLOAD_LISTING") == "1") {
    EXPECT_TRUE(found->empty()) << "this server cannot list uploads";
  } else {
    ASSERT_EQ(found->size(), 1u);
    EXPECT_TRUE(dest_->RemoveOrphan(found->front()).ok());
    auto again = dest_->ListOrphans(ours);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->empty());
  }
  (*w)->Abort();
  EXPECT_TRUE(Keys().empty());
}

TEST_F(Conformance, ProbeWithoutCreateTouchesNothing) {
  EXPECT_TRUE(dest_->Probe(false).ok());
  EXPECT_TRUE(Keys().empty());
  EXPECT_TRUE(dest_->Probe(true).ok());
  EXPECT_TRUE(Keys().empty()) << "the probe left an object";
}

}  // namespace
}  // namespace hab

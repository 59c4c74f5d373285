// auth.yml, the spool and the text helpers of the HostAtlas integration;
// the wire behaviour is tested end to end against the fake
// (tests/e2e/hostatlas.sh).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/file_util.h"
#include "engine/json.h"
#include "gtest/gtest.h"
#include "integrations/hostatlas/api.h"
#include "integrations/hostatlas/auth_file.h"
#include "integrations/hostatlas/spool.h"

namespace hab::hostatlas {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/hab-hostatlas-test.XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d;
}

AuthFile Sample() {
  AuthFile a;
  a.api_url = "https://api.hostatlas.app";
  a.api_key = SecretString("ha_3kXg\"quoted\\and:colon");
  a.key_id = "key_01J";
  a.account = "Example: \"Ltd\" # not a comment";
  a.created_at = "2026-11-29T03:00:00Z";
  return a;
}

TEST(AuthFile, RoundTripsOddCharactersAt0600In0700) {
  std::string dir = TempDir();
  std::string path = dir + "/new/hostatlas/auth.yml";
  ASSERT_TRUE(WriteAuthFile(path, Sample()).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir + "/new/hostatlas").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto a = LoadAuthFile(path);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->api_key.reveal(), Sample().api_key.reveal());
  EXPECT_EQ(a->account, Sample().account);
  EXPECT_EQ(a->key_id, "key_01J");
  EXPECT_EQ(a->api_url, "https://api.hostatlas.app");
}

TEST(AuthFile, RefusesWhatOthersCanReadOrReplace) {
  std::string dir = TempDir();
  std::string path = dir + "/auth.yml";
  ASSERT_TRUE(WriteAuthFile(path, Sample()).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto a = LoadAuthFile(path);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(a.status().message()).find("chmod 600 " + path), std::string::npos) << a.status();
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  // A symlink is not followed, whatever it points to.
  ASSERT_EQ(::symlink(path.c_str(), (dir + "/link.yml").c_str()), 0);
  EXPECT_EQ(LoadAuthFile(dir + "/link.yml").status().code(), absl::StatusCode::kPermissionDenied);
  // Missing: kNotFound (not logged in).
  EXPECT_EQ(LoadAuthFile(dir + "/none.yml").status().code(), absl::StatusCode::kNotFound);
  // A directory others can write is not a place for it.
  std::string shared = dir + "/shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);
  EXPECT_EQ(WriteAuthFile(shared + "/auth.yml", Sample()).code(), absl::StatusCode::kPermissionDenied);
  if (::geteuid() == 0) {
    // Owned by someone else: refused even at 0600.
    ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
    EXPECT_EQ(LoadAuthFile(path).status().code(), absl::StatusCode::kPermissionDenied);
  }
}

TEST(AuthFile, ReadsHandEditedForms) {
  std::string dir = TempDir();
  std::string path = dir + "/auth.yml";
  ASSERT_TRUE(WriteFileAtomic(path,
                              "# edited by hand\n"
                              "api_url: https://api.example.com   # a comment\n"
                              "api_key: 'ha_it''s'\n"
                              "key_id: \"key_\\u00e9\"\n"
                              "unknown_key: ignored\n"
                              "account: Example Ltd\n",
                              0600)
                  .ok());
  auto a = LoadAuthFile(path);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->api_url, "https://api.example.com");
  EXPECT_EQ(a->api_key.reveal(), "ha_it's");
  EXPECT_EQ(a->key_id, "key_\xc3\xa9");
  EXPECT_EQ(a->account, "Example Ltd");
  // A line it cannot read: the position, never the text.
  ASSERT_TRUE(WriteFileAtomic(path, "api_key: \"ha_secretvalue\n", 0600).ok());
  auto bad = LoadAuthFile(path);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find(path + ":1:"), std::string::npos) << bad.status();
  EXPECT_EQ(std::string(bad.status().message()).find("secretvalue"), std::string::npos);
}

TEST(AuthFile, LogoutMayReadWhatOthersCouldReadAndStaleTempsAreSwept) {
  std::string dir = TempDir();
  std::string path = dir + "/auth.yml";
  ASSERT_TRUE(WriteAuthFile(path, Sample()).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_FALSE(LoadAuthFile(path).ok());
  auto a = LoadAuthFile(path, AuthFileUse::kRevoke);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->key_id, "key_01J");
  // A temp file of a killed login (pid not running) goes; another live
  // process's stays.
  std::string dead = path + ".tmp.999999999", live = path + ".tmp.1";
  ASSERT_TRUE(WriteFileAtomic(dead, "api_key: ha_x\n", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(live, "api_key: ha_y\n", 0600).ok());
  ASSERT_TRUE(PrepareAuthDirectory(path).ok());
  EXPECT_NE(::access(dead.c_str(), F_OK), 0);
  EXPECT_EQ(::access(live.c_str(), F_OK), 0);
}

TEST(AuthFile, KeyMustStartWithHa) {
  std::string dir = TempDir();
  std::string path = dir + "/auth.yml";
  AuthFile a = Sample();
  a.api_key = SecretString("sk_live_nope");
  ASSERT_TRUE(WriteAuthFile(path, a).ok());
  auto loaded = LoadAuthFile(path);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(loaded.status().message()).find("sk_live"), std::string::npos);
}

TEST(AuthFile, PathFollowsFlagThenEnvironment) {
  EXPECT_EQ(*AuthFilePath("/x/auth.yml"), "/x/auth.yml");
  ::setenv("HOSTATLAS_AUTH_FILE", "/y/auth.yml", 1);
  EXPECT_EQ(*AuthFilePath(""), "/y/auth.yml");
  ::unsetenv("HOSTATLAS_AUTH_FILE");
  if (::geteuid() == 0) {
    EXPECT_EQ(*AuthFilePath(""), "/etc/hostatlas/backup/auth.yml");
  }
}

TEST(BaseUrls, HttpsOrLoopbackOnly) {
  EXPECT_TRUE(ApiBaseUrl("https://api.example.com/", "").ok());
  EXPECT_EQ(*ApiBaseUrl("http://127.0.0.1:8080", ""), "http://127.0.0.1:8080");
  EXPECT_FALSE(ApiBaseUrl("http://api.example.com", "").ok());
  EXPECT_FALSE(AuthBaseUrl("http://localhost@evil.example").ok());
  ::unsetenv("HOSTATLAS_API_URL");
  EXPECT_EQ(*ApiBaseUrl("", "https://eu.api.example.com"), "https://eu.api.example.com");
  EXPECT_EQ(*ApiBaseUrl("", ""), kDefaultApiUrl);
}

TEST(Spool, OldestFirstBoundedByCountAndAge) {
  std::string dir = TempDir() + "/spool";
  Spool spool(dir, "key_A");
  const int64_t day = 86400, t0 = 1790000000;
  std::vector<std::string> dropped;
  auto id = [](int i) { return absl::StrCat("00000000-0000-4000-8000-", 100000000000 + i); };
  ASSERT_TRUE(spool.Add(id(0), t0, "{\"n\":0}", &dropped).ok());
  for (int i = 1; i <= static_cast<int>(Spool::kMaxEntries); ++i) {
    ASSERT_TRUE(spool.Add(id(i), t0 + i, absl::StrCat("{\"n\":", i, "}"), &dropped).ok());
  }
  // One over the count: the oldest went.
  EXPECT_EQ(dropped, std::vector<std::string>{id(0)});
  EXPECT_EQ(spool.Count(), Spool::kMaxEntries);
  dropped.clear();
  auto list = spool.List(t0 + 100, &dropped);
  ASSERT_EQ(list.size(), Spool::kMaxEntries);
  EXPECT_EQ(list.front().run_id, id(1));
  EXPECT_EQ(*spool.Read(list.front()), "{\"n\":1}");
  // Another login's entries are neither listed nor sent with this key,
  // and do not count against its bound.
  Spool other(dir, "key_B");
  ASSERT_TRUE(other.Add(id(99), t0 + 60, "{\"other\":1}", &dropped).ok());
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(spool.List(t0 + 100, nullptr).size(), Spool::kMaxEntries);
  EXPECT_EQ(other.List(t0 + 100, nullptr).size(), 1u);
  EXPECT_EQ(Spool(dir, "").Count(), Spool::kMaxEntries + 1);
  EXPECT_FALSE(Spool(dir, "../x").Add(id(7), t0, "{}", nullptr).ok());
  // Past the age bound: every key's entries dropped, named.
  list = spool.List(t0 + (Spool::kMaxAgeDays + 1) * day, &dropped);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(dropped.size(), Spool::kMaxEntries + 1);
  EXPECT_EQ(Spool(dir, "").Count(), 0u);
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST(Text, JsonIsValidUtf8AndPingBodiesAreCutAtCharacters) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(JsonString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(JsonString("bad\xe9name"), "\"bad\\ufffdname\"");     // Latin-1
  EXPECT_EQ(JsonString("\xc0\xaf"), "\"\\ufffd\\ufffd\"");         // overlong
  EXPECT_EQ(JsonString("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(JsonString("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");
  EXPECT_EQ(CutUtf8("ab\xc3\xa9", 3), "ab");
  EXPECT_EQ(CutUtf8("ab\xc3\xa9", 4), "ab\xc3\xa9");
  EXPECT_EQ(CutUtf8(std::string(20000, 'x'), 10000).size(), 10000u);
  EXPECT_EQ(ValidUtf8("a\xe9" "b\xc3\xa9"), "a\xef\xbf\xbd" "b\xc3\xa9");
}

}  // namespace
}  // namespace hab::hostatlas

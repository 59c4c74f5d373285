#include "sources/files/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "gtest/gtest.h"
#include "nodes/chunker.h"
#include "nodes/test_util.h"

namespace hab {
namespace {

TEST(Glob, ProductPagePatterns) {
  EXPECT_TRUE(Excluded({"**/node_modules"}, "var/www/app/node_modules"));
  EXPECT_TRUE(Excluded({"**/node_modules"}, "node_modules"));
  EXPECT_FALSE(Excluded({"**/node_modules"}, "var/www/node_modules_old"));
  EXPECT_TRUE(Excluded({"*.log"}, "var/log/nginx/access.log"));
  EXPECT_FALSE(Excluded({"*.log"}, "var/log/nginx/access.log.gz"));
  EXPECT_TRUE(Excluded({"**/.git"}, "srv/repo/.git"));
  EXPECT_TRUE(Excluded({"var/www/*/cache"}, "var/www/site/cache"));
  EXPECT_FALSE(Excluded({"var/www/*/cache"}, "var/www/a/b/cache"));
  EXPECT_TRUE(Excluded({"/etc/nginx/**"}, "etc/nginx/sites/x.conf"));
  EXPECT_TRUE(Excluded({"file?.[ch]"}, "src/file1.c"));
  EXPECT_FALSE(Excluded({"file?.[!ch]"}, "src/file1.c"));
  EXPECT_FALSE(Excluded({}, "anything"));
}

TEST(EstimateTreeBytes, SumsRegularFilesSkipsExcludesAndSymlinks) {
  namespace fs = std::filesystem;
  auto root = fs::temp_directory_path() / ("hab-est-" + std::to_string(getpid()));
  fs::remove_all(root);
  auto put = [](const fs::path& p, size_t n) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << std::string(n, 'x');
  };
  put(root / "top.txt", 10);                       // a file directly in the root
  put(root / "a" / "b" / "c" / "deep.bin", 1000);  // nested
  put(root / "a" / "app.log", 5000);               // excluded by *.log
  put(root / "d" / "node_modules" / "m.js", 7000);  // excluded subtree
  put(root / "d" / "keep.js", 100);
  for (int i = 0; i < 20; ++i) put(root / ("dir" + std::to_string(i)) / "f", 1);  // many subtrees
  fs::create_symlink(root / "a" / "b" / "c" / "deep.bin", root / "link");      // not followed
  fs::create_directory_symlink(root / "a", root / "dirlink");                  // not followed
  std::vector<std::string> exclude = {"*.log", "**/node_modules"};
  for (int threads : {1, 2, 5}) {
    EXPECT_EQ(EstimateTreeBytes({root.string()}, exclude, threads), 10u + 1000u + 100u + 20u) << threads;
  }
  EXPECT_EQ(EstimateTreeBytes({root.string()}, {}), 10u + 1000u + 5000u + 7000u + 100u + 20u);
  // Several roots, a file as a root, an excluded root, a missing root.
  EXPECT_EQ(EstimateTreeBytes({(root / "a").string(), (root / "top.txt").string(), (root / "missing").string()}, {}),
            1000u + 5000u + 10u);
  EXPECT_EQ(EstimateTreeBytes({(root / "d").string()}, {"**/d"}), 0u);
  fs::remove_all(root);
}

TEST(Chunker, AlignedBlocksAndNonEmptyFinal) {
  const size_t unit = 16;
  for (size_t total : {0, 1, 15, 16, 17, 32, 33, 100}) {
    for (size_t cut : {1, 5, 16, 40}) {
      ChunkerNode node(unit);
      MemoryBudget budget(1 << 20);
      std::atomic<bool> cancel{false};
      RunContext ctx(&budget, &cancel, 100);
      std::vector<uint8_t> data = testing::RandomBytes(total, 1);
      testing::CollectEmitter out;
      ASSERT_TRUE(testing::RunThrough(node, ctx, data, cut, out).ok());
      EXPECT_EQ(out.Bytes(), data);
      ASSERT_FALSE(out.chunks.empty());
      uint64_t offset = 0;
      for (size_t i = 0; i < out.chunks.size(); ++i) {
        const ChunkRef& c = out.chunks[i];
        EXPECT_EQ(c->offset, offset) << total << "/" << cut << " #" << i;
        offset += c->bytes().size();
        // Only the unit that straddles two inputs is copied; whole units
        // inside one input are views of it.
        if (c->base == nullptr) {
          EXPECT_LE(c->bytes().size(), unit) << total << "/" << cut << " #" << i;
        }
        if (i + 1 == out.chunks.size()) break;
        EXPECT_EQ(c->bytes().size() % unit, 0u);
        EXPECT_GT(c->bytes().size(), 0u);
        EXPECT_FALSE(c->last);
      }
      EXPECT_TRUE(out.chunks.back()->last);
      // The final block is empty only for an empty stream.
      EXPECT_EQ(out.chunks.back()->bytes().empty(), total == 0) << total << "/" << cut;
    }
  }
}

// Builds a tar in memory with the given (name, type, target) entries.
std::vector<uint8_t> MakeTar(const std::vector<std::tuple<std::string, int, std::string>>& entries) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  std::vector<uint8_t> out(1 << 20);
  size_t used = 0;
  archive_write_open_memory(a, out.data(), out.size(), &used);
  for (const auto& [name, type, target] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_perm(e, 0644);
    if (type == AE_IFLNK) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, target.c_str());
    } else if (type == AE_IFDIR) {
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
    } else if (!target.empty() && type == 0) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, target.c_str());
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, 5);
    }
    archive_write_header(a, e);
    if (type == AE_IFREG) archive_write_data(a, "evil\n", 5);
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

// A pax tar built in memory, member by member: `setup` sets the entry's
// fields, `data` is written as its content.
class MemoryPax {
 public:
  MemoryPax() : a_(archive_write_new()), buf_(1 << 20) {
    archive_write_set_format_pax(a_);
    archive_write_open_memory(a_, buf_.data(), buf_.size(), &used_);
  }
  ~MemoryPax() { archive_write_free(a_); }
  void Add(const std::function<void(archive_entry*)>& setup, const std::string& data) {
    archive_entry* e = archive_entry_new();
    setup(e);
    archive_write_header(a_, e);
    archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
  }
  std::vector<uint8_t> Finish() {
    archive_write_close(a_);
    buf_.resize(used_);
    return buf_;
  }

 private:
  archive* a_;
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
};

TEST(TarExtractor, RefusesHostileMembersAndStaysInside) {
  auto root = std::filesystem::temp_directory_path() / ("hab-tar-" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "outside");
  auto tar = MakeTar({{"ok.txt", AE_IFREG, ""},
                      {"../escape.txt", AE_IFREG, ""},
                      {"/abs.txt", AE_IFREG, ""},
                      {"link", AE_IFLNK, (root / "outside").string()},
                      {"link/through.txt", AE_IFREG, ""},
                      {"hl", 0, "../../etc/passwd"}});
  std::string target = (root / "restore").string();
  auto x = TarExtractor::Create(target);
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_TRUE((*x)->Write(tar).ok());
  auto n = (*x)->Commit();
  ASSERT_TRUE(n.ok()) << n.status();
  auto warnings = (*x)->TakeWarnings();
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  EXPECT_NE(all.find("../escape.txt"), std::string::npos) << all;
  EXPECT_NE(all.find("/abs.txt"), std::string::npos) << all;
  // A member through a symlink is refused; the link stays.
  EXPECT_NE(all.find("link/through.txt"), std::string::npos) << all;
  EXPECT_TRUE(std::filesystem::is_symlink(root / "restore" / "link"));
  EXPECT_NE(all.find("hl"), std::string::npos) << all;
  EXPECT_TRUE(std::filesystem::exists(root / "restore" / "ok.txt"));
  EXPECT_FALSE(std::filesystem::exists(root / "escape.txt"));
  EXPECT_FALSE(std::filesystem::exists(root / "outside" / "through.txt"));
  EXPECT_FALSE(std::filesystem::exists("/abs.txt"));
  std::filesystem::remove_all(root);
}

// The symlink rules our extraction enforces itself (instead of libarchive's
// SECURE_SYMLINKS): nothing through a symlink of the archive, whatever the
// spelling; a directory member replaces a symlink instead of following it; a
// symlink never replaces a directory; a hardlink to a symlink is a symlink.
TEST(TarExtractor, SymlinksNeverLeadOutside) {
  namespace fs = std::filesystem;
  auto root = fs::temp_directory_path() / ("hab-tarsl-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "outside");
  fs::permissions(root / "outside", fs::perms::owner_all);
  std::string out = (root / "outside").string();
  auto tar = MakeTar({{"link", AE_IFLNK, out},
                      {"link/through.txt", AE_IFREG, ""},
                      {"./link//deep.txt", AE_IFREG, ""},
                      {"hl2", 0, "link/through.txt"},
                      {"s2", AE_IFLNK, out},
                      {"s2", AE_IFDIR, ""},
                      {"s2/in.txt", AE_IFREG, ""},
                      {"sub", AE_IFDIR, ""},
                      {"rel", AE_IFLNK, "sub"},
                      {"rel/f.txt", AE_IFREG, ""},
                      {"d", AE_IFDIR, ""},
                      {"d", AE_IFLNK, out},
                      {"hs", 0, "link"},
                      {"hs/x.txt", AE_IFREG, ""},
                      {"ok.txt", AE_IFREG, ""}});
  fs::path r = root / "restore";
  auto x = TarExtractor::Create(r.string());
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_TRUE((*x)->Write(tar).ok());
  auto n = (*x)->Commit();
  ASSERT_TRUE(n.ok()) << n.status();
  std::string all;
  for (const auto& w : (*x)->TakeWarnings()) all += w + "\n";
  for (const char* refused : {"\"link/through.txt\"", "\"./link//deep.txt\"", "\"hl2\"", "\"rel/f.txt\"",
                              "\"d\": a symlink would replace", "\"hs/x.txt\""}) {
    EXPECT_NE(all.find(refused), std::string::npos) << refused << " not refused:\n" << all;
  }
  EXPECT_TRUE(fs::is_empty(root / "outside"));
  EXPECT_EQ(fs::status(root / "outside").permissions(), fs::perms::owner_all);  // not chmod-ed through s2
  EXPECT_TRUE(fs::is_symlink(r / "link"));
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(r / "s2")));
  EXPECT_TRUE(fs::exists(r / "s2" / "in.txt"));
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(r / "d")));
  EXPECT_TRUE(fs::is_symlink(r / "hs"));
  EXPECT_TRUE(fs::exists(r / "ok.txt"));
  fs::remove_all(root);
}

TEST(TarExtractor, TruncatedArchiveLeavesTargetUntouched) {
  auto root = std::filesystem::temp_directory_path() / ("hab-tar2-" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  auto tar = MakeTar({{"a.txt", AE_IFREG, ""}, {"b.txt", AE_IFREG, ""}});
  tar.resize(700);  // inside the second header
  std::string target = (root / "restore").string();
  auto x = TarExtractor::Create(target);
  ASSERT_TRUE(x.ok());
  ASSERT_TRUE((*x)->Write(tar).ok());
  EXPECT_FALSE((*x)->Commit().ok());
  EXPECT_FALSE(std::filesystem::exists(root / "restore")) << "target must be as before";
  std::filesystem::remove_all(root);
}

// Plain regular files take our own write path; everything it does not
// handle goes to libarchive. Either way the result is the archive's.
TEST(TarExtractor, PlainFilesKeepContentModeTimesAndHoles) {
  auto root = std::filesystem::temp_directory_path() / ("hab-tar4-" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  MemoryPax pax;
  auto add = [&](const std::string& name, mode_t perm, const std::string& data, int64_t size,
                 int64_t mtime_nsec) {
    pax.Add([&](archive_entry* e) {
      archive_entry_set_pathname(e, name.c_str());
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, perm);
      archive_entry_set_mtime(e, 1000000000, mtime_nsec);
      archive_entry_set_size(e, size);
      if (size > static_cast<int64_t>(data.size())) {
        // Data first, then a hole to the end.
        archive_entry_sparse_add_entry(e, 0, static_cast<int64_t>(data.size()));
      }
    }, data);
  };
  add("dup", 0644, "first", 5, 0);
  add("dup", 0600, "second!", 7, 0);      // same name again: the later member wins
  add("wide", 0666, "w", 1, 123456789);   // bits a usual umask would drop
  add("setid", 04755, "s", 1, 0);         // set-id: libarchive's path
  add("none", 0000, "", 0, 0);
  add("holey", 0644, "head", 1 << 20, 0); // 4 bytes, then a hole to 1 MiB
  std::vector<uint8_t> tar = pax.Finish();

  mode_t old = ::umask(022);
  std::string target = (root / "restore").string();
  auto x = TarExtractor::Create(target);
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_TRUE((*x)->Write(tar).ok());
  auto n = (*x)->Commit();
  ::umask(old);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 6u);
  auto read = [](const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  auto mode = [](const std::filesystem::path& p) {
    struct stat st;
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  std::filesystem::path r = root / "restore";
  EXPECT_EQ(read(r / "dup"), "second!");
  EXPECT_EQ(mode(r / "dup"), 0600u);
  EXPECT_EQ(mode(r / "wide"), 0666u);
  EXPECT_EQ(mode(r / "setid"), 04755u);
  EXPECT_EQ(mode(r / "none"), 0u);
  struct stat st;
  ASSERT_EQ(::stat((r / "wide").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  ASSERT_EQ(::stat((r / "holey").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 19) << "the hole was written out";
  EXPECT_EQ(read(r / "holey").substr(0, 5), std::string("head\0", 5));
  std::filesystem::remove_all(root);
}

// As root, a plain file owned by root:root is not fchown'ed (it is created
// so). That is only right while no directory it lands in is setgid: this
// pins libarchive's deferral of directory modes and our check of the
// staging directory. Not as root, files belong to whoever restores.
TEST(TarExtractor, OwnersAsRootUnderSetgidDirectories) {
  auto root = std::filesystem::temp_directory_path() / ("hab-tar5-" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  MemoryPax pax;
  auto add = [&](const std::string& name, int type, mode_t perm, int64_t gid) {
    pax.Add([&](archive_entry* e) {
      archive_entry_set_pathname(e, name.c_str());
      archive_entry_set_filetype(e, static_cast<unsigned>(type));
      archive_entry_set_perm(e, perm);
      archive_entry_set_uid(e, 0);
      archive_entry_set_gid(e, gid);
      archive_entry_set_size(e, type == AE_IFREG ? 1 : 0);
    }, type == AE_IFREG ? "x" : "");
  };
  add("shared", AE_IFDIR, 02775, 4242);  // a setgid directory of group 4242
  add("shared/rootfile", AE_IFREG, 0644, 0);
  add("shared/groupfile", AE_IFREG, 0644, 4343);
  add("plain", AE_IFREG, 0644, 0);
  std::vector<uint8_t> tar = pax.Finish();
  auto gid_of = [](const std::filesystem::path& p) {
    struct stat st;
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_gid;
  };
  auto extract = [&](const std::string& target) {
    auto x = TarExtractor::Create(target);
    ASSERT_TRUE(x.ok()) << x.status();
    ASSERT_TRUE((*x)->Write(tar).ok());
    auto n = (*x)->Commit();
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 4u);
  };

  std::filesystem::path r1 = root / "r1";
  extract(r1.string());
  struct stat st;
  ASSERT_EQ(::stat((r1 / "shared").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02775u);
  if (::geteuid() != 0) {
    EXPECT_EQ(gid_of(r1 / "plain"), ::getegid());
    std::filesystem::remove_all(root);
    return;
  }
  EXPECT_EQ(st.st_gid, 4242u);
  EXPECT_EQ(gid_of(r1 / "shared/rootfile"), 0u) << "took the setgid directory's group";
  EXPECT_EQ(gid_of(r1 / "shared/groupfile"), 4343u);
  EXPECT_EQ(gid_of(r1 / "plain"), 0u);

  // A setgid restore target of group 4545: the staging directory inherits
  // it, new files take group 4545, so every member must be chown'ed.
  std::filesystem::path r2 = root / "r2";
  std::filesystem::create_directories(r2);
  ASSERT_EQ(::chown(r2.c_str(), 0, 4545), 0);
  ASSERT_EQ(::chmod(r2.c_str(), 02775), 0);
  extract(r2.string());
  EXPECT_EQ(gid_of(r2 / "plain"), 0u) << "kept the setgid target's group";
  EXPECT_EQ(gid_of(r2 / "shared/rootfile"), 0u);
  EXPECT_EQ(gid_of(r2 / "shared/groupfile"), 4343u);
  std::filesystem::remove_all(root);
}

TEST(TarExtractor, AbortRemovesStaging) {
  auto root = std::filesystem::temp_directory_path() / ("hab-tar3-" + std::to_string(getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "restore");
  auto x = TarExtractor::Create((root / "restore").string());
  ASSERT_TRUE(x.ok());
  auto tar = MakeTar({{"a.txt", AE_IFREG, ""}});
  ASSERT_TRUE((*x)->Write(std::span<const uint8_t>(tar).subspan(0, 600)).ok());
  (*x)->Abort();
  EXPECT_TRUE(std::filesystem::is_empty(root / "restore"));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace hab

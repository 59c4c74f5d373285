#include "sources/files/files_kind.h"

#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sources/files/tar.h"

namespace hab {
namespace {

constexpr long kExt4Magic = 0xEF53;       // EXT2/3/4_SUPER_MAGIC
constexpr long kTmpfsMagic = 0x01021994;  // TMPFS_MAGIC

// The used space of the filesystems `paths` are on, where that bounds the
// bytes tar reads from them (mount points below a root are not crossed);
// nullopt where it may not (compression, dedup, reflinks: btrfs, ZFS, XFS).
std::optional<uint64_t> FilesystemBound(const std::vector<std::string>& paths) {
  std::map<std::pair<int, int>, uint64_t> used;  // by f_fsid
  for (const auto& p : paths) {
    struct statfs fs;
    if (::statfs(p.c_str(), &fs) != 0) return std::nullopt;
    if (fs.f_type != kExt4Magic && fs.f_type != kTmpfsMagic) return std::nullopt;
    used[{fs.f_fsid.__val[0], fs.f_fsid.__val[1]}] =
        (static_cast<uint64_t>(fs.f_blocks) - static_cast<uint64_t>(fs.f_bfree)) *
        static_cast<uint64_t>(fs.f_bsize);
  }
  uint64_t total = 0;
  for (const auto& [id, u] : used) total += u;
  return total;
}

class FilesConfig : public SourceConfig {
 public:
  FilesConfig(std::string name, const SourceKind* kind, std::vector<std::string> paths,
              std::vector<std::string> exclude)
      : SourceConfig(std::move(name), kind), paths_(std::move(paths)), exclude_(std::move(exclude)) {}

  std::vector<std::pair<std::string, std::string>> PlanParams() const override {
    return {{"paths", absl::StrJoin(paths_, ",")}, {"exclude", absl::StrJoin(exclude_, ",")}, {"format", "pax"}};
  }

  void Preflight(PreflightReport& report, const PreflightOptions&) const override {
    for (const auto& p : paths_) {
      std::string subject = absl::StrCat(name(), ": ", p);
      if (::access(p.c_str(), R_OK) != 0) {
        report.Fail("source path", subject, std::strerror(errno));
      } else {
        report.Ok("source path", subject, "readable");
      }
    }
  }

  SizeEstimate Estimate(const EstimateOptions& o) const override {
    if (o.allow_filesystem_bound) {
      if (auto bound = FilesystemBound(paths_); bound.has_value()) return {*bound, true};
    }
    return EstimateExact(o);
  }

  SizeEstimate EstimateExact(const EstimateOptions& o) const override {
    return {EstimateTreeBytes(paths_, exclude_, o.parallelism, o.cancel), false};
  }

  std::vector<std::string> LocalPaths() const override { return paths_; }

  absl::StatusOr<std::unique_ptr<Source>> Open(const SourceOpenOptions& o) const override {
    return std::unique_ptr<Source>(std::make_unique<TarSource>(
        TarOptions{.paths = paths_, .exclude = exclude_, .chunk_bytes = o.chunk_bytes}, o.stats));
  }

 private:
  std::vector<std::string> paths_, exclude_;
};

class FilesKind : public SourceKind {
 public:
  absl::string_view type() const override { return "files"; }
  absl::string_view extension() const override { return "tar"; }
  absl::string_view node_kind() const override { return "tar"; }

  std::unique_ptr<SourceConfig> Parse(std::string name, ConfigNode& n) const override {
    n.AllowKeys({"type", "name", "paths", "exclude"});
    std::vector<std::string> paths, exclude;
    n.StrList("paths", paths);
    if (paths.empty()) n.Problem("paths", "at least one path is required");
    for (size_t i = 0; i < paths.size(); ++i) {
      if (paths[i].empty() || paths[i][0] != '/') n.ProblemAt("paths", i, "must be an absolute path");
    }
    n.StrList("exclude", exclude);
    return std::make_unique<FilesConfig>(std::move(name), this, std::move(paths), std::move(exclude));
  }

  std::string RestorePath(const std::string& dir, const std::string& source) const override {
    return absl::StrCat(dir, "/", source);
  }
  absl::StatusOr<std::unique_ptr<PlainSink>> OpenRestore(const std::string& dir,
                                                         const std::string& source) const override {
    auto x = TarExtractor::Create(RestorePath(dir, source));
    if (!x.ok()) return x.status();
    return std::unique_ptr<PlainSink>(std::move(*x));
  }
  absl::string_view restore_unit() const override { return "members"; }
  absl::StatusOr<std::unique_ptr<PlainSink>> OpenVerifier() const override {
    return std::unique_ptr<PlainSink>(TarExtractor::CreateCounter());
  }
  bool verify_counts_members() const override { return true; }
};

}  // namespace

const SourceKind& FilesSourceKind() {
  static const FilesKind kKind;
  return kKind;
}

}  // namespace hab

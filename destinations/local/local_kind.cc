#include "destinations/local/local_kind.h"

#include "absl/strings/str_cat.h"
#include "destinations/local/local_destination.h"
#include "destinations/path_template.h"

namespace hab {
namespace {

class LocalConfig : public DestinationConfig {
 public:
  explicit LocalConfig(std::string path) : path_(std::move(path)) {}
  absl::string_view type() const override { return "local"; }
  const std::string& root_template() const override { return path_; }
  std::string Describe(const std::string& root) const override { return "local:" + root; }
  std::string CommitProtocol() const override { return ".partial+rename"; }
  bool is_local() const override { return true; }
  absl::StatusOr<std::unique_ptr<Destination>> Open(const DestinationOpenOptions& o) const override {
    return std::unique_ptr<Destination>(std::make_unique<LocalDestination>(o.root));
  }

 private:
  std::string path_;
};

class LocalKind : public DestinationKind {
 public:
  absl::string_view type() const override { return "local"; }
  std::unique_ptr<DestinationConfig> Parse(ConfigNode& n) const override {
    n.AllowKeys({"type", "path"});
    std::string path;
    if (n.Str("path", path, true)) {
      if (path.empty() || path[0] != '/') n.Problem("path", "must be an absolute path");
      for (const auto& p : TemplateProblems(path)) n.Problem("path", p);
    }
    return std::make_unique<LocalConfig>(std::move(path));
  }
};

}  // namespace

const DestinationKind& LocalDestinationKind() {
  static const LocalKind kKind;
  return kKind;
}

}  // namespace hab

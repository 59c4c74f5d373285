#include "destinations/sftp/sftp_kind.h"

#include "absl/strings/str_cat.h"
#include "destinations/path_template.h"
#include "destinations/sftp/sftp_destination.h"

namespace hab {
namespace {

class SftpConfig : public DestinationConfig {
 public:
  SftpConfig(SshTarget target, std::string path) : target_(std::move(target)), path_(std::move(path)) {}
  absl::string_view type() const override { return "sftp"; }
  const std::string& root_template() const override { return path_; }
  std::string Describe(const std::string& root) const override {
    return target_.Location(root);
  }
  std::string CommitProtocol() const override { return ".partial+posix-rename"; }
  absl::StatusOr<std::unique_ptr<Destination>> Open(const DestinationOpenOptions& o) const override {
    SshTarget t = target_;
    t.cancel = o.cancel;
    if (o.preflight && t.timeout_seconds > kPreflightTimeoutSeconds) {
      t.timeout_seconds = kPreflightTimeoutSeconds;
      t.preflight = true;
    }
    return std::unique_ptr<Destination>(std::make_unique<SftpDestination>(std::move(t), o.root));
  }
  static constexpr int kPreflightTimeoutSeconds = 10;

 private:
  SshTarget target_;
  std::string path_;
};

class SftpKind : public DestinationKind {
 public:
  absl::string_view type() const override { return "sftp"; }
  std::unique_ptr<DestinationConfig> Parse(ConfigNode& n) const override {
    n.AllowKeys({"type", "host", "port", "user", "identity_file", "identity_passphrase_file", "password_file",
                 "password_env", "known_hosts_file", "path", "timeout_seconds"});
    SshTarget t;
    n.Str("host", t.host, true);
    int64_t port = 22;
    n.Int("port", 1, 65535, port);
    t.port = static_cast<int>(port);
    n.Str("user", t.user, true);
    // Host keys are always verified: known_hosts_file is required and
    // nothing turns the check off.
    n.Str("known_hosts_file", t.known_hosts_file, true);
    bool key = n.Str("identity_file", t.identity_file);
    n.Str("identity_passphrase_file", t.identity_passphrase_file);
    bool pw_file = n.Str("password_file", t.password_file);
    bool pw_env = n.Str("password_env", t.password_env);
    if (static_cast<int>(key) + static_cast<int>(pw_file) + static_cast<int>(pw_env) != 1) {
      n.Problem("", "set exactly one of identity_file, password_file, password_env");
    }
    if (!t.identity_passphrase_file.empty() && !key) {
      n.Problem("identity_passphrase_file", "only goes with identity_file");
    }
    int64_t timeout = t.timeout_seconds;
    n.Int("timeout_seconds", 1, 86400, timeout);
    t.timeout_seconds = static_cast<int>(timeout);
    std::string path;
    if (n.Str("path", path, true)) {
      for (const auto& p : TemplateProblems(path)) n.Problem("path", p);
    }
    return std::make_unique<SftpConfig>(std::move(t), std::move(path));
  }
};

}  // namespace

const DestinationKind& SftpDestinationKind() {
  static const SftpKind kKind;
  return kKind;
}

}  // namespace hab

#include "destinations/s3/s3_kind.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "destinations/path_template.h"
#include "destinations/s3/s3_destination.h"
#include "engine/file_util.h"
#include "engine/status_macros.h"
#include "net/url.h"

namespace hab {
namespace {

struct S3Settings {
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  std::string prefix;  // templated; a folder (ends in '/') unless empty
  std::string access_key_id, secret_access_key;  // secret: never printed
  std::string access_key_id_file, secret_access_key_file;
  std::optional<bool> path_style;
  uint64_t part_size = 16ull << 20;
  int concurrency = 4;
  int timeout_seconds = 30;
  std::string ca_file;
};

// An inline value, else a 0600 file, else the environment.
absl::StatusOr<std::string> Credential(const std::string& inline_value, const std::string& file,
                                       const char* env, const char* name) {
  if (!inline_value.empty()) return inline_value;
  if (!file.empty()) {
    HAB_ASSIGN_OR_RETURN(std::string text, ReadPrivateFile(file, absl::StrCat(name, "_file")));
    std::string value(absl::StripAsciiWhitespace(text));
    sodium_memzero(text.data(), text.size());
    return value;
  }
  if (const char* v = std::getenv(env); v != nullptr && *v) return std::string(v);
  return absl::FailedPreconditionError(absl::StrCat("destination.", name, ": not set (set ", name, ", ", name,
                                                    "_file, or the ", env, " environment variable)"));
}

class S3Config : public DestinationConfig {
 public:
  explicit S3Config(S3Settings s) : s_(std::move(s)) {}
  ~S3Config() override { sodium_memzero(s_.secret_access_key.data(), s_.secret_access_key.size()); }
  absl::string_view type() const override { return "s3"; }
  const std::string& root_template() const override { return s_.prefix; }
  std::string Describe(const std::string& root) const override {
    return absl::StrCat("s3:", s_.endpoint, "/", s_.bucket, "/", root);
  }
  std::string CommitProtocol() const override { return "CompleteMultipartUpload"; }
  int concurrency() const override { return s_.concurrency; }
  bool needs_exact_size() const override { return true; }
  // Part buffers: one filling, one queued, one per part in flight. Under a
  // tight budget fewer parts go in flight, then parts get smaller (never
  // under S3's 5 MiB, nor so small the archive needs over 10,000 parts).
  StreamMemory Writer(uint64_t size_hint, int max_concurrency, uint64_t max_bytes) const override {
    int c = std::max(1, std::min(max_concurrency, s_.concurrency));
    uint64_t part = S3PartSize(s_.part_size, size_hint);
    while (c > 1 && part * static_cast<uint64_t>(c + 2) > max_bytes) --c;
    if (part * static_cast<uint64_t>(c + 2) > max_bytes) {
      uint64_t fit = max_bytes / static_cast<uint64_t>(c + 2) / (1 << 20) * (1 << 20);
      part = std::max(S3PartSize(kMinPart, size_hint), fit);
    }
    return {part * static_cast<uint64_t>(c + 2), c, part};
  }
  // Ranged reads in flight, one range each, plus the one being handed out;
  // ranges are any size, so a tight budget gets smaller ones.
  StreamMemory Reader(int max_concurrency, uint64_t max_bytes) const override {
    int c = std::max(1, std::min(max_concurrency, s_.concurrency));
    uint64_t range = s_.part_size;
    while (c > 1 && range * static_cast<uint64_t>(c + 1) > max_bytes) --c;
    if (range * static_cast<uint64_t>(c + 1) > max_bytes) {
      range = std::max<uint64_t>(1 << 20, max_bytes / static_cast<uint64_t>(c + 1) / (1 << 20) * (1 << 20));
    }
    return {range * static_cast<uint64_t>(c + 1), c, range};
  }
  static constexpr uint64_t kMinPart = 5ull << 20;  // S3's minimum for every part but the last
  std::vector<std::string> inline_secrets() const override {
    if (s_.secret_access_key.empty()) return {};
    return {"destination.secret_access_key"};
  }
  absl::StatusOr<std::unique_ptr<Destination>> Open(const DestinationOpenOptions& o) const override {
    S3Options opt;
    opt.endpoint.endpoint = s_.endpoint;
    opt.endpoint.region = s_.region == "auto" ? "us-east-1" : s_.region;
    opt.endpoint.bucket = s_.bucket;
    opt.endpoint.path_style = s_.path_style.value_or(!absl::StrContains(s_.endpoint, ".amazonaws.com"));
    opt.endpoint.ca_file = s_.ca_file;
    opt.endpoint.timeout_seconds = s_.timeout_seconds;
    opt.endpoint.cancel = o.cancel;
    if (o.preflight) {
      // Pre-flight answers quickly or says why: one attempt, a short wait.
      opt.endpoint.timeout_seconds = std::min(s_.timeout_seconds, kPreflightTimeoutSeconds);
      opt.max_attempts = 1;
    }
    HAB_ASSIGN_OR_RETURN(opt.endpoint.access_key_id,
                         Credential(s_.access_key_id, s_.access_key_id_file, "AWS_ACCESS_KEY_ID", "access_key_id"));
    HAB_ASSIGN_OR_RETURN(opt.endpoint.secret_access_key,
                         Credential(s_.secret_access_key, s_.secret_access_key_file, "AWS_SECRET_ACCESS_KEY",
                                    "secret_access_key"));
    opt.prefix = o.root;
    opt.part_size = s_.part_size;
    HAB_ASSIGN_OR_RETURN(std::unique_ptr<S3Destination> d, S3Destination::Connect(std::move(opt)));
    return std::unique_ptr<Destination>(std::move(d));
  }

  static constexpr int kPreflightTimeoutSeconds = 10;

 private:
  S3Settings s_;
};

class S3Kind : public DestinationKind {
 public:
  absl::string_view type() const override { return "s3"; }
  std::unique_ptr<DestinationConfig> Parse(ConfigNode& n) const override {
    n.AllowKeys({"type", "endpoint", "region", "bucket", "prefix", "access_key_id", "secret_access_key",
                 "access_key_id_file", "secret_access_key_file", "path_style", "part_size", "concurrency",
                 "ca_file", "timeout_seconds"});
    S3Settings s;
    n.Str("endpoint", s.endpoint, true);
    n.Str("region", s.region);
    if (s.region.empty()) s.region = "us-east-1";
    n.Str("bucket", s.bucket, true);
    if (n.Str("prefix", s.prefix)) {
      for (const auto& p : TemplateProblems(s.prefix)) n.Problem("prefix", p);
      // The prefix is a folder: "backups" means "backups/", so that
      // retention, status and restore find what a run wrote.
      if (!s.prefix.empty() && s.prefix.back() != '/') s.prefix += '/';
    }
    n.Str("access_key_id", s.access_key_id);
    n.Str("secret_access_key", s.secret_access_key);
    n.Str("access_key_id_file", s.access_key_id_file);
    n.Str("secret_access_key_file", s.secret_access_key_file);
    bool ps;
    if (n.Bool("path_style", ps)) s.path_style = ps;
    if (n.Size("part_size", s.part_size) && (s.part_size < (5ull << 20) || s.part_size > (5ull << 30))) {
      n.Problem("part_size", "must be between 5MiB and 5GiB (S3 limits)");
    }
    int64_t conc = s.concurrency;
    n.Int("concurrency", 1, 64, conc);
    s.concurrency = static_cast<int>(conc);
    int64_t timeout = s.timeout_seconds;
    n.Int("timeout_seconds", 1, 86400, timeout);
    s.timeout_seconds = static_cast<int>(timeout);
    n.Str("ca_file", s.ca_file);
    if (!s.endpoint.empty()) {
      // TLS verification is always on; plain http only on loopback (tests).
      auto url = ParseBaseUrl(s.endpoint, "endpoint");
      absl::Status st = url.ok() ? CheckTransportPolicy(*url, "endpoint") : url.status();
      if (!st.ok()) n.Problem("endpoint", std::string(st.message()));
    }
    return std::make_unique<S3Config>(std::move(s));
  }
};

}  // namespace

const DestinationKind& S3DestinationKind() {
  static const S3Kind kKind;
  return kKind;
}

}  // namespace hab

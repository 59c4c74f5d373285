#include "graphs/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "destinations/registry.h"
#include "engine/file_util.h"
#include "graphs/schedule.h"
#include "nodes/age_format.h"
#include "sources/registry.h"

namespace hab {

bool ValidSourceName(absl::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return name[0] != '.' && name[0] != '-';
}

bool ValidUuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool ValidHeartbeatSlug(absl::string_view slug) {
  if (slug.empty() || slug.size() > 100) return false;
  for (char c : slug) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

absl::StatusOr<uint64_t> ParseSize(const std::string& text) {
  std::string t(absl::StripAsciiWhitespace(text));
  size_t i = 0;
  while (i < t.size() && (absl::ascii_isdigit(t[i]) || t[i] == '.')) ++i;
  double value;
  if (i == 0 || !absl::SimpleAtod(t.substr(0, i), &value)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a size (e.g. 256MiB)"));
  }
  std::string unit(absl::StripAsciiWhitespace(t.substr(i)));
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1}, {"B", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
      {"TiB", 1099511627776.0}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
      {"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0}};
  for (auto [u, mult] : kUnits) {
    if (unit != u) continue;
    double bytes = value * mult;
    // 2^64 itself is not representable: anything from there on is too large
    // (a cast would wrap it to a small number).
    if (!std::isfinite(bytes) || bytes >= 18446744073709551616.0) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is too large"));
    }
    return static_cast<uint64_t>(bytes);
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": unknown size unit \"", unit,
                                                 "\" (use B, KiB, MiB, GiB, TiB)"));
}

namespace {

std::string Join(absl::string_view a, absl::string_view b) {
  return a.empty() ? std::string(b) : absl::StrCat(a, ".", b);
}

// Every problem and warning of one file, with positions.
class Collector {
 public:
  explicit Collector(std::string file) : file_(std::move(file)) {}

  void Add(bool warning, const YAML::Node& at, std::string key, std::string message) {
    Entry e{warning, 0, 0, std::move(key), std::move(message)};
    if (at.IsDefined() && at.Mark().line >= 0) {
      e.line = at.Mark().line + 1;
      e.column = at.Mark().column + 1;
    }
    entries_.push_back(std::move(e));
  }

  // Whether a problem was recorded at `key` or below it.
  bool ProblemUnder(absl::string_view key) const {
    for (const auto& e : entries_) {
      if (e.warning) continue;
      if (e.key == key || absl::StartsWith(e.key, absl::StrCat(key, ".")) ||
          absl::StartsWith(e.key, absl::StrCat(key, "["))) {
        return true;
      }
    }
    return false;
  }

  std::vector<std::string> Lines(bool warnings) const {
    std::vector<std::string> out;
    for (const auto& e : entries_) {
      if (e.warning != warnings) continue;
      out.push_back(e.line > 0 ? absl::StrCat(file_, ":", e.line, ":", e.column, ": ", e.key, ": ", e.message)
                               : absl::StrCat(file_, ": ", e.key, ": ", e.message));
    }
    return out;
  }

 private:
  struct Entry {
    bool warning;
    int line, column;
    std::string key, message;
  };
  std::string file_;
  std::vector<Entry> entries_;
};

// A YAML mapping as a ConfigNode (engine/config_node.h).
class YamlNode : public ConfigNode {
 public:
  YamlNode(Collector& c, YAML::Node node, std::string path)
      : c_(c), node_(std::move(node)), path_(std::move(path)) {}

  const std::string& path() const override { return path_; }
  const YAML::Node& node() const { return node_; }

  void AllowKeys(std::initializer_list<absl::string_view> allowed) override {
    std::set<std::string> ok;
    for (absl::string_view a : allowed) ok.emplace(a);
    std::set<std::string> seen;
    for (const auto& kv : node_) {
      std::string k = kv.first.Scalar();
      if (!ok.count(k)) {
        c_.Add(false, kv.first, Join(path_, k),
               absl::StrCat("unknown key (allowed: ", absl::StrJoin(ok, ", "), ")"));
      } else if (!seen.insert(k).second) {
        // yaml-cpp keeps both and answers lookups with the first: a second
        // `keep_last:` would be silently ignored.
        c_.Add(false, kv.first, Join(path_, k), "is given twice (remove one)");
      }
    }
  }

  bool Has(absl::string_view key) const override {
    YAML::Node n = Get(key);
    return n.IsDefined() && !n.IsNull();
  }

  bool Str(absl::string_view key, std::string& out, bool required = false) override {
    YAML::Node n = Get(key);
    if (!n.IsDefined() || n.IsNull()) {
      if (required) c_.Add(false, node_, Join(path_, key), "is required");
      return false;
    }
    if (!n.IsScalar()) {
      c_.Add(false, n, Join(path_, key), "must be a string");
      return false;
    }
    out = n.Scalar();
    return true;
  }

  bool Int(absl::string_view key, int64_t lo, int64_t hi, int64_t& out) override {
    YAML::Node n = Get(key);
    if (!n.IsDefined() || n.IsNull()) return false;
    int64_t v;
    if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v)) {
      c_.Add(false, n, Join(path_, key), "must be an integer");
      return false;
    }
    if (v < lo || v > hi) {
      c_.Add(false, n, Join(path_, key), absl::StrCat("must be between ", lo, " and ", hi, ", got ", v));
      return false;
    }
    out = v;
    return true;
  }

  bool Bool(absl::string_view key, bool& out) override {
    YAML::Node n = Get(key);
    if (!n.IsDefined() || n.IsNull()) return false;
    std::string s = n.IsScalar() ? absl::AsciiStrToLower(n.Scalar()) : "";
    if (s == "true" || s == "yes") {
      out = true;
    } else if (s == "false" || s == "no") {
      out = false;
    } else {
      c_.Add(false, n, Join(path_, key), "must be true or false");
      return false;
    }
    return true;
  }

  bool StrList(absl::string_view key, std::vector<std::string>& out) override {
    YAML::Node n = Get(key);
    if (!n.IsDefined() || n.IsNull()) return false;
    if (!n.IsSequence()) {
      c_.Add(false, n, Join(path_, key), "must be a list of strings");
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) {
        c_.Add(false, n[i], absl::StrCat(Join(path_, key), "[", i, "]"), "must be a string");
        ok = false;
        continue;
      }
      out.push_back(n[i].Scalar());
    }
    return ok;
  }

  bool Size(absl::string_view key, uint64_t& out) override {
    std::string s;
    if (!Str(key, s)) return false;
    auto v = ParseSize(s);
    if (!v.ok()) {
      c_.Add(false, Get(key), Join(path_, key), std::string(v.status().message()));
      return false;
    }
    out = *v;
    return true;
  }

  void Problem(absl::string_view key, std::string message) override {
    Report(false, key, std::move(message));
  }
  void Warning(absl::string_view key, std::string message) override {
    Report(true, key, std::move(message));
  }
  void ProblemAt(absl::string_view key, size_t index, std::string message) override {
    YAML::Node n = Get(key);
    YAML::Node at = n.IsSequence() && index < n.size() ? n[index] : n;
    c_.Add(false, at, absl::StrCat(Join(path_, key), "[", index, "]"), std::move(message));
  }

 private:
  YAML::Node Get(absl::string_view key) const {
    if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return node_[std::string(key)];
  }
  void Report(bool warning, absl::string_view key, std::string message) {
    if (key.empty()) {
      c_.Add(warning, node_, path_, std::move(message));
      return;
    }
    YAML::Node n = Get(key);
    c_.Add(warning, n.IsDefined() ? n : node_, Join(path_, key), std::move(message));
  }

  Collector& c_;
  YAML::Node node_;
  std::string path_;
};

// A mapping at `key` of `parent`, or a problem. Absent: nullopt, no problem.
std::unique_ptr<YamlNode> Section(Collector& c, YamlNode& parent, const char* key) {
  YAML::Node n = parent.node()[key];
  if (!n.IsDefined() || n.IsNull()) return nullptr;
  if (!n.IsMap()) {
    c.Add(false, n, key, "must be a mapping");
    return nullptr;
  }
  return std::make_unique<YamlNode>(c, n, key);
}

void ParseSources(Collector& c, YamlNode& root, ConfigReport& report) {
  YAML::Node sources = root.node()["sources"];
  if (!sources.IsDefined() || !sources.IsSequence() || sources.size() == 0) {
    c.Add(false, sources.IsDefined() ? sources : root.node(), "sources",
          "must be a non-empty list of sources");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < sources.size(); ++i) {
    std::string key = absl::StrCat("sources[", i, "]");
    if (!sources[i].IsMap()) {
      c.Add(false, sources[i], key, "must be a mapping");
      continue;
    }
    YamlNode n(c, sources[i], key);
    std::string type, name;
    n.Str("type", type, true);
    n.Str("name", name, true);
    if (!name.empty() && !ValidSourceName(name)) {
      n.Problem("name",
                "must be 1-100 characters of letters, digits, '-', '_' or '.', not starting with '.' or '-'");
    } else if (!name.empty() && !names.insert(name).second) {
      n.Problem("name", absl::StrCat("duplicate source name \"", name, "\""));
    }
    const SourceKind* kind = FindSourceKind(type);
    if (kind == nullptr) {
      if (!type.empty()) {
        n.Problem("type", absl::StrCat("unknown source type \"", type, "\" (", SourceTypeList(), ")"));
      }
      continue;
    }
    report.spec.sources.push_back(kind->Parse(name, n));
    report.source_valid.push_back(!c.ProblemUnder(key));
  }
}

void ParseDestination(Collector& c, YamlNode& root, ConfigReport& report) {
  YAML::Node d = root.node()["destination"];
  if (!d.IsDefined()) {
    c.Add(false, root.node(), "destination", absl::StrCat("is required (one of ", DestinationTypeList(), ")"));
    return;
  }
  if (!d.IsMap()) {
    c.Add(false, d, "destination", "must be a mapping");
    return;
  }
  YamlNode n(c, d, "destination");
  std::string type;
  n.Str("type", type, true);
  const DestinationKind* kind = FindDestinationKind(type);
  if (kind == nullptr) {
    if (!type.empty()) {
      n.Problem("type", absl::StrCat("unknown destination type \"", type, "\" (", DestinationTypeList(), ")"));
    }
    return;
  }
  report.spec.destination = kind->Parse(n);
  report.destination_valid = !c.ProblemUnder("destination");
}

void ParseEncryption(Collector& c, YamlNode& root, BackupSpec& spec) {
  YAML::Node enc = root.node()["encryption"];
  if (!enc.IsDefined() || enc.IsNull()) {
    c.Add(false, root.node(), "encryption",
          "is required: archives are always age-encrypted (set encryption.recipient)");
    return;
  }
  auto n = Section(c, root, "encryption");
  if (n == nullptr) return;
  n->AllowKeys({"type", "recipient", "recipients", "identity_file"});
  std::string type = "age";
  n->Str("type", type);
  if (type != "age") n->Problem("type", "only \"age\" is supported");
  std::string one;
  bool has_one = n->Str("recipient", one);
  if (has_one && !age::X25519Recipient::Parse(one).ok()) {
    n->Problem("recipient", "not a valid age recipient (expected age1 followed by 58 characters)");
  } else if (has_one) {
    spec.recipients.push_back(one);
  }
  std::vector<std::string> list;
  n->StrList("recipients", list);
  for (size_t i = 0; i < list.size(); ++i) {
    if (!age::X25519Recipient::Parse(list[i]).ok()) {
      n->ProblemAt("recipients", i, "not a valid age recipient (expected age1 followed by 58 characters)");
    } else {
      spec.recipients.push_back(list[i]);
    }
  }
  n->Str("identity_file", spec.identity_file);
  if (!has_one && list.empty() && spec.identity_file.empty()) {
    n->Problem("", "set recipient, recipients or identity_file");
  }
}

void ParseRest(Collector& c, YamlNode& root, BackupSpec& spec) {
  if (root.Str("schedule", spec.schedule)) {
    auto cal = CronToOnCalendar(spec.schedule);
    if (!cal.ok()) root.Problem("schedule", std::string(cal.status().message()));
  }
  root.Str("staging_dir", spec.staging_dir);
  if (auto comp = Section(c, root, "compression")) {
    comp->AllowKeys({"type", "level"});
    std::string type = "zstd";
    comp->Str("type", type);
    if (type != "zstd") comp->Problem("type", "only \"zstd\" is supported");
    int64_t level = 3;
    comp->Int("level", 1, 22, level);
    spec.zstd_level = static_cast<int>(level);
  }
  if (auto ret = Section(c, root, "retention")) {
    ret->AllowKeys({"keep_last"});
    int64_t keep = 0;
    ret->Int("keep_last", 1, 100000, keep);
    spec.keep_last = static_cast<int>(keep);
  }
  if (auto ver = Section(c, root, "verification")) {
    ver->AllowKeys({"mode"});
    ver->Str("mode", spec.verification);
    if (spec.verification != "none" && spec.verification != "size" && spec.verification != "deep") {
      ver->Problem("mode", "must be none, size or deep");
    }
  }
  YAML::Node hb = root.node()["heartbeat"];
  if (hb.IsDefined() && !hb.IsNull()) {
    if (hb.IsScalar()) {
      spec.heartbeat_slug = hb.Scalar();
    } else if (auto n = Section(c, root, "heartbeat")) {
      n->AllowKeys({"slug"});
      n->Str("slug", spec.heartbeat_slug, true);
    }
    if (!spec.heartbeat_slug.empty() && !ValidHeartbeatSlug(spec.heartbeat_slug)) {
      c.Add(false, hb, "heartbeat", "a slug is letters, digits, '_' and '-' (e.g. hb_a3f9c8e2d5)");
    }
  }
  if (auto ha = Section(c, root, "hostatlas")) {
    ha->AllowKeys({"server_uuid"});
    ha->Str("server_uuid", spec.server_uuid);
    if (!spec.server_uuid.empty() && !ValidUuid(spec.server_uuid)) {
      ha->Problem("server_uuid", "must be a UUID (8-4-4-4-12 hex digits), as the HostAtlas dashboard shows it");
    }
  }
  if (auto hooks = Section(c, root, "hooks")) {
    hooks->AllowKeys({"pre", "post", "timeout_seconds"});
    hooks->StrList("pre", spec.pre_hooks);
    hooks->StrList("post", spec.post_hooks);
    hooks->Int("timeout_seconds", 1, 86400, spec.hook_timeout_seconds);
  }
  if (auto perf = Section(c, root, "performance")) {
    perf->AllowKeys({"memory_limit", "parallelism"});
    if (perf->Size("memory_limit", spec.memory_limit)) {
      if (spec.memory_limit < (2ull << 20)) {
        perf->Problem("memory_limit", "must be at least 2MiB");
      } else if (spec.memory_limit > (1ull << 40)) {
        perf->Problem("memory_limit", "is too large (at most 1TiB)");
      }
    }
    int64_t par = 0;
    perf->Int("parallelism", 1, 1024, par);
    spec.parallelism = static_cast<int>(par);
  }
}

}  // namespace

absl::StatusOr<ConfigReport> ParseConfigReport(const std::string& text, const std::string& path) {
  Collector c(path);
  ConfigReport report;
  report.spec.config_path = path;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // Not YAML at all: nothing else can be checked.
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  try {
    if (!root.IsMap()) {
      c.Add(false, root, "(top level)", "the config must be a YAML mapping");
    } else {
      YamlNode top(c, root, "");
      top.AllowKeys({"schedule", "sources", "destination", "encryption", "compression", "retention",
                     "verification", "heartbeat", "hostatlas", "hooks", "performance",
                     "staging_dir"});
      ParseSources(c, top, report);
      ParseDestination(c, top, report);
      ParseEncryption(c, top, report.spec);
      ParseRest(c, top, report.spec);
    }
  } catch (const YAML::Exception& e) {
    c.Add(false, root, "(config)", e.what());
  }
  BackupSpec& spec = report.spec;
  if (spec.parallelism == 0) {
    spec.parallelism = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  report.encryption_valid =
      !c.ProblemUnder("encryption") && (!spec.recipients.empty() || !spec.identity_file.empty());
  report.hooks_valid = !c.ProblemUnder("hooks");
  report.problems = c.Lines(false);
  spec.warnings = c.Lines(true);
  return report;
}

absl::StatusOr<ConfigReport> LoadConfigReport(const std::string& path) {
  auto text = ReadFile(path, 4 << 20);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read config: ", text.status().message()));
  }
  return ParseConfigReport(*text, path);
}

absl::StatusOr<BackupSpec> ParseConfig(const std::string& text, const std::string& path) {
  auto report = ParseConfigReport(text, path);
  if (!report.ok()) return report.status();
  if (!report->ok()) return absl::InvalidArgumentError(absl::StrJoin(report->problems, "\n"));
  return std::move(report->spec);
}

absl::StatusOr<BackupSpec> LoadConfig(const std::string& path) {
  auto report = LoadConfigReport(path);
  if (!report.ok()) return report.status();
  if (!report->ok()) return absl::InvalidArgumentError(absl::StrJoin(report->problems, "\n"));
  return std::move(report->spec);
}

const std::string& FullReferenceConfig() {
  static const std::string kText = R"yaml(# hostatlas-backup: the full reference config. Every key is shown; most are
# optional (the defaults are the values given). Paths may use the templates
# {{ hostname }} and {{ date }} (UTC YYYY-MM-DD).
schedule: "0 3 * * *"          # optional; `hostatlas-backup schedule --install` makes a systemd timer

sources:                       # required, at least one; names unique
  - type: files
    name: webroot              # [A-Za-z0-9._-], used in the archive name
    paths: [/var/www, /etc/nginx]   # absolute; symlinks and mount points are not followed
    exclude: ["**/node_modules", "**/.git", "*.log"]
  - type: postgres             # pg_dump --format=custom --no-owner --no-acl
    name: production-db
    host: 127.0.0.1            # default 127.0.0.1
    port: 5432                 # default 5432
    user: hostatlas
    password_file: /etc/hostatlas/backup/pg-pass   # mode 0600; OR password_env: PGPASSWORD
    database: hostatlas
    command_timeout_seconds: 21600
    extra_args: ["--compress=0"]
  - type: mysql                # or mariadb; mysqldump --single-transaction --quick ...
    name: shop
    host: 127.0.0.1
    port: 3306
    user: backup
    password_env: SHOP_DB_PASSWORD
    database: app_production
    command_timeout_seconds: 21600
    extra_args: []

destination:                   # exactly one; the other kinds follow as comments
  type: local
  path: /var/backups/hostatlas/{{ hostname }}
# destination:
#   type: s3
#   endpoint: https://abc.r2.cloudflarestorage.com   # https; http only for a loopback host
#   region: auto                 # "auto" signs as us-east-1
#   bucket: my-backups
#   prefix: "{{ hostname }}/{{ date }}/"             # a folder: a missing trailing / is added
#   access_key_id_file: /etc/hostatlas/backup/s3-key-id       # or access_key_id, or $AWS_ACCESS_KEY_ID
#   secret_access_key_file: /etc/hostatlas/backup/s3-secret   # or secret_access_key, or $AWS_SECRET_ACCESS_KEY
#   path_style: true             # default: true unless the endpoint is *.amazonaws.com
#   part_size: 16MiB             # 5MiB..5GiB
#   concurrency: 4               # parts in flight per source
#   timeout_seconds: 30          # connect, and the longest wait without progress
#   ca_file: /etc/ssl/private-ca.pem
# destination:
#   type: sftp
#   host: backups.example.com
#   port: 22
#   user: backup
#   known_hosts_file: /root/.ssh/known_hosts      # required: host keys are always verified
#   identity_file: /root/.ssh/backup_ed25519      # mode 0600; OR password_file (0600) OR password_env
#   # identity_passphrase_file: /etc/hostatlas/backup/key-pass
#   path: /srv/backups/{{ hostname }}             # absolute, or relative to the login folder
#   timeout_seconds: 30

encryption:                    # required: there is no unencrypted mode
  type: age
  recipient: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq
  # recipients: [age1..., age1...]
  # identity_file: /etc/hostatlas/backup/age.key   # for restore and deep verification

compression:
  type: zstd
  level: 3                     # 1..22

retention:
  keep_last: 7                 # per source, across dated folders; absent: keep everything

verification:
  mode: size                   # none | size | deep (deep needs encryption.identity_file)

# heartbeat:                   # pings start / ok / fail (needs no login; `heartbeat new NAME` makes one)
#   slug: hb_a3f9c8e2d5        # or the one-line form  heartbeat: hb_a3f9c8e2d5

# hostatlas:
#   server_uuid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427   # the monitored server this host is; sent in the run log

hooks:                         # each through /bin/sh -c, in its own process group
  pre: []                      # e.g. ["systemctl stop my-app"]; a failure aborts the backup
  post: []                     # e.g. ["systemctl start my-app"]; always run; a failure only warns
  timeout_seconds: 300         # per command

performance:
  memory_limit: 256MiB         # every in-flight buffer; >= 2MiB
  # parallelism: 2             # default: all cores

# staging_dir: /var/tmp        # optional: pre-flight checks it has room for 1.2 x the sources
)yaml";
  return kText;
}

std::string DefaultConfigYaml(const std::string& source_dir, const std::string& dest_dir,
                              const std::string& recipient) {
  return absl::StrCat(
      "# hostatlas-backup default config: one directory, a local destination.\n",
      "sources:\n  - type: files\n    name: demo\n    paths:\n      - ", source_dir, "\n",
      "destination:\n  type: local\n  path: ", dest_dir, "\n",
      "encryption:\n  type: age\n  recipient: ", recipient, "\n",
      "compression:\n  type: zstd\n  level: 3\n",
      "verification:\n  mode: size\n");
}

}  // namespace hab

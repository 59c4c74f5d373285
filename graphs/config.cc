#include "graphs/config.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "engine/file_util.h"
#include "nodes/age_format.h"
#include "net/url.h"

namespace hab {

std::string SourceSpec::extension() const {
  if (type == "postgres") return "pgdump";
  if (type == "mysql") return "sql";
  return "tar";
}

bool ValidSourceName(absl::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return name[0] != '.' && name[0] != '-';
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
    if (unit == u) return static_cast<uint64_t>(value * mult);
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": unknown size unit \"", unit,
                                                 "\" (use B, KiB, MiB, GiB, TiB)"));
}

std::string ExpandTemplate(const std::string& text, const std::string& hostname, int64_t now) {
  std::string out = text;
  for (const char* h : {"{{ hostname }}", "{{hostname}}"}) out = absl::StrReplaceAll(out, {{h, hostname}});
  for (const char* d : {"{{ date }}", "{{date}}"}) out = absl::StrReplaceAll(out, {{d, DateUtc(now)}});
  return out;
}

namespace {

class Validator {
 public:
  explicit Validator(std::string file) : file_(std::move(file)) {}

  void Problem(const YAML::Node& n, const std::string& key, const std::string& msg) {
    ConfigProblem p;
    if (n.IsDefined() && n.Mark().line >= 0) {
      p.line = n.Mark().line + 1;
      p.column = n.Mark().column + 1;
    }
    p.key = key;
    p.message = msg;
    problems_.push_back(p);
  }

  // Checks that `n` is a map whose keys are all in `allowed`.
  bool Map(const YAML::Node& n, const std::string& key, std::initializer_list<const char*> allowed) {
    if (!n.IsMap()) {
      Problem(n, key, "must be a mapping");
      return false;
    }
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : n) {
      std::string k = kv.first.Scalar();
      if (!ok.count(k)) {
        Problem(kv.first, Join(key, k),
                absl::StrCat("unknown key (allowed: ", absl::StrJoin(ok, ", "), ")"));
      }
    }
    return true;
  }

  static std::string Join(const std::string& a, const std::string& b) {
    return a.empty() ? b : absl::StrCat(a, ".", b);
  }

  bool Str(const YAML::Node& parent, const char* name, const std::string& key, std::string& out,
           bool required = false) {
    YAML::Node n = parent[name];
    if (!n.IsDefined() || n.IsNull()) {
      if (required) Problem(parent, Join(key, name), "is required");
      return false;
    }
    if (!n.IsScalar()) {
      Problem(n, Join(key, name), "must be a string");
      return false;
    }
    out = n.Scalar();
    return true;
  }

  bool Int(const YAML::Node& parent, const char* name, const std::string& key, int64_t lo,
           int64_t hi, int64_t& out) {
    YAML::Node n = parent[name];
    if (!n.IsDefined() || n.IsNull()) return false;
    int64_t v;
    if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v)) {
      Problem(n, Join(key, name), "must be an integer");
      return false;
    }
    if (v < lo || v > hi) {
      Problem(n, Join(key, name), absl::StrCat("must be between ", lo, " and ", hi, ", got ", v));
      return false;
    }
    out = v;
    return true;
  }

  bool Bool(const YAML::Node& parent, const char* name, const std::string& key, bool& out) {
    YAML::Node n = parent[name];
    if (!n.IsDefined() || n.IsNull()) return false;
    std::string s = n.IsScalar() ? absl::AsciiStrToLower(n.Scalar()) : "";
    if (s == "true" || s == "yes") out = true;
    else if (s == "false" || s == "no") out = false;
    else {
      Problem(n, Join(key, name), "must be true or false");
      return false;
    }
    return true;
  }

  bool StrList(const YAML::Node& parent, const char* name, const std::string& key,
               std::vector<std::string>& out) {
    YAML::Node n = parent[name];
    if (!n.IsDefined() || n.IsNull()) return false;
    if (!n.IsSequence()) {
      Problem(n, Join(key, name), "must be a list of strings");
      return false;
    }
    for (size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) {
        Problem(n[i], absl::StrCat(Join(key, name), "[", i, "]"), "must be a string");
        continue;
      }
      out.push_back(n[i].Scalar());
    }
    return true;
  }

  bool Size(const YAML::Node& parent, const char* name, const std::string& key, uint64_t& out) {
    std::string s;
    if (!Str(parent, name, key, s)) return false;
    auto v = ParseSize(s);
    if (!v.ok()) {
      Problem(parent[name], Join(key, name), std::string(v.status().message()));
      return false;
    }
    out = *v;
    return true;
  }

  absl::Status Result() const {
    if (problems_.empty()) return absl::OkStatus();
    std::vector<std::string> lines;
    for (const auto& p : problems_) {
      lines.push_back(p.line > 0 ? absl::StrCat(file_, ":", p.line, ":", p.column, ": ", p.key, ": ", p.message)
                                 : absl::StrCat(file_, ": ", p.key, ": ", p.message));
    }
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }

 private:
  std::string file_;
  std::vector<ConfigProblem> problems_;
};

void ParseSource(Validator& v, const YAML::Node& n, const std::string& key, BackupSpec& spec,
                 std::set<std::string>& names) {
  if (!n.IsMap()) {
    v.Problem(n, key, "must be a mapping");
    return;
  }
  SourceSpec s;
  v.Str(n, "type", key, s.type, true);
  if (s.type == "mariadb") s.type = "mysql";
  if (s.type == "files") {
    v.Map(n, key, {"type", "name", "paths", "exclude"});
    if (!v.StrList(n, "paths", key, s.paths) || s.paths.empty()) {
      if (s.paths.empty()) v.Problem(n, Validator::Join(key, "paths"), "at least one path is required");
    }
    for (size_t i = 0; i < s.paths.size(); ++i) {
      if (s.paths[i].empty() || s.paths[i][0] != '/') {
        v.Problem(n["paths"][i], absl::StrCat(key, ".paths[", i, "]"), "must be an absolute path");
      }
    }
    v.StrList(n, "exclude", key, s.exclude);
  } else if (s.type == "postgres" || s.type == "mysql") {
    v.Map(n, key, {"type", "name", "host", "port", "user", "password_env", "password_file",
                   "database", "command_timeout_seconds", "extra_args"});
    v.Str(n, "host", key, s.host);
    if (s.host.empty()) s.host = "127.0.0.1";
    int64_t port = s.type == "postgres" ? 5432 : 3306;
    v.Int(n, "port", key, 1, 65535, port);
    s.port = static_cast<int>(port);
    v.Str(n, "user", key, s.user, true);
    v.Str(n, "database", key, s.database, true);
    bool has_env = v.Str(n, "password_env", key, s.password_env);
    bool has_file = v.Str(n, "password_file", key, s.password_file);
    if (has_env && has_file) {
      v.Problem(n["password_file"], Validator::Join(key, "password_file"),
                "set either password_env or password_file, not both");
    }
    v.Int(n, "command_timeout_seconds", key, 1, 7 * 86400, s.command_timeout_seconds);
    v.StrList(n, "extra_args", key, s.extra_args);
  } else if (!s.type.empty()) {
    v.Problem(n["type"], Validator::Join(key, "type"),
              absl::StrCat("unknown source type \"", s.type, "\" (files, postgres, mysql, mariadb)"));
  }
  v.Str(n, "name", key, s.name, true);
  if (!s.name.empty() && !ValidSourceName(s.name)) {
    v.Problem(n["name"], Validator::Join(key, "name"),
              "must be 1-100 characters of letters, digits, '-', '_' or '.', not starting with '.' or '-'");
  } else if (!s.name.empty() && !names.insert(s.name).second) {
    v.Problem(n["name"], Validator::Join(key, "name"), absl::StrCat("duplicate source name \"", s.name, "\""));
  }
  spec.sources.push_back(std::move(s));
}

void ParseDestination(Validator& v, const YAML::Node& n, BackupSpec& spec) {
  const std::string key = "destination";
  if (!n.IsDefined()) {
    v.Problem(n, key, "is required (one of local, sftp, s3)");
    return;
  }
  if (!n.IsMap()) {
    v.Problem(n, key, "must be a mapping");
    return;
  }
  DestinationSpec& d = spec.destination;
  v.Str(n, "type", key, d.type, true);
  if (d.type == "local") {
    v.Map(n, key, {"type", "path"});
    v.Str(n, "path", key, d.path, true);
    if (!d.path.empty() && d.path[0] != '/') v.Problem(n["path"], "destination.path", "must be an absolute path");
  } else if (d.type == "sftp") {
    v.Map(n, key, {"type", "host", "port", "user", "identity_file", "known_hosts_file", "path"});
    v.Str(n, "host", key, d.host, true);
    int64_t port = 22;
    v.Int(n, "port", key, 1, 65535, port);
    d.port = static_cast<int>(port);
    v.Str(n, "user", key, d.user, true);
    v.Str(n, "identity_file", key, d.identity_file, true);
    v.Str(n, "known_hosts_file", key, d.known_hosts_file, true);
    v.Str(n, "path", key, d.path, true);
  } else if (d.type == "s3") {
    v.Map(n, key, {"type", "endpoint", "region", "bucket", "prefix", "access_key_id",
                   "secret_access_key", "access_key_id_file", "secret_access_key_file",
                   "path_style", "part_size", "concurrency", "ca_file", "timeout_seconds"});
    v.Str(n, "endpoint", key, d.endpoint, true);
    v.Str(n, "region", key, d.region);
    if (d.region.empty()) d.region = "us-east-1";
    v.Str(n, "bucket", key, d.bucket, true);
    v.Str(n, "prefix", key, d.prefix);
    v.Str(n, "access_key_id", key, d.access_key_id);
    v.Str(n, "secret_access_key", key, d.secret_access_key);
    v.Str(n, "access_key_id_file", key, d.access_key_id_file);
    v.Str(n, "secret_access_key_file", key, d.secret_access_key_file);
    bool ps;
    if (v.Bool(n, "path_style", key, ps)) d.path_style = ps;
    if (v.Size(n, "part_size", key, d.part_size) && (d.part_size < (5ull << 20) || d.part_size > (5ull << 30))) {
      v.Problem(n["part_size"], "destination.part_size", "must be between 5MiB and 5GiB (S3 limits)");
    }
    int64_t conc = 4;
    v.Int(n, "concurrency", key, 1, 64, conc);
    d.concurrency = static_cast<int>(conc);
    int64_t timeout = d.timeout_seconds;
    v.Int(n, "timeout_seconds", key, 1, 86400, timeout);
    d.timeout_seconds = static_cast<int>(timeout);
    v.Str(n, "ca_file", key, d.ca_file);
    if (!d.endpoint.empty()) {
      // TLS verification is always on; plain http only on loopback (tests).
      auto url = ParseBaseUrl(d.endpoint, "endpoint");
      absl::Status st = url.ok() ? CheckTransportPolicy(*url, "endpoint") : url.status();
      if (!st.ok()) v.Problem(n["endpoint"], "destination.endpoint", std::string(st.message()));
    }
  } else if (!d.type.empty()) {
    v.Problem(n["type"], "destination.type", absl::StrCat("unknown destination type \"", d.type, "\" (local, sftp, s3)"));
  }
}

}  // namespace

absl::StatusOr<BackupSpec> ParseConfig(const std::string& text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg));
  }
  Validator v(path);
  BackupSpec spec;
  spec.config_path = path;
  try {
    if (!root.IsMap()) {
      v.Problem(root, "(top level)", "the config must be a YAML mapping");
      return v.Result();
    }
    v.Map(root, "", {"schedule", "sources", "destination", "encryption", "compression", "retention",
                     "verification", "heartbeat", "hooks", "performance", "staging_dir"});
    v.Str(root, "schedule", "", spec.schedule);
    v.Str(root, "staging_dir", "", spec.staging_dir);
    YAML::Node sources = root["sources"];
    if (!sources.IsDefined() || !sources.IsSequence() || sources.size() == 0) {
      v.Problem(sources.IsDefined() ? sources : root, "sources", "must be a non-empty list of sources");
    } else {
      std::set<std::string> names;
      for (size_t i = 0; i < sources.size(); ++i) {
        ParseSource(v, sources[i], absl::StrCat("sources[", i, "]"), spec, names);
      }
    }
    ParseDestination(v, root["destination"], spec);

    YAML::Node enc = root["encryption"];
    if (!enc.IsDefined() || enc.IsNull()) {
      v.Problem(root, "encryption",
                "is required: archives are always age-encrypted (set encryption.recipient)");
    } else if (v.Map(enc, "encryption", {"type", "recipient", "recipients", "identity_file"})) {
      std::string type = "age";
      v.Str(enc, "type", "encryption", type);
      if (type != "age") v.Problem(enc["type"], "encryption.type", "only \"age\" is supported");
      std::string one;
      if (v.Str(enc, "recipient", "encryption", one)) spec.recipients.push_back(one);
      v.StrList(enc, "recipients", "encryption", spec.recipients);
      v.Str(enc, "identity_file", "encryption", spec.identity_file);
      for (size_t i = 0; i < spec.recipients.size(); ++i) {
        if (!age::X25519Recipient::Parse(spec.recipients[i]).ok()) {
          YAML::Node where = enc["recipient"].IsDefined() && i == 0 ? enc["recipient"] : enc["recipients"];
          v.Problem(where, i == 0 && enc["recipient"].IsDefined() ? "encryption.recipient"
                                                                    : absl::StrCat("encryption.recipients[", i, "]"),
                    "not a valid age recipient (expected age1 followed by 58 characters)");
        }
      }
      if (spec.recipients.empty() && spec.identity_file.empty()) {
        v.Problem(enc, "encryption", "set recipient, recipients or identity_file");
      }
    }
    YAML::Node comp = root["compression"];
    if (comp.IsDefined() && !comp.IsNull() && v.Map(comp, "compression", {"type", "level"})) {
      std::string type = "zstd";
      v.Str(comp, "type", "compression", type);
      if (type != "zstd") v.Problem(comp["type"], "compression.type", "only \"zstd\" is supported");
      int64_t level = 3;
      v.Int(comp, "level", "compression", 1, 22, level);
      spec.zstd_level = static_cast<int>(level);
    }
    YAML::Node ret = root["retention"];
    if (ret.IsDefined() && !ret.IsNull() && v.Map(ret, "retention", {"keep_last"})) {
      int64_t keep = 0;
      v.Int(ret, "keep_last", "retention", 1, 100000, keep);
      spec.keep_last = static_cast<int>(keep);
    }
    YAML::Node ver = root["verification"];
    if (ver.IsDefined() && !ver.IsNull() && v.Map(ver, "verification", {"mode"})) {
      v.Str(ver, "mode", "verification", spec.verification);
      if (spec.verification != "none" && spec.verification != "size" && spec.verification != "deep") {
        v.Problem(ver["mode"], "verification.mode", "must be none, size or deep");
      }
    }
    YAML::Node hb = root["heartbeat"];
    if (hb.IsDefined() && !hb.IsNull()) {
      if (hb.IsScalar()) {
        spec.heartbeat_slug = hb.Scalar();
      } else if (v.Map(hb, "heartbeat", {"slug"})) {
        v.Str(hb, "slug", "heartbeat", spec.heartbeat_slug, true);
      }
    }
    YAML::Node hooks = root["hooks"];
    if (hooks.IsDefined() && !hooks.IsNull() && v.Map(hooks, "hooks", {"pre", "post", "timeout_seconds"})) {
      v.StrList(hooks, "pre", "hooks", spec.pre_hooks);
      v.StrList(hooks, "post", "hooks", spec.post_hooks);
      v.Int(hooks, "timeout_seconds", "hooks", 1, 86400, spec.hook_timeout_seconds);
    }
    YAML::Node perf = root["performance"];
    if (perf.IsDefined() && !perf.IsNull() && v.Map(perf, "performance", {"memory_limit", "parallelism"})) {
      if (v.Size(perf, "memory_limit", "performance", spec.memory_limit) &&
          spec.memory_limit < (2ull << 20)) {
        v.Problem(perf["memory_limit"], "performance.memory_limit", "must be at least 2MiB");
      }
      int64_t par = 0;
      v.Int(perf, "parallelism", "performance", 1, 1024, par);
      spec.parallelism = static_cast<int>(par);
    }
  } catch (const YAML::Exception& e) {
    v.Problem(root, "(config)", e.what());
  }
  if (spec.parallelism == 0) spec.parallelism = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  absl::Status st = v.Result();
  if (!st.ok()) return st;
  return spec;
}

absl::StatusOr<BackupSpec> LoadConfig(const std::string& path) {
  auto text = ReadFile(path, 4 << 20);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read config: ", text.status().message()));
  }
  return ParseConfig(*text, path);
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

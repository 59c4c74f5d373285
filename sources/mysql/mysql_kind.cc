#include "sources/mysql/mysql_kind.h"

#include <sodium.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/status_macros.h"
#include "nodes/file_sink.h"
#include "sources/db_common.h"
#include "sources/dump_source.h"
#include "sources/mysql/mysqldump.h"

namespace hab {
namespace {

// Deep verification of a mysqldump: header in the first 64 KiB, trailer at
// the end. Commit returns the bytes seen.
class SqlCheckSink : public PlainSink {
 public:
  absl::Status Write(std::span<const uint8_t> b) override {
    size_t room = head_.size() < kHead ? kHead - head_.size() : 0;
    head_.append(reinterpret_cast<const char*>(b.data()), std::min(room, b.size()));
    tail_.append(reinterpret_cast<const char*>(b.data()), b.size());
    if (tail_.size() > 2 * kTail) tail_.erase(0, tail_.size() - kTail);
    bytes_ += b.size();
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Commit() override {
    HAB_RETURN_IF_ERROR(CheckSqlDump(head_, tail_));
    return bytes_;
  }
  void Abort() noexcept override {}

 private:
  static constexpr size_t kHead = 64 << 10, kTail = 4096;
  std::string head_, tail_;
  uint64_t bytes_ = 0;
};

MysqlSourceOptions Options(const DbSettings& s) { return {s.host, s.port, s.user, s.database, s.extra_args}; }

// `mysqldump --version` once per process: MariaDB's dump rejects a flag
// Oracle MySQL's needs.
absl::StatusOr<bool> IsMariaDb() {
  static absl::Mutex mu(absl::kConstInit);
  static std::optional<absl::StatusOr<bool>> cached;
  absl::MutexLock lock(&mu);
  if (!cached.has_value()) cached = MysqldumpIsMariaDb();
  return *cached;
}

class MysqlConfig : public SourceConfig {
 public:
  MysqlConfig(std::string name, const SourceKind* kind, DbSettings s)
      : SourceConfig(std::move(name), kind), s_(std::move(s)) {}

  std::vector<std::pair<std::string, std::string>> PlanParams() const override { return DbPlanParams(s_); }

  void Preflight(PreflightReport& report, const PreflightOptions& o) const override {
    auto pw = ResolvePassword(s_.password_env, s_.password_file);
    if (!pw.ok()) {
      report.Fail("source credentials", name(), std::string(pw.status().message()));
      return;
    }
    std::vector<std::string> problems = MysqlPreflight(name(), Options(s_), *pw, o.cancel);
    sodium_memzero(pw->data(), pw->size());
    AddProblemLines(report, problems);
    if (problems.empty()) {
      report.Ok("source", absl::StrCat(name(), ": mysql ", s_.user, "@", s_.host, ":", s_.port, "/",
                                       s_.database),
                "mysqldump found, SELECT 1 ok");
    }
  }

  absl::StatusOr<std::unique_ptr<Source>> Open(const SourceOpenOptions& o) const override {
    HAB_ASSIGN_OR_RETURN(bool mariadb, IsMariaDb());
    DumpOptions d;
    d.tool = "mysqldump";
    d.argv = MysqldumpArgv(Options(s_), mariadb);
    d.timeout_seconds = s_.command_timeout_seconds;
    d.chunk_bytes = o.chunk_bytes;
    HAB_ASSIGN_OR_RETURN(std::string pw, ResolvePassword(s_.password_env, s_.password_file));
    if (!pw.empty()) d.env.push_back("MYSQL_PWD=" + pw);
    sodium_memzero(pw.data(), pw.size());
    return std::unique_ptr<Source>(std::make_unique<DumpSource>(std::move(d), o.stats));
  }

 private:
  DbSettings s_;
};

class MysqlKind : public SourceKind {
 public:
  absl::string_view type() const override { return "mysql"; }
  std::vector<absl::string_view> aliases() const override { return {"mariadb"}; }
  absl::string_view extension() const override { return "sql"; }
  absl::string_view node_kind() const override { return "mysqldump"; }
  std::unique_ptr<SourceConfig> Parse(std::string name, ConfigNode& n) const override {
    DbSettings s;
    ParseDbSettings(n, 3306, s);
    return std::make_unique<MysqlConfig>(std::move(name), this, std::move(s));
  }
  std::string RestorePath(const std::string& dir, const std::string& source) const override {
    return absl::StrCat(dir, "/", source, ".sql");
  }
  absl::StatusOr<std::unique_ptr<PlainSink>> OpenRestore(const std::string& dir,
                                                         const std::string& source) const override {
    HAB_ASSIGN_OR_RETURN(auto f, FileSink::Create(RestorePath(dir, source)));
    return std::unique_ptr<PlainSink>(std::move(f));
  }
  std::string LoadHint(const std::string& path) const override { return absl::StrCat("mysql < ", path); }
  absl::string_view restore_unit() const override { return "bytes"; }
  absl::StatusOr<std::unique_ptr<PlainSink>> OpenVerifier() const override {
    return std::unique_ptr<PlainSink>(std::make_unique<SqlCheckSink>());
  }
};

}  // namespace

const SourceKind& MysqlSourceKind() {
  static const MysqlKind kKind;
  return kKind;
}

}  // namespace hab

#include "sources/postgres/postgres_kind.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/status_macros.h"
#include "nodes/file_sink.h"
#include "sources/db_common.h"
#include "sources/dump_source.h"
#include "sources/postgres/pg_dump.h"

namespace hab {
namespace {

// Deep verification of a custom-format dump: the stream goes to two
// pg_restore children at once. `pg_restore --list` (no file argument: "-" is
// not stdin there) prints the table of contents and stops reading (EPIPE is
// fine); `pg_restore --file=/dev/null` converts the whole archive without a
// database, which fails on any truncation or damage. Commit returns the
// number of table-of-contents entries.
class PgRestoreCheckSink : public PlainSink {
 public:
  static absl::StatusOr<std::unique_ptr<PgRestoreCheckSink>> Create() {
    auto sink = std::unique_ptr<PgRestoreCheckSink>(new PgRestoreCheckSink());
    for (auto argv : {std::vector<std::string>{"pg_restore", "--list"},
                      std::vector<std::string>{"pg_restore", "--file=/dev/null"}}) {
      SpawnOptions o;
      o.argv = argv;
      o.stdin_pipe = true;
      o.tail_bytes = 1 << 20;
      o.merge_output = true;
      HAB_ASSIGN_OR_RETURN(auto c, ChildProcess::Spawn(std::move(o)));
      sink->children_.push_back(std::move(c));
    }
    return sink;
  }
  absl::Status Write(std::span<const uint8_t> b) override {
    for (auto& c : children_) HAB_RETURN_IF_ERROR(c->WriteStdin(b));
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Commit() override {
    for (auto& c : children_) c->CloseStdin();
    ExitInfo list = children_[0]->Wait(absl::Now() + absl::Minutes(10));
    ExitInfo full = children_[1]->Wait(absl::Now() + absl::Hours(6));
    std::string toc = children_[0]->Tail();
    if (!list.ok()) return absl::DataLossError("pg_restore --list: " + list.Describe() + ": " + toc);
    if (!full.ok()) {
      return absl::DataLossError("pg_restore could not read the whole dump (" + full.Describe() +
                                 "): " + children_[1]->Tail());
    }
    // TOC entries are the lines that are not comments.
    uint64_t entries = 0;
    for (absl::string_view line : absl::StrSplit(toc, '\n')) {
      if (!line.empty() && line[0] != ';') ++entries;
    }
    if (entries == 0) return absl::DataLossError("pg_restore --list: empty table of contents");
    return entries;
  }
  void Abort() noexcept override { children_.clear(); }

 private:
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

PgSourceOptions Options(const DbSettings& s) { return {s.host, s.port, s.user, s.database, s.extra_args}; }

class PostgresConfig : public SourceConfig {
 public:
  PostgresConfig(std::string name, const SourceKind* kind, DbSettings s)
      : SourceConfig(std::move(name), kind), s_(std::move(s)) {}

  std::vector<std::pair<std::string, std::string>> PlanParams() const override { return DbPlanParams(s_); }

  void Preflight(PreflightReport& report, const PreflightOptions& o) const override {
    auto pw = ResolvePassword(s_.password_env, s_.password_file);
    if (!pw.ok()) {
      report.Fail("source credentials", name(), std::string(pw.status().message()));
      return;
    }
    std::vector<std::string> problems = PgPreflight(name(), Options(s_), *pw, o.cancel);
    sodium_memzero(pw->data(), pw->size());
    AddProblemLines(report, problems);
    if (problems.empty()) {
      report.Ok("source", absl::StrCat(name(), ": postgres ", s_.user, "@", s_.host, ":", s_.port, "/",
                                       s_.database),
                "pg_dump found, server answers, SELECT 1 ok");
    }
  }

  absl::StatusOr<std::unique_ptr<Source>> Open(const SourceOpenOptions& o) const override {
    DumpOptions d;
    d.tool = "pg_dump";
    d.argv = PgDumpArgv(Options(s_));
    d.timeout_seconds = s_.command_timeout_seconds;
    d.chunk_bytes = o.chunk_bytes;
    HAB_ASSIGN_OR_RETURN(std::string pw, ResolvePassword(s_.password_env, s_.password_file));
    if (!pw.empty()) d.env.push_back("PGPASSWORD=" + pw);
    sodium_memzero(pw.data(), pw.size());
    return std::unique_ptr<Source>(std::make_unique<DumpSource>(std::move(d), o.stats));
  }

 private:
  DbSettings s_;
};

class PostgresKind : public SourceKind {
 public:
  absl::string_view type() const override { return "postgres"; }
  absl::string_view extension() const override { return "pgdump"; }
  absl::string_view node_kind() const override { return "pg_dump"; }
  std::unique_ptr<SourceConfig> Parse(std::string name, ConfigNode& n) const override {
    DbSettings s;
    ParseDbSettings(n, 5432, s);
    return std::make_unique<PostgresConfig>(std::move(name), this, std::move(s));
  }
  std::string RestorePath(const std::string& dir, const std::string& source) const override {
    return absl::StrCat(dir, "/", source, ".pgdump");
  }
  absl::StatusOr<std::unique_ptr<PlainSink>> OpenRestore(const std::string& dir,
                                                         const std::string& source) const override {
    HAB_ASSIGN_OR_RETURN(auto f, FileSink::Create(RestorePath(dir, source)));
    return std::unique_ptr<PlainSink>(std::move(f));
  }
  std::string LoadHint(const std::string& path) const override {
    return absl::StrCat("pg_restore --no-owner -d NEWDB ", path);
  }
  absl::string_view restore_unit() const override { return "bytes"; }
  absl::StatusOr<std::unique_ptr<PlainSink>> OpenVerifier() const override {
    HAB_ASSIGN_OR_RETURN(auto c, PgRestoreCheckSink::Create());
    return std::unique_ptr<PlainSink>(std::move(c));
  }
  bool verify_count_is_members() const override { return true; }
};

}  // namespace

const SourceKind& PostgresSourceKind() {
  static const PostgresKind kKind;
  return kKind;
}

}  // namespace hab

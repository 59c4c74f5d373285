#include "sources/postgres/pg_dump.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sources/db_common.h"

namespace hab {
namespace {

std::vector<std::string> ConnArgs(const PgSourceOptions& o) {
  return {"--host", o.host, "--port", std::to_string(o.port), "--username", o.user};
}

}  // namespace

std::vector<std::string> PgDumpArgv(const PgSourceOptions& o) {
  std::vector<std::string> argv = {"pg_dump", "--format=custom", "--no-owner", "--no-acl",
                                   "--no-password"};
  bool has_compress = false;
  for (const auto& a : o.extra_args) {
    if (absl::StartsWith(a, "--compress") || absl::StartsWith(a, "-Z")) has_compress = true;
  }
  if (!has_compress) argv.push_back("--compress=0");
  for (auto& a : ConnArgs(o)) argv.push_back(a);
  for (const auto& a : o.extra_args) argv.push_back(a);
  argv.push_back("--dbname");
  argv.push_back(o.database);
  return argv;
}

std::vector<std::string> PgPreflight(const std::string& source, const PgSourceOptions& o,
                                     const std::string& password,
                                     const std::atomic<bool>* cancel) {
  std::vector<std::string> problems;
  if (!RequireTools(source, {"pg_dump", "pg_isready", "psql"}, "apt-get install postgresql-client", problems)) {
    return problems;
  }
  std::vector<std::string> ready = {"pg_isready", "--quiet", "--dbname", o.database};
  for (auto& a : ConnArgs(o)) ready.push_back(a);
  auto r = RunProbe(ready, {}, 15, cancel);
  if (!r.ok() || !r->exit.ok()) {
    problems.push_back(absl::StrCat("source connect: ", source, ": pg_isready ", o.host, ":", o.port,
                                    " failed (", r.ok() ? r->exit.Describe() : std::string(r.status().message()),
                                    ")"));
    return problems;
  }
  std::vector<std::string> psql = {"psql", "-X", "--no-password", "--quiet", "--tuples-only",
                                   "--command", "SELECT 1", "--dbname", o.database};
  for (auto& a : ConnArgs(o)) psql.push_back(a);
  std::vector<std::string> env;
  if (!password.empty()) env.push_back("PGPASSWORD=" + password);
  auto q = RunProbe(psql, env, 30, cancel);
  if (!q.ok() || !q->exit.ok()) {
    problems.push_back(absl::StrCat("source credentials: ", source, ": SELECT 1 as ", o.user, "@",
                                    o.host, ":", o.port, "/", o.database, " failed: ",
                                    q.ok() ? q->output : std::string(q.status().message())));
  }
  return problems;
}

}  // namespace hab

#include "sources/mysql/mysqldump.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sources/db_common.h"

namespace hab {
namespace {

std::vector<std::string> ConnArgs(const MysqlSourceOptions& o) {
  return {"--host=" + o.host, "--port=" + std::to_string(o.port), "--user=" + o.user};
}

}  // namespace

absl::StatusOr<bool> MysqldumpIsMariaDb() {
  auto r = RunProbe({"mysqldump", "--version"}, {}, 15);
  if (!r.ok()) return r.status();
  if (!r->exit.ok()) return absl::UnavailableError("mysqldump --version failed: " + r->output);
  return absl::StrContains(r->output, "MariaDB");
}

std::vector<std::string> MysqldumpArgv(const MysqlSourceOptions& o, bool mariadb) {
  std::vector<std::string> argv = {"mysqldump", "--no-defaults"};
  for (auto& a : ConnArgs(o)) argv.push_back(a);
  for (const char* f : {"--single-transaction", "--quick", "--routines", "--triggers", "--events",
                        "--hex-blob", "--default-character-set=utf8mb4"}) {
    argv.push_back(f);
  }
  if (!mariadb) argv.push_back("--set-gtid-purged=OFF");
  for (const auto& a : o.extra_args) argv.push_back(a);
  argv.push_back("--databases");
  argv.push_back(o.database);
  return argv;
}

std::vector<std::string> MysqlPreflight(const std::string& source, const MysqlSourceOptions& o,
                                        const std::string& password,
                                        const std::atomic<bool>* cancel) {
  std::vector<std::string> problems;
  if (!RequireTools(source, {"mysqldump", "mysql"}, "apt-get install mariadb-client", problems)) return problems;
  std::vector<std::string> argv = {"mysql", "--no-defaults"};
  for (auto& a : ConnArgs(o)) argv.push_back(a);
  argv.insert(argv.end(), {"--batch", "--skip-column-names", "-e", "SELECT 1", o.database});
  std::vector<std::string> env;
  if (!password.empty()) env.push_back("MYSQL_PWD=" + password);
  auto r = RunProbe(argv, env, 30, cancel);
  if (!r.ok() || !r->exit.ok()) {
    problems.push_back(absl::StrCat("source credentials: ", source, ": SELECT 1 as ", o.user, "@",
                                    o.host, ":", o.port, "/", o.database, " failed: ",
                                    r.ok() ? r->output : std::string(r.status().message())));
  }
  return problems;
}

absl::Status CheckSqlDump(const std::string& head, const std::string& tail) {
  // MariaDB 10.11 starts with "/*M!999999\- enable the sandbox mode */", then
  // "-- MariaDB dump"; MySQL starts with "-- MySQL dump".
  bool header = absl::StrContains(head.substr(0, 4096), "-- MySQL dump") ||
                absl::StrContains(head.substr(0, 4096), "-- MariaDB dump");
  if (!header) return absl::DataLossError("not a mysqldump file (no MySQL/MariaDB dump header)");
  if (!absl::StrContains(tail, "-- Dump completed")) {
    return absl::DataLossError("dump is incomplete (no \"-- Dump completed\" trailer)");
  }
  return absl::OkStatus();
}

}  // namespace hab

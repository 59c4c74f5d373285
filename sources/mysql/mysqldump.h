// MySQL / MariaDB source: `mysqldump --single-transaction --quick --routines
// --triggers --events --hex-blob` streamed through DumpSource.
//
// --set-gtid-purged=OFF is added only for Oracle MySQL's mysqldump: MariaDB's
// rejects the flag (exit 7), so the flavour is read from `mysqldump
// --version`. --no-defaults keeps option files (which could override
// MYSQL_PWD) out of the way; the charset is pinned to utf8mb4. --databases
// puts CREATE DATABASE/USE in the dump, so `mysql < dump.sql` restores it.
#pragma once

#include <string>
#include <vector>

#include "sources/dump_source.h"

namespace hab {

struct MysqlSourceOptions {
  std::string host;
  int port = 3306;
  std::string user;
  std::string database;
  std::vector<std::string> extra_args;
};

// Runs `mysqldump --version`: true for MariaDB, false for Oracle MySQL.
absl::StatusOr<bool> MysqldumpIsMariaDb();
std::vector<std::string> MysqldumpArgv(const MysqlSourceOptions& o, bool mariadb);
std::vector<std::string> MysqlPreflight(const std::string& source, const MysqlSourceOptions& o,
                                        const std::string& password,
                                     const std::atomic<bool>* cancel = nullptr);
// First-64-KiB header check for MySQL and MariaDB dumps (MariaDB's first
// line is a sandbox comment) plus the "Dump completed" trailer.
absl::Status CheckSqlDump(const std::string& head, const std::string& tail);

}  // namespace hab

// PostgreSQL source: `pg_dump --format=custom --no-owner --no-acl` streamed
// through DumpSource, and its checks.
//
// --compress=0 is added unless extra_args sets a compression (--compress,
// -Z): zstd follows, and a zlib-compressed dump is close to incompressible
// (the product page measured an 11x smaller archive). The password reaches
// pg_dump only as PGPASSWORD in its environment; --no-password makes it fail
// instead of prompting.
#pragma once

#include <string>
#include <vector>

#include "sources/dump_source.h"

namespace hab {

struct PgSourceOptions {
  std::string host;
  int port = 5432;
  std::string user;
  std::string database;
  std::vector<std::string> extra_args;
};

std::vector<std::string> PgDumpArgv(const PgSourceOptions& o);

// pg_dump and pg_isready in $PATH, pg_isready answers, and a `SELECT 1`
// through psql with the same credentials succeeds. One line per problem.
std::vector<std::string> PgPreflight(const std::string& source, const PgSourceOptions& o,
                                     const std::string& password,
                                     const std::atomic<bool>* cancel = nullptr);

}  // namespace hab

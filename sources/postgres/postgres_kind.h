// The `postgres` source kind: `pg_dump --format=custom` streamed
// (sources/postgres/pg_dump.h), restored to DIR/<source>.pgdump, deep-
// verified by pg_restore.
#pragma once

#include "sources/source_kind.h"

namespace hab {

const SourceKind& PostgresSourceKind();

}  // namespace hab

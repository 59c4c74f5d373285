// The `mysql` source kind (alias `mariadb`): mysqldump streamed
// (sources/mysql/mysqldump.h), restored to DIR/<source>.sql, deep-verified
// by the dump's header and trailer.
#pragma once

#include "sources/source_kind.h"

namespace hab {

const SourceKind& MysqlSourceKind();

}  // namespace hab

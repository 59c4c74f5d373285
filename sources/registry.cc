#include "sources/registry.h"

#include "absl/strings/str_join.h"
#include "sources/files/files_kind.h"
#include "sources/mysql/mysql_kind.h"
#include "sources/postgres/postgres_kind.h"

namespace hab {

std::vector<const SourceKind*> SourceKinds() {
  return {
      &FilesSourceKind(),
      &PostgresSourceKind(),
      &MysqlSourceKind(),
  };
}

const SourceKind* FindSourceKind(absl::string_view type) {
  for (const SourceKind* k : SourceKinds()) {
    if (k->type() == type) return k;
    for (absl::string_view a : k->aliases()) {
      if (a == type) return k;
    }
  }
  return nullptr;
}

const SourceKind* FindSourceKindByExtension(absl::string_view extension) {
  for (const SourceKind* k : SourceKinds()) {
    if (k->extension() == extension) return k;
  }
  return nullptr;
}

std::string SourceTypeList() {
  std::vector<std::string> names;
  for (const SourceKind* k : SourceKinds()) {
    names.emplace_back(k->type());
    for (absl::string_view a : k->aliases()) names.emplace_back(a);
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace hab

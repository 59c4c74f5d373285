// The source kinds this build knows, by config `type:` (aliases included)
// and by archive extension. Adding a kind: a folder under sources/ and one
// line in registry.cc.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "sources/source_kind.h"

namespace hab {

const SourceKind* FindSourceKind(absl::string_view type);
const SourceKind* FindSourceKindByExtension(absl::string_view extension);
std::vector<const SourceKind*> SourceKinds();
// "files, postgres, mysql, mariadb" for messages.
std::string SourceTypeList();

}  // namespace hab

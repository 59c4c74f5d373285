// The `files` source kind: a tree (or several) as one pax tar stream
// (sources/files/tar.h), restored into DIR/<source>/.
#pragma once

#include "sources/source_kind.h"

namespace hab {

const SourceKind& FilesSourceKind();

}  // namespace hab

// The `sftp` destination kind: a folder on an SFTP server, host key always
// verified against known_hosts_file.
#pragma once

#include "destinations/destination_kind.h"

namespace hab {

const DestinationKind& SftpDestinationKind();

}  // namespace hab

// auth.yml: the HostAtlas login of this host (docs/hostatlas.md).
//
//   api_url: https://api.hostatlas.app
//   api_key: ha_...
//   key_id: key_...
//   account: Example Ltd
//   created_at: 2026-11-29T03:00:00Z
//
// Where: --auth-file PATH, else $HOSTATLAS_AUTH_FILE, else
// /etc/hostatlas/backup/auth.yml as root, $XDG_CONFIG_HOME/hostatlas/backup/
// auth.yml otherwise (~/.config when unset).
//
// Read only when it is a regular file (not a symlink) owned by this user
// that group and others cannot access (the message says `chmod 600 PATH`).
// Written atomically: a 0600 temp file in the same directory (created
// exclusively, never through a symlink), fsync, rename, fsync of the
// directory; the directory is created 0700 and must not be writable by
// anyone else.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "engine/secret_bytes.h"

namespace hab::hostatlas {

struct AuthFile {
  std::string api_url;
  SecretString api_key;
  std::string key_id;
  std::string account;
  std::string created_at;
};

// The path in force (see above); kFailedPrecondition for a non-root user
// without HOME or XDG_CONFIG_HOME.
absl::StatusOr<std::string> AuthFilePath(const std::string& flag);

// kUse: to use the key. kRevoke (logout): a file others could read is
// still read, so that a key that may have leaked can be revoked.
enum class AuthFileUse { kUse, kRevoke };

// kNotFound when there is no file (not logged in); kPermissionDenied for
// a file others can read (kUse) or that is not ours or not a regular file;
// kInvalidArgument for one we cannot read (the message names the path and
// the line, never its text).
absl::StatusOr<AuthFile> LoadAuthFile(const std::string& path, AuthFileUse use = AuthFileUse::kUse);

// Creates the directory (0700) and checks that nobody else can write it:
// login calls it before the user approves anything. Removes temp files of
// logins that were killed (they may hold a key).
absl::Status PrepareAuthDirectory(const std::string& path);

absl::Status WriteAuthFile(const std::string& path, const AuthFile& auth);

// Removes the file; kNotFound when there was none.
absl::Status RemoveAuthFile(const std::string& path);

}  // namespace hab::hostatlas

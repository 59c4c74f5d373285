// Small POSIX helpers returning absl::Status with the operation, the path
// and strerror in the message.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hab {

// Maps errno to a status code: ENOENT -> kNotFound, EACCES/EPERM ->
// kPermissionDenied, ENOSPC/EDQUOT -> kResourceExhausted, EEXIST ->
// kAlreadyExists, EINTR/EAGAIN/EIO -> kUnavailable, else kInternal.
absl::Status ErrnoStatus(int err, absl::string_view op, absl::string_view path);
absl::Status WriteAll(int fd, std::span<const uint8_t> bytes, absl::string_view path);
// Reads up to `max_bytes`; longer files are kOutOfRange.
absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = 16 << 20);
// ReadFile for a file holding a secret: refused (kPermissionDenied, with a
// `chmod 600` hint) if group or others have any access. `what` names the
// config key in messages ("password_file").
absl::StatusOr<std::string> ReadPrivateFile(const std::string& path, absl::string_view what,
                                            size_t max_bytes = 4096);
absl::Status FsyncDir(const std::string& dir);
absl::Status MakeDirs(const std::string& path, unsigned mode = 0755);
// Writes `contents` to `path` atomically, replacing it (a PartialFile in
// kReplace mode: temp file, fsync, rename, fsync dir).
absl::Status WriteFileAtomic(const std::string& path, absl::string_view contents, unsigned mode);
// Removes `leaf` and its parents up to and including `top` while they are
// empty directories (a restore's own folders after a failure).
absl::Status RemoveEmptyDirs(const std::string& top, const std::string& leaf);
std::string Dirname(const std::string& path);
// `path` with symlinks resolved (realpath), or as given when it cannot be
// resolved (a missing file): how run logs, status, locks' records and the
// schedule files name a config.
std::string RealPathOr(const std::string& path);
std::string Basename(const std::string& path);
// "2026-11-26T05:16:23Z" / "20261126T051623Z" / "2026-11-26", UTC.
std::string Rfc3339Utc(int64_t unix_seconds);
std::string CompactUtc(int64_t unix_seconds);
std::string DateUtc(int64_t unix_seconds);
// True when `s` is exactly what CompactUtc / DateUtc give for some time: a
// real date and time (no month 13, no February 30, no 25:00).
bool ValidCompactUtc(absl::string_view s);
bool ValidDateUtc(absl::string_view s);

}  // namespace hab

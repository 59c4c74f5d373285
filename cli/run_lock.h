// RunLock: the per-config single-instance lock of `run` and `restore`.
//
// flock(LOCK_EX | LOCK_NB) on "<dir>/hostatlas-backup-<config-stem>.lock";
// the kernel releases it when the process dies however it dies. The file
// names the holder ("pid N started RFC3339 command C config PATH"), so a collision
// message names the PID, the start time and the colliding config's path
// (two configs with the same file name in different directories share a
// lock: the product page's rule is the stem).
//
// Nobody else can plant, hold or forge the lock:
//  - the directory is root's own /run/hostatlas-backup (0700) as root,
//    $XDG_RUNTIME_DIR otherwise, else a private /tmp/hostatlas-backup-<uid>
//    (0700); HOSTATLAS_BACKUP_LOCK_DIR overrides (tests). The directory must
//    be owned by us and writable by nobody else, or be a root-owned sticky
//    directory; anything else is refused (kFailedPrecondition);
//  - the file is opened with O_NOFOLLOW relative to the checked directory,
//    and refused unless it is a regular file owned by us with one link.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "engine/unique_fd.h"

namespace hab::cli {

class RunLock {
 public:
  // The lock directory this process uses (not created).
  static std::string Directory();
  static std::string PathFor(const std::string& config_path);
  // kUnavailable on a collision (the message names the holder);
  // kFailedPrecondition for an unsafe directory or file; other codes for
  // I/O errors.
  // `command`: "run", "restore", "verify" (recorded in the file).
  absl::Status Acquire(const std::string& config_path, const char* command = "run");

  // What the lock file of `config_path` records of the last command that
  // took it (read only: never locks, never creates). nullopt: none, or a
  // file or directory that fails the checks above.
  struct Record {
    int64_t pid = 0;
    std::string started;  // RFC 3339
    std::string command;
    std::string config;
    bool running = false;  // that pid lives and started just before the lock was taken
  };
  static std::optional<Record> Peek(const std::string& config_path);

 private:
  UniqueFd fd_;  // closing it releases the lock
};

}  // namespace hab::cli

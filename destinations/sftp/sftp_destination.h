// SftpDestination: archives on an SFTP server (OpenSSH's internal-sftp or
// sftp-server), over libssh2 (destinations/sftp/ssh_connection.h).
//
// A writer has its own SSH connection (sessions are not thread-safe) and
// writes "<key>.partial" (created exclusively, mode 0600), pipelined: a
// write call hands libssh2 a whole chunk, which keeps many SFTP writes in
// flight. Commit sends fsync@openssh.com where the server offers it,
// closes the file, refuses if the final name exists, and renames with
// posix-rename@openssh.com (rename(2) on the server: atomic), or, where the
// server lacks it, plain SFTP rename (our names are new, so nothing is
// overwritten). Abort (and the destructor) removes the .partial, best
// effort; a .partial left by a killed run is an orphan the next run sweeps.
//
// Readers have their own connection too and read large blocks (libssh2
// reads ahead, several requests in flight). List, stat, remove and the
// probe share one control connection, opened on first use.
#pragma once

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "destinations/sftp/ssh_connection.h"
#include "engine/destination.h"

namespace hab {

class SftpDestination : public Destination {
 public:
  // `root`: the expanded path (absolute, or relative to the login folder).
  SftpDestination(SshTarget target, std::string root)
      : target_(std::move(target)), root_(std::move(root)) {}
  std::string Describe() const override;
  absl::StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& key,
                                                       const WriteOptions& options = {}) override;
  absl::StatusOr<std::unique_ptr<ObjectReader>> Open(const std::string& key,
                                                     const ReadOptions& options = {}) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::StatusOr<ObjectInfo> Stat(const std::string& key) override;
  absl::Status Remove(const std::string& key) override;
  // Connects, verifies the host key, authenticates; with `create`, makes
  // the folder and writes and removes a probe file; without, checks that
  // the folder (or its nearest existing parent) is there.
  absl::Status Probe(bool create) override;
  absl::StatusOr<uint64_t> FreeBytes() override;  // statvfs@openssh.com
  absl::StatusOr<std::vector<ObjectInfo>> ListOrphans(const OrphanFilter& filter) override;
  absl::Status RemoveOrphan(const ObjectInfo& orphan) override;
  // Known_hosts lines that could not be read (pre-flight warns).
  std::vector<std::string> TakeWarnings() override;

 private:
  std::string Path(const std::string& key) const;
  absl::StatusOr<SshConnection*> Control() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Walk(SshConnection& c, const std::string& folder, int depth, const std::string& prefix,
                    std::vector<ObjectInfo>& out);

  SshTarget target_;
  std::string root_;
  absl::Mutex mu_;
  std::unique_ptr<SshConnection> control_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> warnings_ ABSL_GUARDED_BY(mu_);
};

// mkdir -p of `path` over `c` (existing folders are fine).
absl::Status SftpMakeDirs(SshConnection& c, const std::string& path);

}  // namespace hab

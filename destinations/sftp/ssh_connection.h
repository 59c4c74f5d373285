// SshConnection: one SSH session with SFTP (libssh2 >= 1.11.1), for the
// sftp destination kind.
//
// Open() resolves the host (on a thread of its own: cancellable, bounded),
// connects (each address gets its share of the timeout), runs the
// handshake offering only modern algorithms (strict key exchange against
// Terrapin comes with 1.11.1) and only the host-key types known_hosts holds
// for this host:port, verifies the host key (always: there is no way to
// skip it), authenticates (key file, with a passphrase file if given, or a
// password), and starts SFTP. Every step names itself in its error:
// "DNS", "connect", "host key", "authentication", "sftp".
//
// Everything runs in non-blocking mode through Call(), which waits on the
// socket in short slices: no wait lasts longer than `timeout_seconds`
// without progress, and cancellation (SIGINT/SIGTERM) ends it within about
// 100 ms. TCP keepalive is on (15 s idle, 3 probes 5 s apart), which
// keeps NAT state alive on an idle connection. No SSH keepalive is sent:
// while data flows the transfer itself shows the link is alive (a dead
// one fails the wait), and libssh2 cannot send one safely mid-stream (a
// keepalive that only partly fits the socket buffer is left pending and
// wedges every later packet of the session).
//
// One connection per thread: libssh2 sessions are not thread-safe. The
// destructor closes SFTP and the session without waiting for a dead peer.
#pragma once

#include <libssh2.h>
#include <libssh2_sftp.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/unique_fd.h"

namespace hab {

static_assert(LIBSSH2_VERSION_NUM >= 0x010b01, "libssh2 >= 1.11.1 is needed (scripts/deps/libssh2.sh)");

struct SshTarget {
  std::string host;
  int port = 22;
  std::string user;
  std::string known_hosts_file;
  std::string identity_file;
  std::string identity_passphrase_file;
  std::string password_file;
  std::string password_env;
  int timeout_seconds = 30;
  bool preflight = false;  // timeout_seconds was capped to the pre-flight bound
  const std::atomic<bool>* cancel = nullptr;
  // "backup@host:22", for messages.
  std::string Describe() const;
  // The folder `root` on this server as an sftp URL, for the plan, status
  // and list: "sftp://backup@host:22/srv/backups", and "/~/" before a
  // path relative to the login folder ("sftp://backup@host:22/~/backups").
  std::string Location(const std::string& root) const;
};

// What known_hosts holds for one host:port.
struct KnownHostKeys {
  std::vector<std::string> types;     // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
  std::vector<std::string> warnings;  // lines that could not be read (skipped)
  std::vector<std::string> keys;      // the key blobs of the matching lines
  std::vector<std::string> revoked;   // key blobs of matching @revoked lines
};
// Reads `path` and keeps the keys for host:port (plain patterns with
// wildcards and negation, "[host]:port" for a port other than 22, hashed
// "|1|salt|hash" entries) and the @revoked keys for it; @cert-authority
// lines are skipped.
absl::StatusOr<KnownHostKeys> ReadKnownHosts(const std::string& path, const std::string& host, int port);

class SshConnection {
 public:
  // `warnings` receives skipped known_hosts lines (may be null).
  static absl::StatusOr<std::unique_ptr<SshConnection>> Open(const SshTarget& target,
                                                             std::vector<std::string>* warnings = nullptr);
  ~SshConnection();
  SshConnection(const SshConnection&) = delete;
  SshConnection& operator=(const SshConnection&) = delete;

  LIBSSH2_SESSION* session() const { return session_; }
  LIBSSH2_SFTP* sftp() const { return sftp_; }
  const SshTarget& target() const { return target_; }

  // Repeats `op` (a libssh2 call) while it answers LIBSSH2_ERROR_EAGAIN,
  // waiting on the socket; returns its final result (>= 0 success for the
  // int-returning calls), or the wait's failure (timeout, cancelled, socket).
  template <class F>
  absl::StatusOr<long> Call(const char* what, F op) {
    return CallFor(what, op, absl::Seconds(target_.timeout_seconds), true);
  }
  // Cleanup after a failure or a signal (close, remove the .partial): not
  // cancellable (a signal is why we clean up), bounded by `limit`, and not
  // tried at all once the connection is known to be dead.
  template <class F>
  absl::StatusOr<long> Cleanup(const char* what, F op) {
    if (broken_) return absl::UnavailableError(absl::StrCat(what, ": the connection is gone"));
    return CallFor(what, op, std::min(absl::Seconds(target_.timeout_seconds), absl::Seconds(5)), false);
  }
  template <class F>
  absl::StatusOr<long> CallFor(const char* what, F op, absl::Duration limit, bool cancellable) {
    absl::Time deadline = absl::Now() + limit;
    while (true) {
      long rc = static_cast<long>(op());
      if (rc != LIBSSH2_ERROR_EAGAIN) {
        if (rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
            rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT) {
          broken_ = true;
        }
        return rc;
      }
      if (absl::Status st = Wait(what, deadline, cancellable); !st.ok()) {
        // A request half sent or unanswered: the session cannot be trusted
        // with another one.
        broken_ = true;
        return st;
      }
    }
  }
  // A wait timed out, was cancelled or the socket failed.
  bool broken() const { return broken_; }
  // The same for calls that return a pointer (NULL with EAGAIN: again).
  template <class T, class F>
  absl::StatusOr<T*> CallPtr(const char* what, F op) {
    absl::Time deadline = absl::Now() + absl::Seconds(target_.timeout_seconds);
    while (true) {
      T* p = op();
      if (p != nullptr) return p;
      int err = libssh2_session_last_errno(session_);
      if (err != LIBSSH2_ERROR_EAGAIN) return Error(what, err);
      if (absl::Status st = Wait(what, deadline, true); !st.ok()) {
        broken_ = true;
        return st;
      }
    }
  }
  // The status for a failed call: the SFTP status code where there is one
  // (no such file, permission, no space, ...), else the session's error,
  // with the operation and the server in the message.
  absl::Status Error(const std::string& what, long rc) const;

 private:
  explicit SshConnection(SshTarget t) : target_(std::move(t)) {}
  absl::Status Wait(const char* what, absl::Time deadline, bool cancellable);
  absl::Status Connect();
  absl::Status Handshake(const KnownHostKeys& known);
  absl::Status VerifyHostKey(const KnownHostKeys& known);
  absl::Status Authenticate();

  SshTarget target_;
  UniqueFd fd_;
  LIBSSH2_SESSION* session_ = nullptr;
  LIBSSH2_SFTP* sftp_ = nullptr;
  bool broken_ = false;
};

}  // namespace hab

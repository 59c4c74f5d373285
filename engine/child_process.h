// ChildProcess: a spawned program in its own process group.
//
// Spawned without a shell (argv as given; hooks pass {"/bin/sh", "-c", cmd}
// explicitly), with extra environment variables (how secrets such as
// PGPASSWORD reach a child: never argv). stdout is a pipe the caller reads;
// stderr (or both, with merge_output) is drained by a thread into a bounded
// tail kept for error messages and run logs.
//
// Ownership: if nobody reaped the child, the destructor sends SIGTERM to the
// whole group, SIGKILL after a grace period, and reaps it. Wait() with a
// timeout kills the group the same way when the deadline passes, or when
// the run is cancelled (SIGINT/SIGTERM to us).
//
// The child gets PR_SET_PDEATHSIG(SIGKILL): if we die without cleaning up
// (kill -9, OOM), the kernel kills it, so no dump keeps a database
// connection open for nothing. The signal follows the *thread* that
// spawned the child, so a child must be spawned by a thread that outlives
// it (producer threads wait for their dump; hooks and probes run on the
// main thread). It reaches the child itself, not processes the child
// forked; with supervise_group (hooks: `sh -c "a | b"` forks) the child is
// a supervisor that forks the program, ignores TERM and INT (so a group
// TERM reaches the program gracefully), exits with the program's status,
// and on our death SIGKILLs the whole group.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/unique_fd.h"

namespace hab {

struct SpawnOptions {
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // "NAME=value"; wiped after the spawn
  bool merge_output = false;           // stdout and stderr into the tail
  bool stdin_pipe = false;             // else stdin is /dev/null
  size_t tail_bytes = 4096;
  // For shell commands (hooks) whose own children would outlive us: the
  // child stays a small supervisor that runs the program as its own child
  // and, when we die, kills the whole process group (see the header).
  bool supervise_group = false;
};

struct ExitInfo {
  bool exited = false;     // normal exit
  int code = -1;           // exit code when exited
  int signal = 0;          // terminating signal otherwise
  bool timed_out = false;  // we killed it at the deadline
  bool cancelled = false;  // we killed it because the run was cancelled
  bool ok() const { return exited && code == 0 && !timed_out && !cancelled; }
  std::string Describe() const;
};

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(SpawnOptions options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True when stdout has data or EOF within `timeout_ms`.
  bool PollStdout(int timeout_ms);
  // Reads the child's stdout (not with merge_output). 0 at end of file.
  absl::StatusOr<size_t> Read(std::span<uint8_t> out);
  // Writes to the child's stdin (stdin_pipe). A child that stopped reading
  // (EPIPE) is not an error here: its exit status tells.
  absl::Status WriteStdin(std::span<const uint8_t> bytes);
  void CloseStdin() { stdin_.reset(); }
  // Waits for exit; at `deadline`, or as soon as `*cancel` is true, kills
  // the group (TERM, then KILL after a grace period).
  ExitInfo Wait(absl::Time deadline = absl::InfiniteFuture(),
                const std::atomic<bool>* cancel = nullptr);
  static constexpr absl::Duration kKillGrace = absl::Seconds(5);
  // Sends `sig` to the whole process group (safe from another thread).
  void Signal(int sig);
  std::string Tail() const;

 private:
  ChildProcess() = default;
  void DrainTail(int fd);

  pid_t pid_ = -1;
  std::atomic<bool> reaped_{false};
  std::atomic<bool> stop_tail_{false};
  UniqueFd stdout_;
  UniqueFd stdin_;
  bool stdin_closed_by_child_ = false;
  std::thread tail_thread_;
  size_t tail_limit_ = 4096;
  mutable absl::Mutex mu_;
  std::string tail_ ABSL_GUARDED_BY(mu_);
};

// Resolves a program name through $PATH (names with '/' are checked as is).
bool FindInPath(const std::string& program, std::string* full_path = nullptr);

}  // namespace hab

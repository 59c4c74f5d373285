#include "engine/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/file_util.h"

extern char** environ;

namespace hab {

std::string ExitInfo::Describe() const {
  if (cancelled) return "killed: the run was cancelled";
  if (timed_out) return "killed after the timeout";
  if (exited) return absl::StrCat("exit code ", code);
  return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
}

bool FindInPath(const std::string& program, std::string* full_path) {
  auto executable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    if (full_path) *full_path = program;
    return executable(program);
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", program);
    if (executable(candidate)) {
      if (full_path) *full_path = candidate;
      return true;
    }
  }
  return false;
}

namespace {

// In the forked child, before exec: only async-signal-safe calls.
void KillGroupOnParentDeath(int) {
  ::kill(0, SIGKILL);  // our whole process group, ourselves included
  ::_exit(137);
}

// Becomes the supervisor described in the header; never returns.
[[noreturn]] void SuperviseAndExec(const char* program, char* const argv[], char* const envp[]) {
  struct sigaction sa = {};
  sa.sa_handler = KillGroupOnParentDeath;
  ::sigaction(SIGUSR1, &sa, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
  pid_t program_pid = ::fork();
  if (program_pid == 0) {
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGUSR1, &dfl, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the supervisor died (KILL): go too
    ::execve(program, argv, envp);
    ::_exit(127);
  }
  if (program_pid < 0) ::_exit(127);
  struct sigaction ign = {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGTERM, &ign, nullptr);
  ::sigaction(SIGINT, &ign, nullptr);
  int status = 0;
  while (::waitpid(program_pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
  // Die the way the program died, so our parent sees the same signal.
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(sig, &dfl, nullptr);
  ::kill(::getpid(), sig);
  ::_exit(128 + sig);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(SpawnOptions options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("spawn: empty argv");
  std::string program;
  if (!FindInPath(options.argv[0], &program)) {
    return absl::NotFoundError(absl::StrCat(options.argv[0], ": not found in $PATH"));
  }
  // Everything the child needs is built before fork: after fork only
  // async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (auto& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view kv(*e);
    bool overridden = false;
    for (const auto& x : options.extra_env) {
      size_t eq = x.find('=');
      if (kv.substr(0, eq + 1) == absl::string_view(x).substr(0, eq + 1)) overridden = true;
    }
    if (!overridden) env_storage.emplace_back(kv);
  }
  for (auto& x : options.extra_env) env_storage.push_back(x);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in_pipe[2] = {-1, -1};
  if (options.stdin_pipe && ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    return ErrnoStatus(errno, "pipe", options.argv[0]);
  }
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe", options.argv[0]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return ErrnoStatus(errno, "pipe", options.argv[0]);
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    // Dies with us (see the header); if we are gone already, do not start.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (in_pipe[0] >= 0) {
      ::dup2(in_pipe[0], 0);
    } else {
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
    }
    ::dup2(options.merge_output ? err_pipe[1] : out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    struct sigaction sa = {};
    sa.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    if (options.supervise_group) SuperviseAndExec(program.c_str(), argv.data(), envp.data());
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  int spawn_errno = errno;
  // Secrets passed through the environment do not linger in our memory.
  for (auto& x : options.extra_env) sodium_memzero(x.data(), x.size());
  for (auto& e : env_storage) sodium_memzero(e.data(), e.size());
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (in_pipe[0] >= 0) ::close(in_pipe[0]);
  if (pid < 0) {
    if (in_pipe[1] >= 0) ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return ErrnoStatus(spawn_errno, "fork for", options.argv[0]);
  }
  ::setpgid(pid, pid);  // also from the parent: no race with an early Signal()
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess());
  child->pid_ = pid;
  child->tail_limit_ = options.tail_bytes;
  if (in_pipe[1] >= 0) child->stdin_.reset(in_pipe[1]);
  if (options.merge_output) {
    ::close(out_pipe[0]);
  } else {
    // A 1 MiB pipe (the default is 64 KiB) lets a fast dump tool run ahead
    // with far fewer context switches; best effort (capped by pipe-max-size).
    ::fcntl(out_pipe[0], F_SETPIPE_SZ, 1 << 20);
    child->stdout_.reset(out_pipe[0]);
  }
  int err_fd = err_pipe[0];
  child->tail_thread_ = std::thread([c = child.get(), err_fd] { c->DrainTail(err_fd); });
  return child;
}

void ChildProcess::DrainTail(int fd) {
  char buf[4096];
  while (true) {
    // Poll so a grandchild that keeps the pipe open (a daemonizing hook)
    // cannot keep us here after the child itself was reaped.
    struct pollfd p = {fd, POLLIN, 0};
    int pr = ::poll(&p, 1, 100);
    if (pr == 0) {
      if (stop_tail_.load()) break;
      continue;
    }
    if (pr < 0 && errno == EINTR) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    absl::MutexLock lock(&mu_);
    tail_.append(buf, static_cast<size_t>(n));
    if (tail_.size() > 2 * tail_limit_) tail_.erase(0, tail_.size() - tail_limit_);
  }
  ::close(fd);
}

std::string ChildProcess::Tail() const {
  absl::MutexLock lock(&mu_);
  if (tail_.size() <= tail_limit_) return tail_;
  return tail_.substr(tail_.size() - tail_limit_);
}

bool ChildProcess::PollStdout(int timeout_ms) {
  if (!stdout_) return true;
  struct pollfd p = {stdout_.get(), POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) != 0;
}

absl::StatusOr<size_t> ChildProcess::Read(std::span<uint8_t> out) {
  if (!stdout_) return absl::FailedPreconditionError("child stdout is not a pipe");
  while (true) {
    ssize_t n = ::read(stdout_.get(), out.data(), out.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoStatus(errno, "read from", absl::StrCat("pid ", pid_));
  }
}

absl::Status ChildProcess::WriteStdin(std::span<const uint8_t> bytes) {
  if (stdin_closed_by_child_) return absl::OkStatus();
  if (!stdin_) return absl::FailedPreconditionError("child stdin is not a pipe");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(stdin_.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) {
      stdin_closed_by_child_ = true;  // e.g. `pg_restore --list` reads only the TOC
      return absl::OkStatus();
    }
    if (n < 0) return ErrnoStatus(errno, "write to", absl::StrCat("pid ", pid_));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void ChildProcess::Signal(int sig) {
  if (!reaped_.load() && pid_ > 0) ::kill(-pid_, sig);
}

ExitInfo ChildProcess::Wait(absl::Time deadline, const std::atomic<bool>* cancel) {
  ExitInfo info;
  int status = 0;
  bool killed = false;
  absl::Time kill_at = absl::InfiniteFuture();
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) break;
    absl::Time now = absl::Now();
    bool cancelled = cancel != nullptr && cancel->load();
    if (!killed && (now >= deadline || cancelled)) {
      (cancelled ? info.cancelled : info.timed_out) = true;
      killed = true;
      Signal(SIGTERM);
      kill_at = now + kKillGrace;
    } else if (killed && now >= kill_at) {
      Signal(SIGKILL);
      kill_at = absl::InfiniteFuture();
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  // After a timeout, leave no stragglers of its group behind.
  if (killed) ::kill(-pid_, SIGKILL);
  reaped_.store(true);
  stdout_.reset();
  stdin_.reset();
  stop_tail_.store(true);
  if (tail_thread_.joinable()) tail_thread_.join();
  if (WIFEXITED(status)) {
    info.exited = true;
    info.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  }
  return info;
}

ChildProcess::~ChildProcess() {
  if (!reaped_.load() && pid_ > 0) {
    Signal(SIGTERM);
    Wait(absl::Now());  // past deadline: TERM now, KILL after the grace period
  }
  stop_tail_.store(true);
  if (tail_thread_.joinable()) tail_thread_.join();
}

}  // namespace hab

// The SFTP writer alone (issue 17, "upload alone"): writes a file's bytes
// through SftpDestination in 4 MiB chunks (the pipeline's chunk size) and
// commits, timing it. No tar, zstd, age or digest: what is compared with
// OpenSSH's `sftp -b put` of the same file in bench/sftp_compare.sh.
//
// usage: sftp_write_bench HOST PORT USER IDENTITY KNOWN_HOSTS REMOTE_DIR FILE
// prints: "<bytes> bytes in <seconds> s"
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "destinations/sftp/sftp_destination.h"
#include "engine/unique_fd.h"

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s HOST PORT USER IDENTITY KNOWN_HOSTS REMOTE_DIR FILE\n", argv[0]);
    return 2;
  }
  hab::SshTarget t;
  t.host = argv[1];
  t.port = std::atoi(argv[2]);
  t.user = argv[3];
  t.identity_file = argv[4];
  t.known_hosts_file = argv[5];
  hab::SftpDestination dest(t, argv[6]);
  hab::UniqueFd fd(::open(argv[7], O_RDONLY | O_CLOEXEC));
  if (!fd) {
    std::perror(argv[7]);
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto w = dest.Create("sftp-write-bench.bin");
  if (!w.ok()) {
    std::fprintf(stderr, "create: %s\n", std::string(w.status().message()).c_str());
    return 1;
  }
  std::vector<uint8_t> buf(4 << 20);
  uint64_t total = 0;
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      std::perror("read");
      return 1;
    }
    if (n == 0) break;
    if (absl::Status st = (*w)->Write({buf.data(), static_cast<size_t>(n)}); !st.ok()) {
      std::fprintf(stderr, "write: %s\n", std::string(st.message()).c_str());
      return 1;
    }
    total += static_cast<uint64_t>(n);
  }
  auto size = (*w)->Commit();
  if (!size.ok()) {
    std::fprintf(stderr, "commit: %s\n", std::string(size.status().message()).c_str());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%llu bytes in %.3f s\n", static_cast<unsigned long long>(total), secs);
  return 0;
}

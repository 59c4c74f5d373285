// The push spool: run logs whose push failed (API unreachable, timeout,
// 5xx, a rejected key), kept to be sent at the start of a later run, so a
// dashboard outage loses no run.
//
// One file per run, "<dir>/<UTC compact>-<run_id>.json" (0600, written
// atomically; the directory 0700), holding the exact bytes that were to be
// pushed. Bounded: at most kMaxEntries files and kMaxAgeDays days; beyond
// that the oldest are dropped (and said so). Sent oldest first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace hab::hostatlas {

class Spool {
 public:
  static constexpr size_t kMaxEntries = 50;
  static constexpr int kMaxAgeDays = 30;

  struct Entry {
    std::string path;
    std::string run_id;
    int64_t written_unix = 0;  // from the name
  };

  explicit Spool(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  // Keeps `body` for `run_id`; then drops what is over the bounds (the
  // names of dropped entries go to `dropped`).
  absl::Status Add(const std::string& run_id, int64_t now_unix, const std::string& body,
                   std::vector<std::string>* dropped);
  // Oldest first; entries past kMaxAgeDays are removed and named in `dropped`.
  std::vector<Entry> List(int64_t now_unix, std::vector<std::string>* dropped) const;
  // How many are waiting (no pruning; for status).
  size_t Count() const;
  absl::StatusOr<std::string> Read(const Entry& e) const;
  void Remove(const Entry& e) const;

 private:
  std::vector<Entry> Scan() const;
  std::string dir_;
};

}  // namespace hab::hostatlas

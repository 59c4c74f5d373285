// The push spool: run logs whose push failed (API unreachable, timeout,
// 5xx, a rejected key), kept to be sent at the start of a later run, so a
// dashboard outage loses no run.
//
// One file per run, "<dir>/<UTC compact>-<run_id>-<key_id>.json" (0600,
// written atomically; the directory 0700), holding the exact bytes that
// were to be pushed. An entry is sent only with the key it was made for
// (the key_id in its name): a host with two logins (--auth-file), or a
// re-login to another account, never sends one account's run logs to the
// other. Bounded: at most kMaxEntries files per key and kMaxAgeDays days
// (any key); beyond that the oldest are dropped (and said so). Sent oldest
// first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hab::hostatlas {

class Spool {
 public:
  static constexpr size_t kMaxEntries = 50;
  static constexpr int kMaxAgeDays = 30;

  struct Entry {
    std::string path;
    std::string run_id;
    std::string key_id;
    int64_t written_unix = 0;  // from the name
  };

  // `key_id` "" : every key's entries (Count only).
  Spool(std::string dir, std::string key_id) : dir_(std::move(dir)), key_id_(std::move(key_id)) {}
  const std::string& dir() const { return dir_; }

  // Letters, digits, '_' and '-' (1..100): what may go into a name.
  static bool ValidKeyId(absl::string_view key_id);

  // Keeps `body` for `run_id`; then drops what is over the bounds (the
  // run ids of dropped entries go to `dropped`).
  absl::Status Add(const std::string& run_id, int64_t now_unix, const std::string& body,
                   std::vector<std::string>* dropped);
  // This key's entries, oldest first; entries of any key past kMaxAgeDays
  // are removed and named in `dropped`.
  std::vector<Entry> List(int64_t now_unix, std::vector<std::string>* dropped) const;
  // How many are waiting (no pruning; for status).
  size_t Count() const;
  absl::StatusOr<std::string> Read(const Entry& e) const;
  void Remove(const Entry& e) const;

 private:
  std::vector<Entry> Scan(bool every_key) const;
  std::string dir_, key_id_;
};

}  // namespace hab::hostatlas

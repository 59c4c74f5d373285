// Sha256: incremental SHA-256, using the CPU's SHA extensions when present
// (about 6x libsodium's portable code here), else libsodium. The archive
// digest in the run log and S3's signed payload hashes both use it, and both
// sit on hot paths. Not thread-safe per instance; instances are independent.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "absl/strings/string_view.h"

namespace hab {

class Sha256 {
 public:
  Sha256();
  void Update(std::span<const uint8_t> data);
  void Update(absl::string_view s) {
    Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  // Feeds the same bytes to two hashers; with the CPU's SHA extensions and
  // both at the same offset within a 64-byte block, in one pass that costs
  // little more than one (S3 hashes each part and the whole archive).
  static void UpdateBoth(Sha256& a, Sha256& b, std::span<const uint8_t> data);
  std::array<uint8_t, 32> Final();
  std::string FinalHex();
  static bool Accelerated();

 private:
  bool ni_;
  crypto_hash_sha256_state sodium_;
  uint32_t h_[8];
  uint8_t block_[64];
  size_t block_len_ = 0;
  uint64_t total_ = 0;
};

}  // namespace hab

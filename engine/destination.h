// Destination: where archives live (local directory, SFTP, S3).
//
// Contract: an ObjectWriter's bytes are invisible at `key` until Commit()
// returns OK; Commit never replaces an existing object (kAlreadyExists).
// Abort() removes everything the writer created and is idempotent; the
// destructor aborts unless committed, and never commits. Readers pull.
// List returns committed objects only. Implementations are used from one
// thread at a time per writer/reader; the Destination itself is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/sha256.h"

namespace hab {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_unix = 0;
};

class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual absl::Status Write(std::span<const uint8_t> bytes) = 0;
  // Write, and feed the same bytes to `digest`. A writer that hashes what it
  // writes anyway (S3's per-part payload hash) does both in one pass.
  virtual absl::Status WriteHashed(std::span<const uint8_t> bytes, Sha256& digest) {
    digest.Update(bytes);
    return Write(bytes);
  }
  // Makes the object visible; returns its size.
  virtual absl::StatusOr<uint64_t> Commit() = 0;
  virtual void Abort() noexcept = 0;
};

class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  virtual uint64_t size() const = 0;
  // Reads up to out.size() bytes; 0 at the end.
  virtual absl::StatusOr<size_t> Read(std::span<uint8_t> out) = 0;
};

class Destination {
 public:
  virtual ~Destination() = default;
  // "local:/mnt/backups/host" and the like; never contains secrets.
  virtual std::string Describe() const = 0;
  // `size_hint`: the expected object size when known (0: unknown); S3 uses
  // it to grow its part size so the object fits in 10,000 parts.
  virtual absl::StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& key,
                                                               uint64_t size_hint = 0) = 0;
  virtual absl::StatusOr<std::unique_ptr<ObjectReader>> Open(const std::string& key) = 0;
  virtual absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  virtual absl::StatusOr<ObjectInfo> Stat(const std::string& key) = 0;
  virtual absl::Status Remove(const std::string& key) = 0;
  // Pre-flight: proves we can create and remove an object here.
  virtual absl::Status Probe() = 0;
  // Free bytes at the destination, if it can tell (local); nullopt otherwise.
  virtual absl::StatusOr<uint64_t> FreeBytes() = 0;
};

}  // namespace hab

// Destination: where archives live (a local directory, an S3 bucket, an
// SFTP server). Kinds implement it in destinations/<kind>/.
//
// Keys are always relative to the destination's root (the configured path
// or prefix, expanded): "hostatlas-backup-web-20261129T030000Z.tar.zst.age"
// or, under a dated folder, "2026-11-29/hostatlas-backup-…". A key may
// contain '/' (folders are created as needed).
//
// Contract: an ObjectWriter's bytes are invisible at `key` until Commit()
// returns OK; Commit never replaces an existing object (kAlreadyExists).
// Abort() removes everything the writer created and is idempotent; the
// destructor aborts unless committed, and never commits. Readers pull.
// List returns committed objects only. Implementations are used from one
// thread at a time per writer/reader; the Destination itself is
// thread-safe. Every network wait is bounded and stops on cancellation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/sha256.h"

namespace hab {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_unix = 0;
  std::string orphan_id = {};  // ListOrphans: what RemoveOrphan needs (an upload id)
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

struct WriteOptions {
  // The expected object size when known (0: unknown); S3 grows its part
  // size from it so the object fits in 10,000 parts.
  uint64_t size_hint = 0;
  // Requests (parts) in flight and their size, as the plan sized the
  // writer's buffers (DestinationConfig::Writer); 0: the kind's default.
  int concurrency = 1;
  uint64_t request_bytes = 0;
};

struct ReadOptions {
  int concurrency = 1;         // reads in flight (ranged GETs, SFTP reads)
  uint64_t request_bytes = 0;  // bytes per read request; 0: the kind's default
};

// Leftovers of interrupted runs: our temporary files (".partial") or open
// multipart uploads whose final key (relative to the root, folders
// included) `ours` accepts, started before `before_unix`.
struct OrphanFilter {
  std::function<bool(absl::string_view final_key)> ours;
  int64_t before_unix = 0;
};

class Destination {
 public:
  virtual ~Destination() = default;
  // "local:/mnt/backups/host" and the like; never contains secrets.
  virtual std::string Describe() const = 0;
  virtual absl::StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& key,
                                                               const WriteOptions& options = {}) = 0;
  virtual absl::StatusOr<std::unique_ptr<ObjectReader>> Open(const std::string& key,
                                                             const ReadOptions& options = {}) = 0;
  // Every committed object whose key starts with `prefix`, at any depth
  // below the root (folders are walked), sorted by key.
  virtual absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  virtual absl::StatusOr<ObjectInfo> Stat(const std::string& key) = 0;
  virtual absl::Status Remove(const std::string& key) = 0;
  // Pre-flight: proves we can create and remove an object here. With
  // `create` false (a dry run) nothing is created or written: the check is
  // that the root (or its nearest existing parent) would accept a write.
  virtual absl::Status Probe(bool create) = 0;
  // Free bytes at the destination, if it can tell (local); kUnimplemented otherwise.
  virtual absl::StatusOr<uint64_t> FreeBytes() = 0;
  // Orphans (see OrphanFilter); keys as List gives them.
  virtual absl::StatusOr<std::vector<ObjectInfo>> ListOrphans(const OrphanFilter& filter) = 0;
  virtual absl::Status RemoveOrphan(const ObjectInfo& orphan) = 0;
  // What the destination noticed and the operator should see (a
  // known_hosts line it could not read); pre-flight shows them as warnings.
  virtual std::vector<std::string> TakeWarnings() { return {}; }
};

}  // namespace hab

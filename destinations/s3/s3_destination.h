// S3Destination: archives in an S3-compatible bucket (R2, B2, Wasabi,
// Hetzner, MinIO, AWS, Storj), over libcurl with our SigV4 signer.
//
// Writes are invisible until Commit: objects up to one part go up as a single
// PutObject at Commit; larger ones as a multipart upload whose
// CompleteMultipartUpload is the commit. All parts but the last have exactly
// part_size bytes (R2 rejects anything else); up to `concurrency` parts are
// in flight on the writer's own upload threads, each part buffer counted in
// the branch's fixed memory (part_size x (concurrency + 2)). Each part's
// body is signed (x-amz-content-sha256), so the server checks its integrity;
// transient failures are retried per part (RetryingTransport). Abort (and
// the destructor, unless committed) aborts the multipart upload. A stream
// longer than 10,000 parts fails with a clear error (raise part_size).
//
// Readers fetch `concurrency` ranges of part_size in parallel and hand them
// out in order, so a retry repeats one range.
#pragma once

#include <memory>
#include <string>

#include "engine/destination.h"
#include "destinations/s3/s3_client.h"

namespace hab {

struct S3Options {
  S3Endpoint endpoint;
  std::string prefix;  // already expanded, "" or ending in '/'; keys are relative to it
  uint64_t part_size = 16ull << 20;
  // Attempts per request (retrying transient failures); pre-flight uses 1.
  int max_attempts = 6;
};

// part_size, grown (to whole MiB) so that 1.2 x `size_hint` fits in
// 10,000 parts.
uint64_t S3PartSize(uint64_t part_size, uint64_t size_hint);

class S3Destination : public Destination {
 public:
  // The real thing: signed requests on curl, retried per options.max_attempts.
  // kInvalidArgument when the endpoint breaks the transport policy.
  static absl::StatusOr<std::unique_ptr<S3Destination>> Connect(S3Options options);
  // Over any transport (unit tests).
  S3Destination(S3Options options, std::unique_ptr<S3Transport> transport);
  std::string Describe() const override;
  absl::StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& key,
                                                       const WriteOptions& options = {}) override;
  absl::StatusOr<std::unique_ptr<ObjectReader>> Open(const std::string& key,
                                                     const ReadOptions& options = {}) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::StatusOr<ObjectInfo> Stat(const std::string& key) override;
  absl::Status Remove(const std::string& key) override;
  // HEAD bucket, then (create) PutObject + DeleteObject of a probe under
  // the prefix, or (dry run) a ListObjectsV2 under it.
  absl::Status Probe(bool create) override;
  absl::StatusOr<uint64_t> FreeBytes() override {
    return absl::UnimplementedError("S3 has no free-space figure");
  }
  // Our multipart uploads under the prefix (interrupted runs); servers
  // without ListMultipartUploads: none.
  absl::StatusOr<std::vector<ObjectInfo>> ListOrphans(const OrphanFilter& filter) override;
  absl::Status RemoveOrphan(const ObjectInfo& orphan) override;  // AbortMultipartUpload
  const S3Options& options() const { return options_; }

 private:
  S3Options options_;
  std::shared_ptr<S3Transport> transport_;
};

}  // namespace hab

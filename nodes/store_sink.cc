#include "nodes/store_sink.h"

#include "absl/strings/escaping.h"
#include "engine/status_macros.h"

namespace hab {

absl::Status StoreSink::Write(RunContext& ctx, const Chunk& chunk) {
  if (!writer_) {
    // Created lazily so a branch that fails before its first byte leaves
    // nothing behind, not even a .partial.
    HAB_ASSIGN_OR_RETURN(writer_, destination_->Create(key_, options_));
  }
  std::span<const uint8_t> bytes = chunk.bytes();
  if (bytes.empty()) return absl::OkStatus();
  bytes_ += bytes.size();
  return writer_->WriteHashed(bytes, sha_);
}

absl::StatusOr<SinkReport> StoreSink::Commit(RunContext& ctx) {
  if (!writer_) return absl::InternalError("commit without any data");
  auto size = writer_->Commit();
  // The writer's buffers (S3 parts) go now, not when the run ends.
  writer_.reset();
  if (!size.ok()) return size.status();
  digest_->sha256_hex = sha_.FinalHex();
  digest_->bytes = bytes_;
  return SinkReport{key_, *size};
}

void StoreSink::Abort() noexcept {
  if (writer_) writer_->Abort();
  writer_.reset();
}

}  // namespace hab

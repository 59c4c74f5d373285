#include "nodes/decompress_sink.h"

#include "engine/status_macros.h"

namespace hab {

absl::Status DecompressSink::Write(RunContext&, const Chunk& chunk) {
  if (!zstd_) return absl::FailedPreconditionError("write after commit or abort");
  return zstd_->Feed(chunk.bytes(), [&](Buffer b) { return inner_->WriteOwned(std::move(b)); });
}

absl::StatusOr<SinkReport> DecompressSink::Commit(RunContext&) {
  if (!zstd_) return absl::FailedPreconditionError("commit after commit or abort");
  absl::Status st = zstd_->Finish([&](Buffer b) { return inner_->WriteOwned(std::move(b)); });
  if (!st.ok()) {
    Abort();
    return st;
  }
  auto n = inner_->Commit();
  result_->warnings = inner_->TakeWarnings();
  Drop();
  HAB_RETURN_IF_ERROR(n.status());
  result_->count = *n;
  return SinkReport{"", *n};
}

void DecompressSink::Abort() noexcept {
  if (!inner_) return;
  inner_->Abort();
  result_->warnings = inner_->TakeWarnings();
  Drop();
}

void DecompressSink::Drop() {
  zstd_.reset();
  inner_.reset();
}

}  // namespace hab

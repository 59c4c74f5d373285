#include "nodes/decompress_sink.h"

#include "engine/status_macros.h"

namespace hab {

absl::Status DecompressSink::Write(RunContext&, const Chunk& chunk) {
  return zstd_.Feed(chunk.bytes(), [&](Buffer b) { return inner_->WriteOwned(std::move(b)); });
}

absl::StatusOr<SinkReport> DecompressSink::Commit(RunContext&) {
  HAB_RETURN_IF_ERROR(zstd_.Finish([&](Buffer b) { return inner_->WriteOwned(std::move(b)); }));
  auto n = inner_->Commit();
  result_->warnings = inner_->TakeWarnings();
  HAB_RETURN_IF_ERROR(n.status());
  result_->count = *n;
  return SinkReport{"", *n};
}

void DecompressSink::Abort() noexcept {
  inner_->Abort();
  result_->warnings = inner_->TakeWarnings();
}

}  // namespace hab

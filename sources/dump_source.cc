#include "sources/dump_source.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/status_macros.h"

namespace hab {

void DumpSource::Stop() noexcept {
  pid_t g = pgid_.load();
  if (g > 0) ::kill(-g, SIGTERM);
}

absl::Status DumpSource::Produce(RunContext& ctx, const EmitFn& emit) {
  SpawnOptions spawn;
  spawn.argv = options_.argv;
  spawn.extra_env = std::move(options_.env);
  HAB_ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child, ChildProcess::Spawn(std::move(spawn)));
  pgid_.store(child->pid());
  absl::Time deadline = absl::Now() + absl::Seconds(options_.timeout_seconds);
  auto failure = [&](absl::StatusCode code, const std::string& what) {
    std::string tail(absl::StripTrailingAsciiWhitespace(child->Tail()));
    return absl::Status(code, absl::StrCat(options_.tool, " ", what,
                                           tail.empty() ? "" : absl::StrCat(": ", tail)));
  };
  uint64_t total = 0;
  while (true) {
    HAB_ASSIGN_OR_RETURN(Chunk chunk, ctx.NewSourceChunk(options_.chunk_bytes));
    bool eof = false;
    while (chunk.data.size() < chunk.data.capacity()) {
      if (ctx.cancelled()) {
        child->Signal(SIGTERM);
        child->Wait(absl::Now() + absl::Seconds(5));
        return absl::CancelledError(absl::StrCat(options_.tool, " cancelled"));
      }
      if (absl::Now() > deadline) {
        child->Wait(absl::Now());  // kills the group
        return failure(absl::StatusCode::kDeadlineExceeded,
                       absl::StrCat("killed after command_timeout_seconds (", options_.timeout_seconds, " s)"));
      }
      if (!child->PollStdout(500)) continue;
      HAB_ASSIGN_OR_RETURN(size_t n, child->Read(chunk.data.writable().subspan(chunk.data.size())));
      if (n == 0) {
        eof = true;
        break;
      }
      chunk.data.resize(chunk.data.size() + n);
      total += n;
      stats_->stream_bytes += n;
    }
    if (eof) {
      ExitInfo info = child->Wait(deadline);
      pgid_.store(-1);
      if (!info.ok()) return failure(absl::StatusCode::kUnavailable, absl::StrCat("failed (", info.Describe(), ")"));
      if (total == 0) return failure(absl::StatusCode::kDataLoss, "produced no output");
      chunk.last = true;
      return emit(std::move(chunk));
    }
    HAB_RETURN_IF_ERROR(emit(std::move(chunk)));
  }
}

}  // namespace hab

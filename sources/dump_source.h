// DumpSource: streams a database dump tool's stdout into the graph.
//
// The child (pg_dump, mysqldump) is spawned without a shell, in its own
// process group, with the password only in its environment. Its stdout is
// read in source chunks straight into the graph: no temporary file. The
// final chunk is emitted only after the child exited 0 and produced at least
// one byte, so a dump that fails, dies on a signal or says nothing never
// becomes an archive, however many bytes flowed. command_timeout_seconds
// kills the whole group (kDeadlineExceeded). Errors carry the tail of the
// tool's stderr.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/child_process.h"
#include "engine/node.h"
#include "sources/source_kind.h"

namespace hab {

struct DumpOptions {
  std::string tool;                // "pg_dump" (also the node name)
  std::vector<std::string> argv;   // argv[0] = tool
  std::vector<std::string> env;    // "PGPASSWORD=..." (wiped after spawn)
  int64_t timeout_seconds = 21600;
  size_t chunk_bytes = 4 << 20;
};

class DumpSource : public Source {
 public:
  DumpSource(DumpOptions options, std::shared_ptr<SourceStats> stats)
      : options_(std::move(options)), stats_(std::move(stats)) {}
  std::string Name() const override { return options_.tool; }
  absl::Status Produce(RunContext& ctx, const EmitFn& emit) override;
  void Stop() noexcept override;

 private:
  DumpOptions options_;
  std::shared_ptr<SourceStats> stats_;
  std::atomic<pid_t> pgid_{-1};
};

}  // namespace hab

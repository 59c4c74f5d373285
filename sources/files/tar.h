// TarSource / TarExtractor: the files source and its inverse, on libarchive.
//
// TarSource walks each configured path depth-first in sorted order (symlinks
// are archived as links and never followed, mount points below a root are
// kept as empty directories and not crossed), takes each entry's metadata
// from archive_read_disk_entry_from_file, and writes a pax (restricted) tar stream: ustar headers, plus pax
// extended headers only where ustar cannot express an entry (long or
// non-ASCII names, large files, sparse maps). Member names are the source
// paths without the leading '/', like GNU tar. Hardlinks stay hardlinks
// (archive_entry_linkresolver), sparse files stay sparse. A file that
// vanishes or cannot be read is a warning (RunContext::Warn), not a failure.
//
// TarExtractor runs libarchive's reader on its own thread, fed through a
// bounded queue by Write(). Members are extracted into a private staging
// directory inside the target and moved into place only by Commit(), which
// the restore calls after the final age chunk authenticated; Abort() removes
// the staging directory, so a failed restore leaves the target as it was.
// Hostile names (absolute, "..", through a symlink, hardlinks pointing
// outside) are refused with a warning naming the member.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/blocking_queue.h"
#include "engine/node.h"
#include "nodes/plain_sink.h"
#include "sources/source_kind.h"

namespace hab {

// Exclude globs: a pattern without '/' matches the name of any path
// component ("*.log", "node_modules"); a pattern with '/' matches the whole
// member name, where "**" spans any number of components ("**/vendor").
bool GlobMatch(absl::string_view pattern, absl::string_view path);
bool Excluded(const std::vector<std::string>& patterns, absl::string_view member);

// Apparent size of the regular files under `paths` (excludes applied, mount
// points not crossed, symlinks not followed): the pre-flight estimate. A
// root's subdirectories are walked on up to `threads` threads. Stops early
// (with a partial sum) once `*cancel` is true.
uint64_t EstimateTreeBytes(const std::vector<std::string>& paths,
                           const std::vector<std::string>& exclude, int threads = 1,
                           const std::atomic<bool>* cancel = nullptr);

struct TarOptions {
  std::vector<std::string> paths;    // absolute
  std::vector<std::string> exclude;  // globs
  size_t chunk_bytes = 4 << 20;
};

class TarSource : public Source {
 public:
  TarSource(TarOptions options, std::shared_ptr<SourceStats> stats)
      : options_(std::move(options)), stats_(std::move(stats)) {}
  std::string Name() const override { return "tar"; }
  absl::Status Produce(RunContext& ctx, const EmitFn& emit) override;

 private:
  friend struct TarWriteCallbacks;
  friend class TarWalker;
  absl::Status Append(const void* data, size_t size);
  // The free end of the chunk being filled (allocated if none is): a dense
  // file's data is read there directly. Never empty.
  absl::StatusOr<std::span<uint8_t>> Tail();

  TarOptions options_;
  std::shared_ptr<SourceStats> stats_;
  RunContext* ctx_ = nullptr;
  const EmitFn* emit_ = nullptr;
  std::optional<Chunk> current_;
  absl::Status callback_status_;
};

class TarExtractor : public PlainSink {
 public:
  // `target` is created if missing. Staging lives inside it.
  static absl::StatusOr<std::unique_ptr<TarExtractor>> Create(const std::string& target);
  // Reads and checks the whole archive, writes nothing; Commit returns the
  // member count (deep verification).
  static std::unique_ptr<TarExtractor> CreateCounter();
  ~TarExtractor() override;
  absl::Status Write(std::span<const uint8_t> bytes) override;
  absl::Status WriteOwned(Buffer bytes) override;
  absl::StatusOr<uint64_t> Commit() override;  // returns members extracted
  void Abort() noexcept override;
  std::vector<std::string> TakeWarnings() override;

 private:
  TarExtractor(std::string target, std::string staging);
  void Run();
  absl::Status Extract();
  void Join();

  std::string target_, staging_;
  BlockingQueue<Buffer> queue_{4};
  Buffer reading_;
  std::thread thread_;
  absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> warnings_ ABSL_GUARDED_BY(mu_);
  uint64_t members_ = 0;
  bool finished_ = false;
  bool created_target_ = false;
  bool done_ = false;
};

// Removes a directory tree without following symlinks.
absl::Status RemoveTree(const std::string& path);

}  // namespace hab

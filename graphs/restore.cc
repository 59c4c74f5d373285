// Restore: archive key -> reverse graph: read -> age header -> age decrypt
// (parallel) -> zstd decompress -> tar extract (staged) or dump file.
#include <fcntl.h>
#include <unistd.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "engine/file_util.h"
#include "engine/graph.h"
#include "engine/status_macros.h"
#include "engine/unique_fd.h"
#include "graphs/backup.h"
#include "nodes/age.h"
#include "sources/mysql/mysqldump.h"
#include "absl/strings/str_split.h"
#include "engine/child_process.h"
#include "sources/files/tar.h"
#include "nodes/zstd.h"

namespace hab {
namespace {

class ReaderSource : public Source {
 public:
  ReaderSource(std::unique_ptr<ObjectReader> reader, size_t chunk_bytes)
      : reader_(std::move(reader)), chunk_bytes_(chunk_bytes) {}
  std::string Name() const override { return "read"; }
  absl::Status Produce(RunContext& ctx, const EmitFn& emit) override {
    while (true) {
      HAB_ASSIGN_OR_RETURN(Chunk c, ctx.NewSourceChunk(chunk_bytes_));
      while (c.data.size() < c.data.capacity()) {
        HAB_ASSIGN_OR_RETURN(size_t n, reader_->Read(c.data.writable().subspan(c.data.size())));
        if (n == 0) {
          c.last = true;
          break;
        }
        c.data.resize(c.data.size() + n);
      }
      bool last = c.last;
      HAB_RETURN_IF_ERROR(emit(std::move(c)));
      if (last) return absl::OkStatus();
    }
  }

 private:
  std::unique_ptr<ObjectReader> reader_;
  size_t chunk_bytes_;
};

// Writes a dump to "<dir>/<name>.partial", then renames it into place.
class FileSink : public PlainSink {
 public:
  static absl::StatusOr<std::unique_ptr<FileSink>> Create(const std::string& path) {
    HAB_RETURN_IF_ERROR(MakeDirs(Dirname(path)));
    std::string partial = path + ".partial";
    UniqueFd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return ErrnoStatus(errno, "create", partial);
    return std::unique_ptr<FileSink>(new FileSink(path, partial, std::move(fd)));
  }
  ~FileSink() override { Abort(); }
  absl::Status Write(std::span<const uint8_t> b) override {
    bytes_ += b.size();
    return WriteAll(fd_.get(), b, partial_);
  }
  absl::StatusOr<uint64_t> Commit() override {
    if (::fsync(fd_.get()) != 0) return ErrnoStatus(errno, "fsync", partial_);
    fd_.reset();
    if (::renameat2(AT_FDCWD, partial_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0) {
      return ErrnoStatus(errno, "rename to", path_);
    }
    done_ = true;
    HAB_RETURN_IF_ERROR(FsyncDir(Dirname(path_)));
    return bytes_;
  }
  void Abort() noexcept override {
    if (done_) return;
    done_ = true;
    fd_.reset();
    ::unlink(partial_.c_str());
  }

 private:
  FileSink(std::string path, std::string partial, UniqueFd fd)
      : path_(std::move(path)), partial_(std::move(partial)), fd_(std::move(fd)) {}
  std::string path_, partial_;
  UniqueFd fd_;
  uint64_t bytes_ = 0;
  bool done_ = false;
};

// zstd decompression in front of a PlainSink, on the writer thread.
class DecompressSink : public Sink {
 public:
  // Frames of up to `max_frame_content` bytes decode on `threads` threads.
  DecompressSink(std::unique_ptr<PlainSink> inner, int threads, size_t max_frame_content,
                 std::shared_ptr<uint64_t> count, std::shared_ptr<std::vector<std::string>> warnings)
      : inner_(std::move(inner)), zstd_(threads, max_frame_content), count_(std::move(count)),
        warnings_(std::move(warnings)) {}
  std::string Name() const override { return "extract"; }
  absl::Status Write(RunContext& ctx, const Chunk& chunk) override {
    return zstd_.Feed(chunk.bytes(), [&](Buffer b) { return inner_->WriteOwned(std::move(b)); });
  }
  absl::StatusOr<SinkReport> Commit(RunContext& ctx) override {
    HAB_RETURN_IF_ERROR(zstd_.Finish([&](Buffer b) { return inner_->WriteOwned(std::move(b)); }));
    auto n = inner_->Commit();
    *warnings_ = inner_->TakeWarnings();
    HAB_RETURN_IF_ERROR(n.status());
    *count_ = *n;
    return SinkReport{"", *n};
  }
  void Abort() noexcept override {
    inner_->Abort();
    *warnings_ = inner_->TakeWarnings();
  }

 private:
  std::unique_ptr<PlainSink> inner_;
  ParallelZstdDecoder zstd_;
  std::shared_ptr<uint64_t> count_;
  std::shared_ptr<std::vector<std::string>> warnings_;
};

// Deep verification of a custom-format dump: the stream goes to two
// pg_restore children at once. `pg_restore --list` (no file argument: "-" is
// not stdin there) prints the table of contents and stops reading (EPIPE is
// fine); `pg_restore --file=/dev/null` converts the whole archive without a
// database, which fails on any truncation or damage.
class PgRestoreCheckSink : public PlainSink {
 public:
  static absl::StatusOr<std::unique_ptr<PgRestoreCheckSink>> Create() {
    auto sink = std::unique_ptr<PgRestoreCheckSink>(new PgRestoreCheckSink());
    for (auto argv : {std::vector<std::string>{"pg_restore", "--list"},
                      std::vector<std::string>{"pg_restore", "--file=/dev/null"}}) {
      SpawnOptions o;
      o.argv = argv;
      o.stdin_pipe = true;
      o.tail_bytes = 1 << 20;
      o.merge_output = true;
      HAB_ASSIGN_OR_RETURN(auto c, ChildProcess::Spawn(std::move(o)));
      sink->children_.push_back(std::move(c));
    }
    return sink;
  }
  absl::Status Write(std::span<const uint8_t> b) override {
    for (auto& c : children_) HAB_RETURN_IF_ERROR(c->WriteStdin(b));
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Commit() override {
    for (auto& c : children_) c->CloseStdin();
    ExitInfo list = children_[0]->Wait(absl::Now() + absl::Minutes(10));
    ExitInfo full = children_[1]->Wait(absl::Now() + absl::Hours(6));
    std::string toc = children_[0]->Tail();
    if (!list.ok()) return absl::DataLossError("pg_restore --list: " + list.Describe() + ": " + toc);
    if (!full.ok()) {
      return absl::DataLossError("pg_restore could not read the whole dump (" + full.Describe() +
                                 "): " + children_[1]->Tail());
    }
    // TOC entries are the lines that are not comments.
    uint64_t entries = 0;
    for (absl::string_view line : absl::StrSplit(toc, '\n')) {
      if (!line.empty() && line[0] != ';') ++entries;
    }
    if (entries == 0) return absl::DataLossError("pg_restore --list: empty table of contents");
    return entries;
  }
  void Abort() noexcept override { children_.clear(); }

 private:
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

// Deep verification of a mysqldump: header in the first 64 KiB, trailer at
// the end.
class SqlCheckSink : public PlainSink {
 public:
  absl::Status Write(std::span<const uint8_t> b) override {
    size_t room = head_.size() < kHead ? kHead - head_.size() : 0;
    head_.append(reinterpret_cast<const char*>(b.data()), std::min(room, b.size()));
    tail_.append(reinterpret_cast<const char*>(b.data()), b.size());
    if (tail_.size() > 2 * kTail) tail_.erase(0, tail_.size() - kTail);
    bytes_ += b.size();
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Commit() override {
    HAB_RETURN_IF_ERROR(CheckSqlDump(head_, tail_));
    return bytes_;
  }
  void Abort() noexcept override {}

 private:
  static constexpr size_t kHead = 64 << 10, kTail = 4096;
  std::string head_, tail_;
  uint64_t bytes_ = 0;
};

// One reverse branch: read `key`, decrypt, decompress into `plain`.
BranchSpec ReverseBranch(const std::string& name, std::unique_ptr<ObjectReader> reader,
                         const std::vector<age::X25519Identity>& ids, std::unique_ptr<PlainSink> plain,
                         size_t chunk, int parallelism, std::shared_ptr<uint64_t> count,
                         std::shared_ptr<std::vector<std::string>> warnings, uint64_t reader_bytes,
                         uint64_t budget_bytes /* this branch's share */) {
  BranchSpec bs;
  bs.name = name;
  bs.source = std::make_unique<ReaderSource>(std::move(reader), chunk);
  auto state = std::make_shared<AgeDecryptState>();
  std::vector<age::X25519Identity> my_ids;
  for (const auto& id : ids) my_ids.push_back(*age::X25519Identity::Parse(id.ToString()));
  bs.transforms.push_back(std::make_unique<AgeDecryptFramer>(std::move(my_ids), state));
  bs.transforms.push_back(std::make_unique<AgeDecrypt>(state, parallelism));
  // Our archives' frames hold one backup chunk: frames up to this restore's
  // chunk decode in parallel (same memory_limit as the backup: all of them),
  // larger ones stream. Decoder threads are limited so their buffers take
  // at most half of this branch's share of the budget; if even one thread
  // does not fit, only smaller frames go parallel.
  size_t max_frame = chunk;
  int threads = std::max(1, parallelism);
  while (threads > 1 && ParallelZstdDecoder::MaxBufferedBytes(threads, max_frame) > budget_bytes / 2) --threads;
  while (max_frame > (64u << 10) && ParallelZstdDecoder::MaxBufferedBytes(threads, max_frame) > budget_bytes / 2) {
    max_frame /= 2;
  }
  bs.sink = std::make_unique<DecompressSink>(std::move(plain), threads, max_frame, std::move(count),
                                             std::move(warnings));
  bs.admission_x100 = 200;
  // Framer carry, frames in flight in the decoder, and the extractor's
  // queue of up to four pieces.
  bs.fixed_bytes = AgeDecryptFramer::age_unit() + ParallelZstdDecoder::MaxBufferedBytes(threads, max_frame) +
                   4 * max_frame + reader_bytes;
  return bs;
}

}  // namespace

absl::StatusOr<uint64_t> VerifyDeep(const BackupSpec& spec, Destination& dest, const std::string& key,
                                    const std::string& ext, const std::atomic<bool>& cancel) {
  if (spec.identity_file.empty()) {
    return absl::FailedPreconditionError("deep verification needs encryption.identity_file");
  }
  HAB_ASSIGN_OR_RETURN(std::vector<age::X25519Identity> ids, age::ReadIdentityFile(spec.identity_file));
  HAB_ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, dest.Open(key));
  std::unique_ptr<PlainSink> check;
  if (ext == "tar") {
    check = TarExtractor::CreateCounter();
  } else if (ext == "pgdump") {
    HAB_ASSIGN_OR_RETURN(check, PgRestoreCheckSink::Create());
  } else {
    check = std::make_unique<SqlCheckSink>();
  }
  MemoryBudget budget(spec.memory_limit);
  size_t chunk = ChunkBytesFor(spec.memory_limit);
  auto count = std::make_shared<uint64_t>(0);
  Graph graph(&budget, spec.parallelism);
  graph.AddBranch(ReverseBranch("verify", std::move(reader), ids, std::move(check), chunk,
                                spec.parallelism, count, std::make_shared<std::vector<std::string>>(),
                                S3FixedBytes(spec), spec.memory_limit));
  std::vector<BranchResult> r = graph.Run(cancel);
  HAB_RETURN_IF_ERROR(r[0].status);
  return *count;
}

absl::StatusOr<std::vector<RestoreItem>> RunRestore(const BackupSpec& spec, const PlanContext& pc,
                                                    const RestoreOptions& options,
                                                    const std::atomic<bool>& cancel) {
  std::string identity_file = options.identity_file.empty() ? spec.identity_file : options.identity_file;
  if (identity_file.empty()) {
    return absl::InvalidArgumentError(
        "restore needs the private key: set encryption.identity_file or pass --identity FILE");
  }
  HAB_ASSIGN_OR_RETURN(std::vector<age::X25519Identity> ids, age::ReadIdentityFile(identity_file));
  HAB_ASSIGN_OR_RETURN(std::unique_ptr<Destination> dest, OpenDestination(spec, pc));

  // Which archives: the one named, or the newest of each configured source.
  std::vector<std::pair<std::string, ParsedArchiveName>> todo;
  if (!options.from_key.empty()) {
    auto p = ParseArchiveName(Basename(options.from_key));
    if (!p.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", options.from_key,
                                                     "\" is not a hostatlas-backup archive name"));
    }
    todo.push_back({options.from_key, *p});
  } else {
    std::string prefix = spec.destination.type == "s3" ? DestinationRoot(spec, pc) : "";
    HAB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, dest->List(prefix + "hostatlas-backup-"));
    std::map<std::string, std::pair<std::string, ParsedArchiveName>> newest;
    for (const auto& o : objects) {
      auto p = ParseArchiveName(Basename(o.key));
      if (!p.has_value()) continue;
      bool configured = false;
      for (const auto& s : spec.sources) configured |= s.name == p->source;
      if (!configured) continue;
      auto it = newest.find(p->source);
      if (it == newest.end() || it->second.second.timestamp < p->timestamp) newest[p->source] = {o.key, *p};
    }
    for (auto& [_, v] : newest) todo.push_back(v);
    if (todo.empty()) {
      return absl::NotFoundError(absl::StrCat("no archives of the configured sources at ", dest->Describe()));
    }
  }

  MemoryBudget budget(spec.memory_limit);
  size_t chunk = ChunkBytesFor(spec.memory_limit);
  std::vector<RestoreItem> items;
  std::vector<std::shared_ptr<uint64_t>> counts;
  std::vector<std::shared_ptr<std::vector<std::string>>> warns;
  Graph graph(&budget, spec.parallelism);
  graph.LowerWorkerPriority();
  for (auto& [key, parsed] : todo) {
    RestoreItem item;
    item.key = key;
    item.source = parsed.source;
    auto reader = dest->Open(key);
    std::unique_ptr<PlainSink> plain;
    absl::Status st = reader.status();
    if (st.ok()) {
      if (parsed.ext == "tar") {
        auto x = TarExtractor::Create(absl::StrCat(options.target_dir, "/", parsed.source));
        st = x.status();
        if (st.ok()) plain = std::move(*x);
      } else {
        auto f = FileSink::Create(absl::StrCat(options.target_dir, "/", parsed.source, ".", parsed.ext));
        st = f.status();
        if (st.ok()) plain = std::move(*f);
      }
    }
    if (!st.ok()) {
      item.status = st;
      items.push_back(std::move(item));
      continue;
    }
    auto count = std::make_shared<uint64_t>(0);
    auto w = std::make_shared<std::vector<std::string>>();
    graph.AddBranch(ReverseBranch(parsed.source, std::move(*reader), ids, std::move(plain), chunk,
                                  spec.parallelism, count, w, S3FixedBytes(spec),
                                  spec.memory_limit / std::max<size_t>(1, todo.size())));
    counts.push_back(count);
    warns.push_back(w);
    items.push_back(std::move(item));
  }
  std::vector<BranchResult> runs = graph.Run(cancel);
  size_t r = 0;
  for (auto& item : items) {
    if (!item.status.ok()) continue;
    item.status = runs[r].status;
    item.members = *counts[r];
    item.warnings = *warns[r];
    for (auto& w : runs[r].warnings) item.warnings.push_back(w);
    ++r;
  }
  return items;
}

}  // namespace hab

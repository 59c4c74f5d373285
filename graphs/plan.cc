#include "graphs/plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/graph.h"
#include "nodes/age.h"
#include "nodes/age_stream.h"
#include "nodes/chunker.h"
#include "nodes/zstd.h"
#include "sources/registry.h"

namespace hab {
namespace {

constexpr uint64_t kChunkSlack = 64 << 10;  // per admitted chunk (RunContext::NewSourceChunk)
constexpr uint64_t kSourceBuffer = 1 << 20;  // the tar producer's read buffer

std::string Human(uint64_t b) {
  const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    ++i;
  }
  return absl::StrFormat(i == 0 ? "%.0f %s" : "%.1f %s", v, u[i]);
}

// The window (chunks in flight) that lets one branch fit the budget alone,
// and the footprint that follows.
void SizeBranch(PlanBranch& b, uint64_t limit, uint64_t admit, int parallelism) {
  int window = 2 + 2 * std::max(1, parallelism);
  if (limit > b.fixed_bytes) {
    window = static_cast<int>(std::min<uint64_t>(window, std::max<uint64_t>(1, (limit - b.fixed_bytes) / admit)));
  } else {
    window = 1;
  }
  b.window_chunks = window;
  b.footprint_bytes = b.fixed_bytes + static_cast<uint64_t>(window) * admit;
}

void Chain(PlanBranch& b) {
  for (size_t i = 0; i + 1 < b.nodes.size(); ++i) b.edges.push_back({b.nodes[i].id, b.nodes[i + 1].id});
}

std::string ShortRecipients(const BackupSpec& spec) {
  std::vector<std::string> r;
  for (const auto& x : spec.recipients) r.push_back(x.substr(0, 12) + "...");
  if (r.empty() && !spec.identity_file.empty()) r.push_back("identity_file:" + spec.identity_file);
  return absl::StrJoin(r, ",");
}

void CheckFits(GraphPlan& plan, const PlanBranch& b, uint64_t admit, const char* what) {
  if (b.fixed_bytes + admit <= plan.memory_limit || !plan.memory_problem.empty()) return;
  plan.memory_problem = absl::StrCat(
      "performance.memory_limit (", Human(plan.memory_limit), ") cannot hold one ", what, " (",
      b.source, "): it needs at least ", Human(b.fixed_bytes + admit),
      "\nhint: raise performance.memory_limit");
}

}  // namespace

size_t ChunkBytesFor(uint64_t memory_limit) {
  uint64_t c = memory_limit / 24;
  c = std::clamp<uint64_t>(c, 64 << 10, 4 << 20);
  return static_cast<size_t>(c / (64 << 10) * (64 << 10));
}

GraphPlan BuildBackupPlan(const BackupSpec& spec, const PlanContext& pc) {
  GraphPlan plan;
  plan.direction = "backup";
  plan.memory_limit = spec.memory_limit;
  plan.parallelism = spec.parallelism;
  plan.chunk_bytes = ChunkBytesFor(spec.memory_limit);
  const DestinationConfig& d = *spec.destination;
  plan.location = LocateArchives(d, pc.hostname, pc.now_unix);
  plan.destination = d.Describe(plan.location.root);
  const uint64_t admit = plan.chunk_bytes * 3 + kChunkSlack;  // input, zstd output, age output
  const uint64_t other_fixed = Chunker::FixedBytes(age::kChunkSize) + kSourceBuffer;
  const uint64_t writer_cap = spec.memory_limit > other_fixed + admit ? spec.memory_limit - other_fixed - admit : 0;
  // Requests in flight per writer: as configured, unless fewer let two
  // sources run at once (a host with many databases gains more from
  // parallel dumps than from parallel parts of one).
  const int want_at_once = static_cast<int>(std::min<size_t>(2, spec.sources.size()));
  for (int conc = std::max(1, d.concurrency());; --conc) {
    plan.branches.clear();
    std::vector<uint64_t> footprints;
    for (size_t i = 0; i < spec.sources.size(); ++i) {
      const SourceConfig& s = *spec.sources[i];
      PlanBranch b;
      b.source = s.name();
      b.source_type = std::string(s.kind().type());
      b.archive_key = plan.location.KeyFor(ArchiveName(s.name(), std::string(s.kind().extension()), pc.now_unix));
      b.estimate_bytes = i < pc.estimates.size() ? pc.estimates[i].bytes : 0;
      b.estimate_is_bound = i < pc.estimates.size() && pc.estimates[i].bound;
      StreamMemory writer = d.Writer(b.estimate_bytes, conc, writer_cap);
      b.admission_x100 = 300;
      b.fixed_bytes = other_fixed + writer.fixed_bytes;
      SizeBranch(b, spec.memory_limit, admit, spec.parallelism);

      PlanNode src{s.name() + "/source", std::string(s.kind().node_kind()), 1, s.PlanParams(),
                   SourceStage{spec.sources[i], plan.chunk_bytes}};
      src.params.push_back({"chunk_bytes", absl::StrCat(plan.chunk_bytes)});
      b.nodes.push_back(std::move(src));
      b.nodes.push_back({s.name() + "/zstd", "zstd", spec.parallelism,
                         {{"level", absl::StrCat(spec.zstd_level)}, {"frame", "per chunk"}},
                         ZstdStage{spec.zstd_level}});
      b.nodes.push_back({s.name() + "/chunker", "chunker", 1, {{"unit", absl::StrCat(age::kChunkSize)}},
                         ChunkerStage{age::kChunkSize}});
      b.nodes.push_back({s.name() + "/age", "age", spec.parallelism,
                         {{"recipients", ShortRecipients(spec)}, {"chunk", absl::StrCat(age::kChunkSize)}},
                         AgeStage{spec.recipients}});
      std::vector<std::pair<std::string, std::string>> store_params = {
          {"destination", std::string(d.type())}, {"key", b.archive_key}, {"hash", "sha256"},
          {"commit", d.CommitProtocol()}};
      if (writer.request_bytes > 0) {
        store_params.push_back({"parts_in_flight", absl::StrCat(writer.concurrency)});
        store_params.push_back({"part_bytes", absl::StrCat(writer.request_bytes)});
      }
      b.nodes.push_back({s.name() + "/store", "store", 1, std::move(store_params),
                         StoreStage{b.archive_key, b.estimate_bytes, writer}});
      if (spec.verification != "none") {
        b.nodes.push_back({s.name() + "/verify", "verify", 1, {{"mode", spec.verification}},
                           VerifyStage{spec.verification, &s.kind()}});
      }
      Chain(b);
      footprints.push_back(b.footprint_bytes);
      plan.branches.push_back(std::move(b));
    }
    plan.concurrent_branches = MaxConcurrentBranches(footprints, spec.memory_limit);
    if (conc <= 1 || plan.concurrent_branches >= want_at_once) break;
  }
  for (const auto& b : plan.branches) CheckFits(plan, b, admit, "source");
  return plan;
}

GraphPlan BuildRestorePlan(const BackupSpec& spec, const PlanContext& pc,
                           const std::vector<RestoreItemPlan>& items, const std::string& target_dir) {
  GraphPlan plan;
  plan.direction = target_dir.empty() ? "verify" : "restore";
  plan.memory_limit = spec.memory_limit;
  plan.parallelism = spec.parallelism;
  plan.chunk_bytes = ChunkBytesFor(spec.memory_limit);
  const DestinationConfig& d = *spec.destination;
  plan.location = LocateArchives(d, pc.hostname, pc.now_unix);
  plan.destination = d.Describe(plan.location.root);
  const size_t chunk = plan.chunk_bytes;
  const uint64_t admit = chunk * 2 + kChunkSlack;  // ciphertext in, plaintext out
  // Our archives' frames hold one backup chunk: frames up to this
  // restore's chunk decode in parallel (same memory_limit as the backup:
  // all of them), larger ones stream. The decoder's buffers take at most a
  // quarter of the budget: fewer threads first, then smaller frames.
  size_t max_frame = chunk;
  int threads = std::max(1, spec.parallelism);
  const uint64_t decoder_cap = spec.memory_limit / 4;
  while (threads > 1 && ParallelZstdDecoder::MaxBufferedBytes(threads, max_frame) > decoder_cap) --threads;
  while (max_frame > (64u << 10) && ParallelZstdDecoder::MaxBufferedBytes(threads, max_frame) > decoder_cap) {
    max_frame /= 2;
  }
  // Framer carry, frames in flight in the decoder, the extractor's queue of
  // up to four pieces.
  const uint64_t other_fixed = AgeDecryptFramer::age_unit() +
                               ParallelZstdDecoder::MaxBufferedBytes(threads, max_frame) + 4 * max_frame;
  const uint64_t reader_cap = spec.memory_limit > other_fixed + admit ? spec.memory_limit - other_fixed - admit : 0;
  const int want_at_once = static_cast<int>(std::min<size_t>(2, items.size()));
  for (int conc = std::max(1, d.concurrency());; --conc) {
    plan.branches.clear();
    std::vector<uint64_t> footprints;
    for (const auto& item : items) {
      const SourceKind* kind = FindSourceKindByExtension(item.name.ext);
      PlanBranch b;
      b.source = item.name.source;
      b.source_type = kind != nullptr ? std::string(kind->type()) : item.name.ext;
      b.archive_key = item.key;
      StreamMemory reader = d.Reader(conc, reader_cap);
      b.admission_x100 = 200;
      b.fixed_bytes = other_fixed + reader.fixed_bytes;
      SizeBranch(b, spec.memory_limit, admit, spec.parallelism);
      const std::string& n = item.name.source;
      std::vector<std::pair<std::string, std::string>> read_params = {{"key", item.key},
                                                                      {"chunk_bytes", absl::StrCat(chunk)}};
      if (reader.request_bytes > 0) {
        read_params.push_back({"reads_in_flight", absl::StrCat(reader.concurrency)});
        read_params.push_back({"read_bytes", absl::StrCat(reader.request_bytes)});
      }
      b.nodes.push_back({n + "/read", "read", 1, std::move(read_params), ReadStage{item.key, chunk, reader}});
      b.nodes.push_back({n + "/age-header", "age-header", 1, {{"identities", "identity_file"}}, AgeDecryptStage{}});
      b.nodes.push_back({n + "/age-decrypt", "age-decrypt", spec.parallelism, {}, AgeDecryptStage{}});
      b.nodes.push_back({n + "/unzstd", "unzstd", threads, {{"max_frame", absl::StrCat(max_frame)}},
                         UnzstdStage{threads, max_frame}});
      std::string into = target_dir.empty() || kind == nullptr ? "verifier" : kind->RestorePath(target_dir, n);
      b.nodes.push_back({n + "/extract", "extract", 1, {{"into", into}}, ExtractStage{kind, target_dir, n}});
      Chain(b);
      footprints.push_back(b.footprint_bytes);
      plan.branches.push_back(std::move(b));
    }
    plan.concurrent_branches = MaxConcurrentBranches(footprints, spec.memory_limit);
    if (conc <= 1 || plan.concurrent_branches >= want_at_once) break;
  }
  for (const auto& b : plan.branches) CheckFits(plan, b, admit, "archive");
  return plan;
}

std::string PrintPlanText(const GraphPlan& plan, bool debug) {
  std::string out = absl::StrCat("plan: ", plan.direction, " to ", plan.destination, "\n",
                                 "memory_limit: ", plan.memory_limit, " bytes, parallelism: ",
                                 plan.parallelism, ", chunk: ", plan.chunk_bytes, " bytes, ",
                                 plan.concurrent_branches, " of ", plan.branches.size(),
                                 " branches at once\n");
  for (const auto& b : plan.branches) {
    std::string at = plan.destination;
    if (!at.empty() && at.back() != '/') at += '/';
    absl::StrAppend(&out, "branch ", b.source, " (", b.source_type, ") -> ", at, b.archive_key, "\n");
    for (const PlanNode& n : b.nodes) {
      std::vector<std::string> ps;
      for (const auto& [k, v] : n.params) ps.push_back(absl::StrCat(k, "=", v));
      absl::StrAppend(&out, "  node ", n.id, " kind=", n.kind, " concurrency=", n.concurrency,
                      ps.empty() ? "" : " ", absl::StrJoin(ps, " "), "\n");
    }
    for (const auto& [from, to] : b.edges) absl::StrAppend(&out, "  edge ", from, " -> ", to, "\n");
    if (debug) {
      absl::StrAppend(&out, "  memory fixed=", b.fixed_bytes, " window_chunks=", b.window_chunks,
                      " footprint=", b.footprint_bytes, "\n");
    }
  }
  return out;
}

std::string PrintPlanDot(const GraphPlan& plan) {
  std::string out = "digraph hostatlas_backup {\n  rankdir=LR;\n";
  for (const auto& b : plan.branches) {
    absl::StrAppend(&out, "  subgraph \"cluster_", b.source, "\" {\n    label=\"", b.source, "\";\n");
    for (const auto& n : b.nodes) {
      absl::StrAppend(&out, "    \"", n.id, "\" [label=\"", n.kind, " x", n.concurrency, "\"];\n");
    }
    for (const auto& [from, to] : b.edges) absl::StrAppend(&out, "    \"", from, "\" -> \"", to, "\";\n");
    absl::StrAppend(&out, "  }\n");
  }
  out += "}\n";
  return out;
}

}  // namespace hab

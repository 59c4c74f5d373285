#include "graphs/plan.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/file_util.h"

namespace hab {

std::string ArchiveName(const std::string& source, const std::string& ext, int64_t now) {
  return absl::StrCat("hostatlas-backup-", source, "-", CompactUtc(now), ".", ext, ".zst.age");
}

std::optional<ParsedArchiveName> ParseArchiveName(const std::string& name) {
  static constexpr absl::string_view kPrefix = "hostatlas-backup-";
  static constexpr absl::string_view kSuffix = ".zst.age";
  if (!absl::StartsWith(name, kPrefix) || !absl::EndsWith(name, kSuffix)) return std::nullopt;
  std::string mid = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  size_t dot = mid.rfind('.');
  if (dot == std::string::npos) return std::nullopt;
  ParsedArchiveName p;
  p.ext = mid.substr(dot + 1);
  if (p.ext != "tar" && p.ext != "pgdump" && p.ext != "sql") return std::nullopt;
  mid = mid.substr(0, dot);
  // "<source>-YYYYMMDDTHHMMSSZ": the timestamp has a fixed shape, so a source
  // named "db" never matches the archives of a source named "db-2".
  if (mid.size() < 18 || mid[mid.size() - 17] != '-') return std::nullopt;
  p.timestamp = mid.substr(mid.size() - 16);
  for (size_t i = 0; i < 16; ++i) {
    char c = p.timestamp[i];
    bool ok = i == 8 ? c == 'T' : i == 15 ? c == 'Z' : absl::ascii_isdigit(static_cast<unsigned char>(c));
    if (!ok) return std::nullopt;
  }
  p.source = mid.substr(0, mid.size() - 17);
  if (!ValidSourceName(p.source)) return std::nullopt;
  return p;
}

size_t ChunkBytesFor(uint64_t memory_limit) {
  uint64_t c = memory_limit / 24;
  c = std::clamp<uint64_t>(c, 64 << 10, 4 << 20);
  return static_cast<size_t>(c / (64 << 10) * (64 << 10));
}

std::string DestinationRoot(const BackupSpec& spec, const PlanContext& pc) {
  const DestinationSpec& d = spec.destination;
  if (d.type == "s3") return ExpandTemplate(d.prefix, pc.hostname, pc.now_unix);
  return ExpandTemplate(d.path, pc.hostname, pc.now_unix);
}

GraphPlan BuildBackupPlan(const BackupSpec& spec, const PlanContext& pc) {
  GraphPlan plan;
  plan.direction = "backup";
  plan.memory_limit = spec.memory_limit;
  plan.parallelism = spec.parallelism;
  plan.chunk_bytes = ChunkBytesFor(spec.memory_limit);
  const DestinationSpec& d = spec.destination;
  std::string root = DestinationRoot(spec, pc);
  plan.destination = d.type == "s3" ? absl::StrCat("s3:", d.endpoint, "/", d.bucket, "/", root)
                     : d.type == "sftp" ? absl::StrCat("sftp:", d.user, "@", d.host, ":", d.port, root)
                                        : absl::StrCat("local:", root);
  for (const SourceSpec& s : spec.sources) {
    PlanBranch b;
    b.source = s.name;
    b.source_type = s.type;
    b.archive_key = ArchiveName(s.name, s.extension(), pc.now_unix);
    if (d.type == "s3") b.archive_key = root + b.archive_key;
    PlanNode src;
    src.id = s.name + "/source";
    if (s.type == "files") {
      src.kind = "tar";
      src.params = {{"paths", absl::StrJoin(s.paths, ",")},
                    {"exclude", absl::StrJoin(s.exclude, ",")},
                    {"format", "pax"}};
    } else {
      src.kind = s.type == "postgres" ? "pg_dump" : "mysqldump";
      src.params = {{"host", s.host}, {"port", absl::StrCat(s.port)}, {"user", s.user},
                    {"database", s.database},
                    {"password", !s.password_env.empty() ? "env:" + s.password_env
                                 : !s.password_file.empty() ? "file:" + s.password_file : "none"},
                    {"extra_args", absl::StrJoin(s.extra_args, " ")},
                    {"timeout_s", absl::StrCat(s.command_timeout_seconds)}};
    }
    src.params.push_back({"chunk_bytes", absl::StrCat(plan.chunk_bytes)});
    b.nodes.push_back(src);
    b.nodes.push_back({s.name + "/zstd", "zstd", spec.parallelism,
                       {{"level", absl::StrCat(spec.zstd_level)}, {"frame", "per chunk"}}});
    b.nodes.push_back({s.name + "/chunker", "chunker", 1, {{"unit", "65536"}}});
    std::vector<std::string> short_r;
    for (const auto& r : spec.recipients) short_r.push_back(r.substr(0, 12) + "...");
    if (!spec.identity_file.empty() && spec.recipients.empty()) short_r.push_back("identity_file:" + spec.identity_file);
    b.nodes.push_back({s.name + "/age", "age", spec.parallelism,
                       {{"recipients", absl::StrJoin(short_r, ",")}, {"chunk", "65536"}}});
    b.nodes.push_back({s.name + "/store", "store", 1,
                       {{"destination", d.type}, {"key", b.archive_key}, {"hash", "sha256"},
                        {"commit", d.type == "s3" ? "CompleteMultipartUpload" : ".partial+rename"}}});
    if (spec.verification != "none") {
      b.nodes.push_back({s.name + "/verify", "verify", 1, {{"mode", spec.verification}}});
    }
    plan.branches.push_back(std::move(b));
  }
  return plan;
}

std::string PrintPlanText(const GraphPlan& plan) {
  std::string out = absl::StrCat("plan: ", plan.direction, " to ", plan.destination, "\n",
                                 "memory_limit: ", plan.memory_limit, " bytes, parallelism: ",
                                 plan.parallelism, ", chunk: ", plan.chunk_bytes, " bytes\n");
  for (const auto& b : plan.branches) {
    absl::StrAppend(&out, "branch ", b.source, " (", b.source_type, ") -> ", b.archive_key, "\n");
    for (size_t i = 0; i < b.nodes.size(); ++i) {
      const PlanNode& n = b.nodes[i];
      std::vector<std::string> ps;
      for (const auto& [k, v] : n.params) ps.push_back(absl::StrCat(k, "=", v));
      absl::StrAppend(&out, "  node ", n.id, " kind=", n.kind, " concurrency=", n.concurrency,
                      ps.empty() ? "" : " ", absl::StrJoin(ps, " "), "\n");
    }
    for (size_t i = 0; i + 1 < b.nodes.size(); ++i) {
      absl::StrAppend(&out, "  edge ", b.nodes[i].id, " -> ", b.nodes[i + 1].id, "\n");
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
    for (size_t i = 0; i + 1 < b.nodes.size(); ++i) {
      absl::StrAppend(&out, "    \"", b.nodes[i].id, "\" -> \"", b.nodes[i + 1].id, "\";\n");
    }
    absl::StrAppend(&out, "  }\n");
  }
  out += "}\n";
  return out;
}

}  // namespace hab

#include "graphs/backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sodium.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/fault.h"
#include "engine/file_util.h"
#include "engine/graph.h"
#include "engine/status_macros.h"
#include "engine/unique_fd.h"
#include "graphs/hooks.h"
#include "nodes/age.h"
#include "nodes/age_stream.h"
#include "nodes/chunker.h"
#include "sources/db_common.h"
#include "sources/dump_source.h"
#include "destinations/local/local_destination.h"
#include "sources/mysql/mysqldump.h"
#include "sources/postgres/pg_dump.h"
#include "destinations/s3/s3_destination.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "nodes/store_sink.h"
#include "sources/files/tar.h"
#include "nodes/zstd.h"

namespace hab {

bool BackupResult::ok() const {
  for (const auto& s : sources) {
    if (!s.status.ok()) return false;
  }
  return true;
}

absl::StatusOr<std::string> S3Credential(const std::string& inline_value, const std::string& file,
                                         const char* env, const char* name) {
  if (!inline_value.empty()) return inline_value;
  if (!file.empty()) {
    HAB_ASSIGN_OR_RETURN(std::string text, ReadPrivateFile(file, absl::StrCat(name, "_file")));
    return std::string(absl::StripAsciiWhitespace(text));
  }
  if (const char* v = std::getenv(env); v != nullptr && *v) return std::string(v);
  return absl::FailedPreconditionError(absl::StrCat("destination.", name, ": not set (set ", name, ", ", name,
                                                    "_file, or the ", env, " environment variable)"));
}

int S3PartConcurrency(const BackupSpec& spec) {
  // Part buffers (concurrency + 2 per source) may take three quarters of the
  // memory budget; the rest is for chunks in flight.
  uint64_t per_source = spec.memory_limit / 4 * 3 / std::max<size_t>(1, spec.sources.size());
  int64_t fit = static_cast<int64_t>(per_source / spec.destination.part_size) - 2;
  return static_cast<int>(std::clamp<int64_t>(fit, 0, spec.destination.concurrency));
}

uint64_t S3FixedBytes(const BackupSpec& spec) {
  if (spec.destination.type != "s3") return 0;
  return spec.destination.part_size * static_cast<uint64_t>(S3PartConcurrency(spec) + 2);
}

absl::StatusOr<std::unique_ptr<Destination>> OpenDestination(const BackupSpec& spec,
                                                              const PlanContext& pc,
                                                              DestinationUse use) {
  const DestinationSpec& d = spec.destination;
  if (d.type == "local") {
    return std::unique_ptr<Destination>(new LocalDestination(DestinationRoot(spec, pc)));
  }
  if (d.type == "s3") {
    S3Options o;
    o.endpoint.endpoint = d.endpoint;
    o.endpoint.region = d.region == "auto" ? "us-east-1" : d.region;
    o.endpoint.bucket = d.bucket;
    o.endpoint.path_style = d.path_style.value_or(!absl::StrContains(d.endpoint, ".amazonaws.com"));
    o.endpoint.ca_file = d.ca_file;
    o.endpoint.timeout_seconds = d.timeout_seconds;
    o.endpoint.cancel = pc.cancel;
    if (use == DestinationUse::kPreflight) {
      // Pre-flight answers quickly or says why: one attempt, a short wait.
      o.endpoint.timeout_seconds = std::min(d.timeout_seconds, kPreflightTimeoutSeconds);
      o.max_attempts = 1;
    }
    HAB_ASSIGN_OR_RETURN(o.endpoint.access_key_id,
                         S3Credential(d.access_key_id, d.access_key_id_file, "AWS_ACCESS_KEY_ID", "access_key_id"));
    HAB_ASSIGN_OR_RETURN(o.endpoint.secret_access_key,
                         S3Credential(d.secret_access_key, d.secret_access_key_file, "AWS_SECRET_ACCESS_KEY",
                                      "secret_access_key"));
    o.prefix = DestinationRoot(spec, pc);
    o.part_size = d.part_size;
    o.concurrency = S3PartConcurrency(spec);
    HAB_ASSIGN_OR_RETURN(std::unique_ptr<S3Destination> s3, S3Destination::Connect(std::move(o)));
    return std::unique_ptr<Destination>(std::move(s3));
  }
  // TODO(SFTP issue): the sftp destination.
  return absl::UnimplementedError(
      absl::StrCat("destination type \"", d.type, "\" is not available in this build yet"));
}

namespace {

absl::StatusOr<std::vector<age::X25519Recipient>> Recipients(const BackupSpec& spec) {
  std::vector<age::X25519Recipient> out;
  for (const auto& r : spec.recipients) {
    HAB_ASSIGN_OR_RETURN(auto rec, age::X25519Recipient::Parse(r));
    out.push_back(rec);
  }
  if (out.empty() && !spec.identity_file.empty()) {
    // The product page allows an identity file as the recipient: derive it.
    HAB_ASSIGN_OR_RETURN(auto ids, age::ReadIdentityFile(spec.identity_file));
    for (const auto& id : ids) out.push_back(id.Recipient());
  }
  if (out.empty()) return absl::InvalidArgumentError("no age recipient configured");
  return out;
}

void ApplyRetention(const BackupSpec& spec, Destination& dest, SourceResult& r) {
  if (spec.keep_last <= 0 || !r.status.ok()) return;
  std::string dir_prefix;
  size_t slash = r.archive_key.rfind('/');
  if (slash != std::string::npos) dir_prefix = r.archive_key.substr(0, slash + 1);
  auto listed = dest.List(dir_prefix + "hostatlas-backup-" + r.name + "-");
  if (!listed.ok()) {
    r.warnings.push_back(absl::StrCat("retention: list failed: ", listed.status().message()));
    return;
  }
  std::vector<std::pair<std::string, std::string>> mine;  // (timestamp, key)
  for (const auto& o : *listed) {
    auto p = ParseArchiveName(Basename(o.key));
    if (p.has_value() && p->source == r.name) mine.push_back({p->timestamp, o.key});
  }
  std::sort(mine.begin(), mine.end());
  if (mine.size() <= static_cast<size_t>(spec.keep_last)) return;
  size_t excess = mine.size() - static_cast<size_t>(spec.keep_last);
  for (size_t i = 0; i < excess; ++i) {
    if (mine[i].second == r.archive_key) continue;  // never the archive just written
    absl::Status st = dest.Remove(mine[i].second);
    if (st.ok()) {
      r.deleted.push_back(mine[i].second);
    } else {
      r.warnings.push_back(absl::StrCat("retention: ", st.message()));
    }
  }
}

SourceResult FailedSource(const PlanBranch& b, absl::Status status) {
  SourceResult r;
  r.name = b.source;
  r.type = b.source_type;
  r.archive_key = b.archive_key;
  r.status = std::move(status);
  return r;
}

void CorruptForTest(Destination& dest, const std::string& key) {
  auto* local = dynamic_cast<LocalDestination*>(&dest);
  if (local == nullptr) return;
  std::string path = local->root() + "/" + key;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_size < 2) return;
  uint8_t b;
  off_t mid = st.st_size / 2;
  if (::pread(fd.get(), &b, 1, mid) == 1) {
    b ^= 0x01;
    (void)!::pwrite(fd.get(), &b, 1, mid);
  }
}

}  // namespace

namespace {

constexpr long kExt4Magic = 0xEF53;    // EXT2/3/4_SUPER_MAGIC
constexpr long kTmpfsMagic = 0x01021994;  // TMPFS_MAGIC

// The used space of the filesystems `paths` are on, where that bounds the
// bytes tar reads from them (mount points below a root are not crossed);
// nullopt where it may not (compression, dedup, reflinks: btrfs, ZFS, XFS).
std::optional<uint64_t> FilesystemBound(const std::vector<std::string>& paths) {
  std::map<std::pair<int, int>, uint64_t> used;  // by f_fsid
  for (const auto& p : paths) {
    struct statfs fs;
    if (::statfs(p.c_str(), &fs) != 0) return std::nullopt;
    if (fs.f_type != kExt4Magic && fs.f_type != kTmpfsMagic) return std::nullopt;
    used[{fs.f_fsid.__val[0], fs.f_fsid.__val[1]}] =
        (static_cast<uint64_t>(fs.f_blocks) - static_cast<uint64_t>(fs.f_bfree)) * static_cast<uint64_t>(fs.f_bsize);
  }
  uint64_t total = 0;
  for (const auto& [id, u] : used) total += u;
  return total;
}

}  // namespace

void EstimateSources(const BackupSpec& spec, PlanContext& pc) {
  pc.estimates.clear();
  pc.estimate_is_bound.clear();
  for (const auto& s : spec.sources) {
    std::optional<uint64_t> bound;
    // S3 sizes its parts from the estimate: a bound could make them huge.
    if (s.type == "files" && spec.destination.type == "local") bound = FilesystemBound(s.paths);
    pc.estimate_is_bound.push_back(bound.has_value());
    pc.estimates.push_back(bound.has_value() ? *bound
                           : s.type == "files" ? EstimateTreeBytes(s.paths, s.exclude, spec.parallelism, pc.cancel)
                                               : 0);
  }
}

namespace {

std::string Gib(uint64_t b) { return absl::StrFormat("%.2f GiB", static_cast<double>(b) / (1 << 30)); }

// Room for 1.2 x the estimated source size (compression usually leaves far
// less, but an incompressible tree must still fit). A bound that does not
// fit is replaced by the walked size first.
void CheckRoom(const BackupSpec& spec, PlanContext& pc, const std::string& what, const std::string& path,
               uint64_t free, std::vector<std::string>& problems) {
  auto need = [&pc] {
    uint64_t estimate = 0;
    for (uint64_t e : pc.estimates) estimate += e;
    return estimate / 10 * 12;
  };
  if (free < need()) {
    for (size_t i = 0; i < pc.estimates.size() && i < spec.sources.size(); ++i) {
      if (i < pc.estimate_is_bound.size() && pc.estimate_is_bound[i]) {
        pc.estimates[i] =
            EstimateTreeBytes(spec.sources[i].paths, spec.sources[i].exclude, spec.parallelism, pc.cancel);
        pc.estimate_is_bound[i] = false;
      }
    }
  }
  if (free < need()) {
    problems.push_back(absl::StrCat("free space: ", what, " ", path, " has ", Gib(free), " free, needs ",
                                    Gib(need()), " (1.2 x the estimated source size)"));
  }
}

}  // namespace

std::vector<std::string> Preflight(const BackupSpec& spec, PlanContext& pc) {
  std::vector<std::string> problems;
  if (!spec.staging_dir.empty()) {
    struct statvfs vfs;
    if (::statvfs(spec.staging_dir.c_str(), &vfs) != 0) {
      problems.push_back(absl::StrCat("staging directory: ", spec.staging_dir, ": ", std::strerror(errno)));
    } else {
      CheckRoom(spec, pc, "staging directory", spec.staging_dir,
                static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize, problems);
    }
  }
  auto cancelled = [&pc] { return pc.cancel != nullptr && pc.cancel->load(); };
  for (const auto& s : spec.sources) {
    if (cancelled()) return problems;
    if (s.type == "files") {
      for (const auto& p : s.paths) {
        if (::access(p.c_str(), R_OK) != 0) {
          problems.push_back(absl::StrCat("source path: ", s.name, ": ", p, ": ", std::strerror(errno)));
        }
      }
    } else {
      auto pw = ResolvePassword(s.password_env, s.password_file);
      if (!pw.ok()) {
        problems.push_back(absl::StrCat("source credentials: ", s.name, ": ", pw.status().message()));
        continue;
      }
      std::vector<std::string> p =
          s.type == "postgres"
              ? PgPreflight(s.name, {s.host, s.port, s.user, s.database, s.extra_args}, *pw, pc.cancel)
              : MysqlPreflight(s.name, {s.host, s.port, s.user, s.database, s.extra_args}, *pw, pc.cancel);
      for (auto& line : p) problems.push_back(std::move(line));
    }
  }
  if (cancelled()) return problems;
  for (auto& p : CheckHooks(spec)) problems.push_back(std::move(p));
  auto rec = Recipients(spec);
  if (!rec.ok()) problems.push_back(absl::StrCat("encryption: recipient: ", rec.status().message()));
  if (spec.verification == "deep" && spec.identity_file.empty()) {
    problems.push_back("verification: deep: needs encryption.identity_file to decrypt the archive back"
                       "\nhint: set encryption.identity_file or use verification.mode: size");
  }
  if (spec.destination.type == "s3" && S3PartConcurrency(spec) < 1) {
    problems.push_back(absl::StrCat(
        "destination: s3: performance.memory_limit (", spec.memory_limit, " bytes) cannot hold 3 parts of ",
        spec.destination.part_size, " bytes for each of ", spec.sources.size(),
        " sources\nhint: raise performance.memory_limit or lower destination.part_size"));
  }
  auto dest = OpenDestination(spec, pc, DestinationUse::kPreflight);
  if (!dest.ok()) {
    problems.push_back(absl::StrCat("destination: ", spec.destination.type, ": ", dest.status().message()));
  } else {
    absl::Status st = (*dest)->Probe();
    if (!st.ok()) {
      problems.push_back(absl::StrCat("destination: ", (*dest)->Describe(), ": not writable: ", st.message()));
    } else if (auto free = (*dest)->FreeBytes(); free.ok()) {
      CheckRoom(spec, pc, "destination", (*dest)->Describe(), *free, problems);
    }
  }
  return problems;
}

BackupResult RunBackup(const BackupSpec& spec, const PlanContext& pc, const std::atomic<bool>& cancel) {
  BackupResult result;
  GraphPlan plan = BuildBackupPlan(spec, pc);
  auto dest_or = OpenDestination(spec, pc);
  auto rec_or = Recipients(spec);
  if (!dest_or.ok() || !rec_or.ok()) {
    absl::Status st = !dest_or.ok() ? dest_or.status() : rec_or.status();
    for (const auto& b : plan.branches) {
      result.sources.push_back(FailedSource(b, st));
    }
    return result;
  }
  std::unique_ptr<Destination> dest = std::move(*dest_or);
  if (auto* s3 = dynamic_cast<S3Destination*>(dest.get())) {
    // Uploads of a run that was killed stay open (and billed) until aborted.
    auto n = s3->AbortOrphanUploads(absl::Hours(24));
    if (!n.ok()) result.warnings.push_back(absl::StrCat("orphan uploads not checked: ", n.status().message()));
  }
  MemoryBudget budget(spec.memory_limit);
  Graph graph(&budget, spec.parallelism);
  std::optional<FaultSpec> fault = FaultFromEnv();
  std::vector<std::shared_ptr<TarStats>> stats;
  std::vector<std::shared_ptr<DumpStats>> dump_stats;
  std::optional<bool> mariadb;
  std::vector<size_t> added;  // plan index of each branch handed to the graph
  std::vector<std::shared_ptr<ArchiveDigest>> digests;
  std::vector<const ZstdCompress*> zstds(plan.branches.size(), nullptr);
  for (size_t i = 0; i < plan.branches.size(); ++i) {
    const PlanBranch& b = plan.branches[i];
    const SourceSpec& s = spec.sources[i];
    BranchSpec bs;
    bs.name = b.source;
    // Per-plan-index result holders (indexed by `added` after the run).
    auto st = std::make_shared<TarStats>();
    auto ds = std::make_shared<DumpStats>();
    auto digest = std::make_shared<ArchiveDigest>();
    stats.push_back(st);
    dump_stats.push_back(ds);
    digests.push_back(digest);
    if (s.type == "files") {
      bs.source = MaybeFaulty(std::make_unique<TarSource>(
          TarOptions{.paths = s.paths, .exclude = s.exclude, .chunk_bytes = plan.chunk_bytes}, st), fault);
    } else {
      DumpOptions d;
      d.timeout_seconds = s.command_timeout_seconds;
      d.chunk_bytes = plan.chunk_bytes;
      auto pw = ResolvePassword(s.password_env, s.password_file);
      absl::Status err = pw.status();
      if (s.type == "postgres") {
        d.tool = "pg_dump";
        d.argv = PgDumpArgv({s.host, s.port, s.user, s.database, s.extra_args});
        if (pw.ok() && !pw->empty()) d.env.push_back("PGPASSWORD=" + *pw);
      } else {
        d.tool = "mysqldump";
        if (!mariadb.has_value()) {
          auto m = MysqldumpIsMariaDb();
          if (m.ok()) mariadb = *m;
          else err = m.status();
        }
        d.argv = MysqldumpArgv({s.host, s.port, s.user, s.database, s.extra_args}, mariadb.value_or(true));
        if (pw.ok() && !pw->empty()) d.env.push_back("MYSQL_PWD=" + *pw);
      }
      if (pw.ok()) sodium_memzero(pw->data(), pw->size());
      if (!err.ok()) {
        result.sources.push_back(FailedSource(b, err));
        continue;
      }
      bs.source = MaybeFaulty(std::make_unique<DumpSource>(std::move(d), ds), fault);
    }
    auto zstd = std::make_unique<ZstdCompress>(ZstdOptions{spec.zstd_level}, spec.parallelism);
    zstds[i] = zstd.get();  // owned by the graph, which outlives the results below
    bs.transforms.push_back(MaybeFaulty(std::move(zstd), fault));
    bs.transforms.push_back(MaybeFaulty(std::make_unique<ChunkerNode>(age::kChunkSize), fault));
    auto enc = AgeEncrypt::Create(*rec_or, spec.parallelism);
    if (!enc.ok()) {
      result.sources.push_back(FailedSource(b, enc.status()));
      continue;
    }
    bs.transforms.push_back(MaybeFaulty(std::move(*enc), fault));
    uint64_t estimate = i < pc.estimates.size() ? pc.estimates[i] : 0;
    bs.sink = MaybeFaulty(std::make_unique<StoreSink>(dest.get(), b.archive_key, digest, estimate), fault);
    bs.admission_x100 = 300;
    bs.fixed_bytes = Chunker::FixedBytes(age::kChunkSize) + (1 << 20) + S3FixedBytes(spec);
    if (auto* s3 = dynamic_cast<S3Destination*>(dest.get())) {
      // A large source grows its part size; its part buffers grow with it.
      uint64_t part = s3->PartSizeFor(estimate);
      bs.fixed_bytes += (part - spec.destination.part_size) * static_cast<uint64_t>(S3PartConcurrency(spec) + 2);
    }
    graph.AddBranch(std::move(bs));
    added.push_back(i);
  }
  std::vector<BranchResult> runs = graph.Run(cancel);
  result.memory_peak = budget.peak();
  for (size_t k = 0; k < runs.size(); ++k) {
    size_t i = added[k];
    SourceResult r;
    r.name = plan.branches[i].source;
    r.type = plan.branches[i].source_type;
    r.archive_key = plan.branches[i].archive_key;
    r.status = runs[k].status;
    r.bytes_in = stats[i]->stream_bytes + dump_stats[i]->bytes;
    r.members = stats[i]->members;
    r.zstd_frames = zstds[i]->frames();
    r.zstd_stored_frames = zstds[i]->stored_frames();
    r.bytes_out = digests[i]->bytes;
    r.sha256 = digests[i]->sha256_hex;
    r.seconds = runs[k].seconds;
    r.warnings = runs[k].warnings;
    if (r.status.ok() && spec.verification != "none") {
      auto info = dest->Stat(r.archive_key);
      if (!info.ok()) {
        r.verification = absl::StrCat("failed: ", info.status().message());
      } else if (info->size != r.bytes_out) {
        r.verification = absl::StrCat("failed: size ", info->size, " at the destination, ", r.bytes_out, " written");
      } else {
        r.verification = "ok";
      }
      if (r.verification == "ok" && fault.has_value() && fault->node == "committed") {
        // Test hook: damage the committed archive between write and verify.
        CorruptForTest(*dest, r.archive_key);
      }
      if (r.verification == "ok" && spec.verification == "deep") {
        std::string ext = spec.sources[i].extension();
        auto members = VerifyDeep(spec, *dest, r.archive_key, ext, cancel);
        if (!members.ok()) {
          r.verification = absl::StrCat("failed: deep: ", members.status().message());
        } else if (ext == "tar" && *members != r.members) {
          r.verification = absl::StrCat("failed: deep: ", *members, " tar members read back, ",
                                        r.members, " written");
        } else if (ext == "pgdump") {
          r.members = *members;  // table-of-contents entries
        }
      }
      if (r.verification != "ok") {
        r.status = absl::DataLossError(absl::StrCat("verification ", r.verification));
      }
    }
    ApplyRetention(spec, *dest, r);
    result.sources.push_back(std::move(r));
  }
  return result;
}

}  // namespace hab

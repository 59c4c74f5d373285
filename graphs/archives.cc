#include "graphs/archives.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "destinations/path_template.h"
#include "engine/file_util.h"
#include "graphs/config.h"
#include "sources/registry.h"

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
  if (FindSourceKindByExtension(p.ext) == nullptr) return std::nullopt;
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
  if (!ValidCompactUtc(p.timestamp)) return std::nullopt;  // a real time: no month 13, no 25:00
  p.source = mid.substr(0, mid.size() - 17);
  if (!ValidSourceName(p.source)) return std::nullopt;
  return p;
}

std::string ArchiveLocation::KeyFor(const std::string& archive_name) const {
  return folder.empty() ? archive_name : absl::StrCat(folder, "/", archive_name);
}

ArchiveLocation LocateArchives(const DestinationConfig& dest, const std::string& hostname, int64_t now) {
  SplitTemplate split = SplitAtDate(dest.root_template(), hostname, now);
  ArchiveLocation out;
  out.root = split.root;
  out.dated = split.dated;
  out.folder = ExpandTemplate(split.dated, hostname, now);
  out.hostname = hostname;
  return out;
}

absl::StatusOr<std::vector<ArchiveRef>> ListArchives(Destination& dest, const ArchiveLocation& where) {
  // Narrow the listing: archives directly in the root start with our
  // prefix; dated folders start with the dated part's literal text.
  std::string prefix = where.dated.empty() ? "hostatlas-backup-" : where.dated.substr(0, where.dated.find("{{"));
  auto listed = dest.List(prefix);
  if (!listed.ok()) return listed.status();
  std::vector<ArchiveRef> out;
  for (auto& o : *listed) {
    std::string folder = o.key.find('/') == std::string::npos ? "" : Dirname(o.key);
    if (!FolderMatches(where.dated, folder, where.hostname)) continue;
    auto p = ParseArchiveName(Basename(o.key));
    if (!p.has_value()) continue;
    out.push_back({std::move(o.key), std::move(*p), o.size, o.mtime_unix});
  }
  std::sort(out.begin(), out.end(), [](const ArchiveRef& a, const ArchiveRef& b) {
    return a.name.timestamp != b.name.timestamp ? a.name.timestamp < b.name.timestamp : a.key < b.key;
  });
  return out;
}

bool IsArchiveOf(const ParsedArchiveName& name, const SourceConfig& source) {
  return name.source == source.name() && name.ext == source.kind().extension();
}

const SourceConfig* SourceOf(const ParsedArchiveName& name,
                             const std::vector<std::shared_ptr<const SourceConfig>>& sources) {
  for (const auto& s : sources) {
    if (IsArchiveOf(name, *s)) return s.get();
  }
  return nullptr;
}

bool IsKeyOf(absl::string_view key, const ArchiveLocation& where,
             const std::vector<std::shared_ptr<const SourceConfig>>& sources) {
  std::string k(key);
  std::string folder = k.find('/') == std::string::npos ? "" : Dirname(k);
  if (!FolderMatches(where.dated, folder, where.hostname)) return false;
  auto p = ParseArchiveName(Basename(k));
  return p.has_value() && SourceOf(*p, sources) != nullptr;
}

bool DatedInTheFuture(const ParsedArchiveName& name, int64_t now_unix) {
  return name.timestamp > CompactUtc(now_unix + kFutureSlackSeconds);  // fixed width: compares as time
}

}  // namespace hab

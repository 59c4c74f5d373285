// Archives at a destination: their names, where a config puts them, and
// finding them again (retention, status, list, restore, verify).
//
// An archive is "hostatlas-backup-<source>-<YYYYMMDDTHHMMSSZ>.<ext>.zst.age"
// in the destination's folder. With {{ date }} in the path or prefix every
// day has its own folder: the destination is opened at the static part of
// the template and archives are found in every folder that matches the
// dated part (destinations/path_template.h), so `keep_last` counts across
// days and restore finds yesterday's archive.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "destinations/destination_kind.h"
#include "engine/destination.h"
#include "sources/source_kind.h"

namespace hab {

// "hostatlas-backup-<source>-<YYYYMMDDTHHMMSSZ>.<ext>.zst.age".
std::string ArchiveName(const std::string& source, const std::string& ext, int64_t now_unix);
struct ParsedArchiveName {
  std::string source;
  std::string timestamp;  // YYYYMMDDTHHMMSSZ
  std::string ext;        // tar | pgdump | sql (any registered source kind's)
};
// Strict: anything else (foreign files, .partial, a source part that is not
// a valid source name) is nullopt.
std::optional<ParsedArchiveName> ParseArchiveName(const std::string& file_name);

// Where one run's archives go: the destination root (the template's static
// part) and the folder below it for today ("" without {{ date }}).
struct ArchiveLocation {
  std::string root;    // expanded static part
  std::string dated;   // the dated part, unexpanded ("" if none)
  std::string folder;  // the dated part expanded for this run ("" if none)
  std::string hostname;
  // The key of a new archive: folder + "/" + name.
  std::string KeyFor(const std::string& archive_name) const;
};
ArchiveLocation LocateArchives(const DestinationConfig& dest, const std::string& hostname, int64_t now_unix);

struct ArchiveRef {
  std::string key;  // relative to the root
  ParsedArchiveName name;
  uint64_t size = 0;
  int64_t mtime_unix = 0;
};
// Every archive at the destination under the location's root whose folder
// matches its dated part, oldest first (by timestamp, then key).
absl::StatusOr<std::vector<ArchiveRef>> ListArchives(Destination& dest, const ArchiveLocation& where);

// An archive of this configured source: its name and its kind's archive
// extension (a files source "app" never counts, prunes or restores the
// dumps of a database source "app" of another config at the same path).
bool IsArchiveOf(const ParsedArchiveName& name, const SourceConfig& source);
// A key (relative to the root) that this config's run would write: a
// folder that matches the location's dated part (this host's, with
// {{ hostname }}) and an archive of one of `sources`. What leftovers may
// be swept: another host's folder is never touched.
bool IsKeyOf(absl::string_view key, const ArchiveLocation& where,
             const std::vector<std::shared_ptr<const SourceConfig>>& sources);
// The configured source an archive belongs to (nullptr: none).
const SourceConfig* SourceOf(const ParsedArchiveName& name,
                             const std::vector<std::shared_ptr<const SourceConfig>>& sources);

// An archive whose name is dated more than kFutureSlackSeconds after
// `now_unix`: written while the clock was ahead, or a name planted in a
// shared folder. Retention neither counts nor deletes it, restore and
// verify do not take it for the newest (it can still be named with
// --from); each says so.
constexpr int64_t kFutureSlackSeconds = 300;
bool DatedInTheFuture(const ParsedArchiveName& name, int64_t now_unix);

}  // namespace hab

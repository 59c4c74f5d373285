#include "graphs/status.h"

#include <dirent.h>
#include <limits.h>
#include <simdjson.h>
#include <stdlib.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "engine/file_util.h"
#include "engine/human.h"
#include "graphs/archives.h"
#include "graphs/backup.h"
#include "graphs/run_log.h"
#include "sources/registry.h"

namespace hab {
namespace {


struct RunSummary {
  std::string path, raw;
  std::string status, started, ended;
  int64_t exit_code = -1;
  bool dry_run = false;
  uint64_t warnings = 0;  // run-level and per source
  std::vector<std::string> source_lines;
  std::vector<std::string> hook_failures;
};

// Reads a field if it is there with that type; leaves `out` alone if not.
template <class R, class T>
void Read(R&& result, T& out) {
  simdjson::error_code e = std::forward<R>(result).get(out);
  (void)e;
}

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get_string().get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

// The newest run log of `config` that is not a lock collision (a run that
// never ran is not "the last run"); real runs win over dry runs.
std::optional<RunSummary> LastRun(const std::string& dir, const std::string& config) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (absl::StartsWith(n, "run-") && absl::EndsWith(n, ".json")) names.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(names.rbegin(), names.rend());  // names start with the UTC start time
  std::optional<RunSummary> dry;
  simdjson::dom::parser parser;
  for (const auto& n : names) {
    std::string path = dir + "/" + n;
    auto raw = ReadFile(path);
    if (!raw.ok()) continue;
    simdjson::dom::element doc;
    if (parser.parse(*raw).get(doc) != simdjson::SUCCESS) continue;
    if (Str(doc, "config") != config) continue;
    bool collision = false;
    Read(doc["lock_collision"].get_bool(), collision);
    if (collision) continue;
    RunSummary r;
    r.path = path;
    r.raw = std::string(absl::StripTrailingAsciiWhitespace(*raw));
    r.status = Str(doc, "status");
    r.started = Str(doc, "started_at");
    r.ended = Str(doc, "ended_at");
    Read(doc["exit_code"].get_int64(), r.exit_code);
    Read(doc["dry_run"].get_bool(), r.dry_run);
    simdjson::dom::array arr;
    if (doc["warnings"].get_array().get(arr) == simdjson::SUCCESS) r.warnings += arr.size();
    if (doc["sources"].get_array().get(arr) == simdjson::SUCCESS) {
      for (simdjson::dom::element s : arr) {
        uint64_t out = 0;
        Read(s["bytes_out"].get_uint64(), out);
        simdjson::dom::array w;
        size_t nw = s["warnings"].get_array().get(w) == simdjson::SUCCESS ? w.size() : 0;
        r.warnings += nw;
        std::string err = Str(s, "error");
        r.source_lines.push_back(absl::StrCat(
            Str(s, "name"), ": ", Str(s, "status"), ", ", HumanBytes(out), ", ", Str(s, "archive_key"),
            ", verification ", Str(s, "verification"), nw > 0 ? absl::StrCat(", ", nw, " warning(s)") : "",
            err.empty() ? "" : absl::StrCat(", error: ", err)));
      }
    }
    if (doc["hooks"].get_array().get(arr) == simdjson::SUCCESS) {
      for (simdjson::dom::element h : arr) {
        bool ok = true;
        Read(h["ok"].get_bool(), ok);
        if (ok) continue;
        std::string tail(absl::StripTrailingAsciiWhitespace(Str(h, "output_tail")));
        r.hook_failures.push_back(absl::StrCat(Str(h, "phase"), "-hook \"", Str(h, "command"), "\" failed (",
                                               Str(h, "outcome"), ")",
                                               tail.empty() ? "" : absl::StrCat(": ", tail)));
      }
    }
    if (!r.dry_run) return r;
    if (!dry.has_value()) dry = std::move(r);
  }
  return dry;
}

struct Snapshot {
  std::string describe;
  std::string error;
  std::vector<ArchiveRef> archives;
  std::vector<ObjectInfo> leftovers;
};

Snapshot TakeSnapshot(const StatusOptions& o) {
  Snapshot s;
  PlanContext pc;
  pc.hostname = o.hostname;
  pc.now_unix = o.now_unix;
  pc.cancel = o.cancel;
  ArchiveLocation where = LocateArchives(*o.spec->destination, o.hostname, o.now_unix);
  s.describe = o.spec->destination->Describe(where.root);
  auto dest = OpenDestination(*o.spec, pc, where.root);
  if (!dest.ok()) {
    s.error = std::string(dest.status().message());
    return s;
  }
  auto listed = ListArchives(**dest, where);
  if (!listed.ok()) {
    s.error = std::string(listed.status().message());
    return s;
  }
  s.archives = std::move(*listed);
  OrphanFilter f;
  f.ours = [&o, &where](absl::string_view final_key) { return IsKeyOf(final_key, where, o.spec->sources); };
  f.before_unix = o.now_unix;
  if (auto orphans = (*dest)->ListOrphans(f); orphans.ok()) s.leftovers = std::move(*orphans);
  return s;
}

}  // namespace

absl::StatusOr<std::string> RenderStatus(const StatusOptions& o) {
  auto dir = RunLog::Directory();
  if (!dir.ok()) return dir.status();
  std::optional<RunSummary> last = LastRun(*dir, RealPathOr(o.config_path));
  std::string text, json_last = "null";
  if (!last.has_value()) {
    text = absl::StrCat("last run: none recorded for ", RealPathOr(o.config_path), " in ", *dir, "\n");
  } else {
    json_last = last->raw;
    absl::StrAppend(&text, "last run: ", last->status, last->dry_run ? " (dry run)" : "", ", exit ",
                    last->exit_code, ", ", last->started, " .. ", last->ended,
                    last->warnings > 0 ? absl::StrCat(", ", last->warnings, " warning(s)") : "", "\n",
                    "run log: ", last->path, "\n");
    for (const auto& l : last->source_lines) absl::StrAppend(&text, "  ", l, "\n");
    for (const auto& h : last->hook_failures) absl::StrAppend(&text, "  ", h, "\n");
  }
  // RFC 3339 UTC strings of one shape compare as times.
  std::string json_unfinished = "null";
  bool newer = !o.lock_started.empty() && (!last.has_value() || o.lock_started > last->ended);
  if (newer) {
    if (o.lock_running) {
      absl::StrAppend(&text, "run in progress: pid ", o.lock_pid, ", started ", o.lock_started, "\n");
    } else if (!last.has_value()) {
      // No run log of this config at all: it may have been killed, or its
      // logs go elsewhere (HOSTATLAS_BACKUP_LOG_DIR): no verdict.
      absl::StrAppend(&text, "last run to take the lock: pid ", o.lock_pid, ", started ", o.lock_started,
                      "; no run log of it in ", *dir, "\n");
    } else {
      absl::StrAppend(&text, "unfinished run: pid ", o.lock_pid, " started ", o.lock_started,
                      " and ended without a run log in ", *dir, " (killed: kill -9, out of memory?)\n");
    }
    json_unfinished = absl::StrCat("{\"pid\":", o.lock_pid, ",\"started_at\":", JsonString(o.lock_started),
                                   ",\"running\":", o.lock_running ? "true" : "false", "}");
  }
  std::string json_dest = "null";
  if (o.spec != nullptr) {
    Snapshot s = TakeSnapshot(o);
    if (!s.error.empty()) {
      absl::StrAppend(&text, "destination: ", s.describe, ": ", s.error, "\n");
    } else {
      struct PerSource {
        int count = 0;
        uint64_t bytes = 0;
        std::string newest;
      };
      std::map<std::string, PerSource> per;
      for (const auto& a : s.archives) {  // oldest first
        auto& ps = per[a.name.source];
        ++ps.count;
        ps.bytes += a.size;
        ps.newest = a.key;
      }
      absl::StrAppend(&text, "destination: ", s.describe, "\n");
      std::vector<std::string> js;
      for (const auto& [name, ps] : per) {
        absl::StrAppend(&text, "  ", name, ": ", ps.count, " archives, ", HumanBytes(ps.bytes), ", newest ",
                        ps.newest, "\n");
        js.push_back(absl::StrCat("{\"source\":", JsonString(name), ",\"archives\":", ps.count,
                                  ",\"bytes\":", ps.bytes, ",\"newest\":", JsonString(ps.newest), "}"));
      }
      if (per.empty()) absl::StrAppend(&text, "  no archives\n");
      std::vector<std::string> jl;
      for (const auto& l : s.leftovers) {
        absl::StrAppend(&text, "  unfinished archive: ", l.key,
                        " (a run in progress, or a leftover of a killed one: the next run removes it once "
                        "nothing has touched it for 10 minutes)\n");
        jl.push_back(JsonString(l.key));
      }
      json_dest = absl::StrCat("{\"destination\":", JsonString(s.describe), ",\"sources\":[",
                               absl::StrJoin(js, ","), "],\"leftovers\":[", absl::StrJoin(jl, ","), "]}");
    }
  }
  absl::StrAppend(&text, o.hostatlas_text);
  if (o.json) {
    return absl::StrCat("{\"last_run\":", json_last, ",\"unfinished_run\":", json_unfinished,
                        ",\"destination\":", json_dest, ",\"hostatlas\":", o.hostatlas_json, "}\n");
  }
  return text;
}

absl::StatusOr<std::string> RenderList(const StatusOptions& o) {
  Snapshot s = TakeSnapshot(o);
  if (!s.error.empty()) return absl::UnavailableError(absl::StrCat(s.describe, ": ", s.error));
  std::vector<const ArchiveRef*> newest_first;
  for (const auto& a : s.archives) newest_first.push_back(&a);
  std::reverse(newest_first.begin(), newest_first.end());
  if (o.json) {
    std::vector<std::string> js;
    for (const ArchiveRef* a : newest_first) {
      const std::string& t = a->name.timestamp;  // YYYYMMDDTHHMMSSZ -> RFC 3339
      std::string rfc3339 = absl::StrCat(t.substr(0, 4), "-", t.substr(4, 2), "-", t.substr(6, 2), "T", t.substr(9, 2),
                                         ":", t.substr(11, 2), ":", t.substr(13, 2), "Z");
      const SourceKind* kind = FindSourceKindByExtension(a->name.ext);
      js.push_back(absl::StrCat("{\"source\":", JsonString(a->name.source), ",\"type\":",
                                JsonString(kind != nullptr ? std::string(kind->type()) : a->name.ext),
                                ",\"key\":", JsonString(a->key), ",\"time\":", JsonString(rfc3339),
                                ",\"size\":", a->size, "}"));
    }
    return absl::StrCat("{\"destination\":", JsonString(s.describe), ",\"archives\":[", absl::StrJoin(js, ","),
                        "]}\n");
  }
  std::string text = absl::StrCat("destination: ", s.describe, "\n");
  std::map<std::string, std::vector<const ArchiveRef*>> per;
  for (const ArchiveRef* a : newest_first) per[a->name.source].push_back(a);
  for (const auto& [name, list] : per) {
    absl::StrAppend(&text, name, " (", list.size(), " archives)\n");
    for (const ArchiveRef* a : list) {
      const std::string& t = a->name.timestamp;  // YYYYMMDDTHHMMSSZ
      std::string when = absl::StrCat(t.substr(0, 4), "-", t.substr(4, 2), "-", t.substr(6, 2), " ",
                                      t.substr(9, 2), ":", t.substr(11, 2), ":", t.substr(13, 2), "Z");
      absl::StrAppend(&text, "  ", when, "  ", HumanBytes(a->size), "  ", a->key, "\n");
    }
  }
  if (per.empty()) absl::StrAppend(&text, "no archives\n");
  return text;
}

}  // namespace hab

#include "graphs/status.h"

#include <dirent.h>

#include <algorithm>
#include <map>
#include <simdjson.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "engine/file_util.h"
#include "graphs/backup.h"
#include "graphs/plan.h"
#include "graphs/run_log.h"

namespace hab {
namespace {

// Newest run log by name (names start with the UTC start time); real runs
// win over dry-runs.
std::string NewestRunLog(const std::string& dir) {
  std::vector<std::string> runs, dry;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (!absl::StartsWith(n, "run-") || !absl::EndsWith(n, ".json")) continue;
      (absl::StrContains(n, "-dry-run") ? dry : runs).push_back(n);
    }
    ::closedir(d);
  }
  auto& pick = runs.empty() ? dry : runs;
  if (pick.empty()) return "";
  return dir + "/" + *std::max_element(pick.begin(), pick.end());
}

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

}  // namespace

absl::StatusOr<std::string> RenderStatus(const StatusOptions& o) {
  std::string dir = RunLog::Directory();
  std::string path = NewestRunLog(dir);
  std::string text, json_last = "null";
  if (path.empty()) {
    text = absl::StrCat("last run: none recorded in ", dir, "\n");
  } else {
    auto raw = ReadFile(path);
    if (!raw.ok()) return raw.status();
    json_last = std::string(absl::StripTrailingAsciiWhitespace(*raw));
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(*raw);
    simdjson::ondemand::document doc;
    if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
      return absl::DataLossError(absl::StrCat("run log ", path, " is not valid JSON"));
    }
    std::string_view status, started, ended;
    int64_t exit_code = -1;
    bool dry = false;
    if (doc["status"].get_string().get(status) || doc["started_at"].get_string().get(started) ||
        doc["ended_at"].get_string().get(ended) || doc["exit_code"].get_int64().get(exit_code) ||
        doc["dry_run"].get_bool().get(dry)) {
      return absl::DataLossError(absl::StrCat("run log ", path, " lacks required fields"));
    }
    absl::StrAppend(&text, "last run: ", std::string(status), dry ? " (dry run)" : "", ", exit ",
                    exit_code, ", ", std::string(started), " .. ", std::string(ended), "\n",
                    "run log: ", path, "\n");
    simdjson::ondemand::array sources;
    if (doc["sources"].get_array().get(sources) == simdjson::SUCCESS) {
      for (auto item : sources) {
        simdjson::ondemand::object s;
        if (item.get_object().get(s)) continue;
        std::string_view name, st, key, ver;
        uint64_t out = 0;
        // A missing field just stays empty in the summary.
        simdjson::error_code ignored;
        ignored = s["name"].get_string().get(name);
        ignored = s["archive_key"].get_string().get(key);
        ignored = s["status"].get_string().get(st);
        ignored = s["bytes_out"].get_uint64().get(out);
        ignored = s["verification"].get_string().get(ver);
        std::string_view err;
        bool has_err = s["error"].get_string().get(err) == simdjson::SUCCESS;
        (void)ignored;
        absl::StrAppend(&text, "  ", std::string(name), ": ", std::string(st), ", ", Human(out), ", ",
                        std::string(key), ", verification ", std::string(ver),
                        has_err ? absl::StrCat(", error: ", std::string(err)) : "", "\n");
      }
    }
  }
  std::string json_dest = "null";
  if (o.spec != nullptr) {
    PlanContext pc;
    pc.hostname = o.hostname;
    pc.now_unix = o.now_unix;
    auto dest = OpenDestination(*o.spec, pc);
    if (!dest.ok()) {
      absl::StrAppend(&text, "destination: ", dest.status().message(), "\n");
    } else {
      std::string prefix = o.spec->destination.type == "s3" ? DestinationRoot(*o.spec, pc) : "";
      auto listed = (*dest)->List(prefix + "hostatlas-backup-");
      if (!listed.ok()) {
        absl::StrAppend(&text, "destination: ", (*dest)->Describe(), ": ", listed.status().message(), "\n");
      } else {
        struct PerSource { int count = 0; uint64_t bytes = 0; std::string newest; };
        std::map<std::string, PerSource> per;
        for (const auto& obj : *listed) {
          auto p = ParseArchiveName(Basename(obj.key));
          if (!p.has_value()) continue;
          auto& ps = per[p->source];
          ++ps.count;
          ps.bytes += obj.size;
          if (Basename(obj.key) > Basename(ps.newest)) ps.newest = obj.key;
        }
        absl::StrAppend(&text, "destination: ", (*dest)->Describe(), "\n");
        std::vector<std::string> js;
        for (const auto& [name, ps] : per) {
          absl::StrAppend(&text, "  ", name, ": ", ps.count, " archives, ", Human(ps.bytes),
                          ", newest ", ps.newest, "\n");
          js.push_back(absl::StrCat("{\"source\":", JsonString(name), ",\"archives\":", ps.count,
                                    ",\"bytes\":", ps.bytes, ",\"newest\":", JsonString(ps.newest), "}"));
        }
        if (per.empty()) absl::StrAppend(&text, "  no archives\n");
        json_dest = absl::StrCat("{\"destination\":", JsonString((*dest)->Describe()), ",\"sources\":[",
                                 absl::StrJoin(js, ","), "]}");
      }
    }
  }
  if (o.json) return absl::StrCat("{\"last_run\":", json_last, ",\"destination\":", json_dest, "}\n");
  return text;
}

}  // namespace hab

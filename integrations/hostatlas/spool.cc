#include "integrations/hostatlas/spool.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/file_util.h"

namespace hab::hostatlas {
namespace {

// "20261129T030000Z" -> unix seconds; -1 if it is not one.
int64_t ParseCompact(const std::string& s) {
  struct tm tm = {};
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return -1;
  if (::strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) return -1;
  return static_cast<int64_t>(::timegm(&tm));
}

}  // namespace

std::vector<Spool::Entry> Spool::Scan() const {
  std::vector<Entry> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    // <16-char time>-<36-char uuid>.json
    if (n.size() != 16 + 1 + 36 + 5 || !absl::EndsWith(n, ".json") || n[16] != '-') continue;
    int64_t t = ParseCompact(n.substr(0, 16));
    if (t < 0) continue;
    out.push_back({dir_ + "/" + n, n.substr(17, 36), t});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return out;
}

size_t Spool::Count() const { return Scan().size(); }

std::vector<Spool::Entry> Spool::List(int64_t now, std::vector<std::string>* dropped) const {
  std::vector<Entry> all = Scan(), out;
  for (auto& e : all) {
    if (now - e.written_unix > int64_t{kMaxAgeDays} * 86400) {
      Remove(e);
      if (dropped != nullptr) dropped->push_back(e.run_id);
    } else {
      out.push_back(std::move(e));
    }
  }
  return out;
}

absl::Status Spool::Add(const std::string& run_id, int64_t now, const std::string& body,
                        std::vector<std::string>* dropped) {
  if (absl::Status st = MakeDirs(dir_, 0700); !st.ok()) return st;
  std::string path = absl::StrCat(dir_, "/", CompactUtc(now), "-", run_id, ".json");
  if (absl::Status st = WriteFileAtomic(path, body, 0600); !st.ok()) return st;
  std::vector<Entry> all = List(now, dropped);
  for (size_t i = 0; all.size() - i > kMaxEntries; ++i) {
    Remove(all[i]);
    if (dropped != nullptr) dropped->push_back(all[i].run_id);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Spool::Read(const Entry& e) const { return ReadFile(e.path, 64 << 20); }

void Spool::Remove(const Entry& e) const { ::unlink(e.path.c_str()); }

}  // namespace hab::hostatlas

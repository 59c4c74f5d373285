#include "integrations/hostatlas/spool.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/file_util.h"

namespace hab::hostatlas {
namespace {

constexpr size_t kTime = 16, kUuid = 36;

// "20261129T030000Z" -> unix seconds; -1 if it is not one.
int64_t ParseCompact(const std::string& s) {
  struct tm tm = {};
  if (s.size() != kTime || s[8] != 'T' || s[15] != 'Z') return -1;
  if (::strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) return -1;
  return static_cast<int64_t>(::timegm(&tm));
}

}  // namespace

bool Spool::ValidKeyId(absl::string_view k) {
  if (k.empty() || k.size() > 100) return false;
  for (char c : k) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

std::vector<Spool::Entry> Spool::Scan(bool every_key) const {
  std::vector<Entry> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    // <time>-<uuid>-<key_id>.json
    if (n.size() <= kTime + 1 + kUuid + 1 + 5 || !absl::EndsWith(n, ".json") || n[kTime] != '-' ||
        n[kTime + 1 + kUuid] != '-') {
      continue;
    }
    int64_t t = ParseCompact(n.substr(0, kTime));
    std::string key = n.substr(kTime + 1 + kUuid + 1, n.size() - (kTime + 1 + kUuid + 1) - 5);
    if (t < 0 || !ValidKeyId(key) || (!every_key && key != key_id_)) continue;
    out.push_back({dir_ + "/" + n, n.substr(kTime + 1, kUuid), key, t});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return out;
}

size_t Spool::Count() const { return Scan(key_id_.empty()).size(); }

std::vector<Spool::Entry> Spool::List(int64_t now, std::vector<std::string>* dropped) const {
  std::vector<Entry> out;
  for (auto& e : Scan(true)) {
    if (now - e.written_unix > int64_t{kMaxAgeDays} * 86400) {
      Remove(e);
      if (dropped != nullptr) dropped->push_back(e.run_id);
    } else if (e.key_id == key_id_) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

absl::Status Spool::Add(const std::string& run_id, int64_t now, const std::string& body,
                        std::vector<std::string>* dropped) {
  if (!ValidKeyId(key_id_)) {
    return absl::InvalidArgumentError("the key_id in auth.yml is not usable in a file name; run login again");
  }
  if (absl::Status st = MakeDirs(dir_, 0700); !st.ok()) return st;
  std::string path = absl::StrCat(dir_, "/", CompactUtc(now), "-", run_id, "-", key_id_, ".json");
  if (absl::Status st = WriteFileAtomic(path, body, 0600); !st.ok()) return st;
  std::vector<Entry> mine = List(now, dropped);
  for (size_t i = 0; mine.size() - i > kMaxEntries; ++i) {
    Remove(mine[i]);
    if (dropped != nullptr) dropped->push_back(mine[i].run_id);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Spool::Read(const Entry& e) const { return ReadFile(e.path, 64 << 20); }

void Spool::Remove(const Entry& e) const { ::unlink(e.path.c_str()); }

}  // namespace hab::hostatlas

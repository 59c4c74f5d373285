#include "engine/human.h"

#include "absl/strings/str_format.h"

namespace hab {

std::string HumanBytes(uint64_t b) {
  const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(b);
  int i = 0;
  while (v >= 1024 && i < 5) {
    v /= 1024;
    ++i;
  }
  return absl::StrFormat(i == 0 ? "%.0f %s" : "%.1f %s", v, u[i]);
}

std::string HumanSeconds(double s) {
  if (s < 10) return absl::StrFormat("%.1f s", s);
  int64_t t = static_cast<int64_t>(s + 0.5);
  if (t < 60) return absl::StrFormat("%d s", t);
  if (t < 3600) return absl::StrFormat("%d min %d s", t / 60, t % 60);
  return absl::StrFormat("%d h %d min", t / 3600, (t % 3600) / 60);
}

}  // namespace hab

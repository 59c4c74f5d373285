// How sizes and durations read where a person reads them (messages, the
// dry-run plan, status, list): one style everywhere. Exact bytes stay in
// JSON.
#pragma once

#include <cstdint>
#include <string>

namespace hab {

// "0 B", "512 B", "1.5 KiB", "3.2 GiB" (binary units, one decimal).
std::string HumanBytes(uint64_t bytes);
// "0.4 s", "12 s", "3 min 5 s", "2 h 10 min".
std::string HumanSeconds(double seconds);

}  // namespace hab

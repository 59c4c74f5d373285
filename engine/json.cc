#include "engine/json.h"

#include "absl/strings/str_format.h"

namespace hab {
namespace {

// Length of the valid UTF-8 sequence at s[i], 0 if there is none
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
size_t Utf8Length(absl::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = at(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xC2) return 0;                            // overlong
  if (n == 3 && c == 0xE0 && at(i + 1) < 0xA0) return 0;       // overlong
  if (n == 3 && c == 0xED && at(i + 1) >= 0xA0) return 0;      // surrogate
  if (n == 4 && c == 0xF0 && at(i + 1) < 0x90) return 0;       // overlong
  if (n == 4 && (c > 0xF4 || (c == 0xF4 && at(i + 1) >= 0x90))) return 0;  // > U+10FFFF
  return n;
}

}  // namespace

std::string ValidUtf8(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = Utf8Length(s, i);
    if (n == 0) {
      // A byte that is not UTF-8 (a Latin-1 file name, say): JSON must be
      // UTF-8, so it becomes U+FFFD instead of making the record unreadable.
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s.data() + i, n);
      i += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out + "\"";
}

}  // namespace hab

#include "nodes/age_encoding.h"

#include <array>
#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hab::age {
namespace {

constexpr absl::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr absl::string_view kBech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr absl::string_view kArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr absl::string_view kArmorEnd = "-----END AGE ENCRYPTED FILE-----";
// Like the reference implementation: bound the whitespace we skip, so armor
// detection cannot be turned into an unbounded read.
constexpr size_t kMaxArmorWhitespace = 1024;

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

uint32_t Bech32Polymod(const std::vector<uint8_t>& values) {
  static constexpr std::array<uint32_t, 5> kGen = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                                   0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t v : values) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGen[i];
    }
  }
  return chk;
}

std::vector<uint8_t> HrpExpand(absl::string_view hrp) {
  std::vector<uint8_t> out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) & 31);
  return out;
}

// Regroups bits; `pad` for 8->5, strict (no padding left over) for 5->8.
bool ConvertBits(std::span<const uint8_t> in, int from, int to, bool pad, std::vector<uint8_t>& out) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to) - 1;
  for (uint8_t v : in) {
    if ((v >> from) != 0) return false;
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<uint8_t>((acc << (to - bits)) & maxv));
  } else if (bits >= from || ((acc << (to - bits)) & maxv) != 0) {
    return false;
  }
  return true;
}

absl::Status ArmorError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("age armor: ", what));
}

}  // namespace

std::string Base64EncodeRaw(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    out.push_back(kB64[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = bytes[i] << 16;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> Base64DecodeCanonical(absl::string_view text) {
  if (text.size() % 4 == 1) return absl::InvalidArgumentError("base64: invalid length");
  std::vector<uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = B64Value(c);
    if (v < 0) return absl::InvalidArgumentError("base64: invalid character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero: otherwise two strings would decode the same.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return absl::InvalidArgumentError("base64: non-canonical encoding");
  }
  return out;
}

absl::StatusOr<Bech32Data> Bech32Decode(absl::string_view text) {
  bool has_lower = false, has_upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return absl::InvalidArgumentError("bech32: invalid character");
    has_lower |= absl::ascii_islower(static_cast<unsigned char>(c));
    has_upper |= absl::ascii_isupper(static_cast<unsigned char>(c));
  }
  if (has_lower && has_upper) return absl::InvalidArgumentError("bech32: mixed case");
  std::string lower = absl::AsciiStrToLower(text);
  size_t pos = lower.rfind('1');
  if (pos == std::string::npos || pos < 1 || pos + 7 > lower.size()) {
    return absl::InvalidArgumentError("bech32: invalid separator position");
  }
  Bech32Data result;
  result.hrp = lower.substr(0, pos);
  std::vector<uint8_t> values;
  for (size_t i = pos + 1; i < lower.size(); ++i) {
    size_t v = kBech32Charset.find(lower[i]);
    if (v == absl::string_view::npos) return absl::InvalidArgumentError("bech32: invalid character");
    values.push_back(static_cast<uint8_t>(v));
  }
  std::vector<uint8_t> check = HrpExpand(result.hrp);
  check.insert(check.end(), values.begin(), values.end());
  if (Bech32Polymod(check) != 1) return absl::InvalidArgumentError("bech32: invalid checksum");
  values.resize(values.size() - 6);
  if (!ConvertBits(values, 5, 8, false, result.data)) {
    return absl::InvalidArgumentError("bech32: invalid padding");
  }
  return result;
}

std::string Bech32Encode(absl::string_view hrp, std::span<const uint8_t> data, bool upper) {
  std::vector<uint8_t> values;
  ConvertBits(data, 8, 5, true, values);
  std::vector<uint8_t> check = HrpExpand(hrp);
  check.insert(check.end(), values.begin(), values.end());
  check.insert(check.end(), 6, 0);
  uint32_t mod = Bech32Polymod(check) ^ 1;
  for (int i = 0; i < 6; ++i) values.push_back((mod >> (5 * (5 - i))) & 31);
  std::string out(hrp);
  out.push_back('1');
  for (uint8_t v : values) out.push_back(kBech32Charset[v]);
  return upper ? absl::AsciiStrToUpper(out) : out;
}

absl::StatusOr<std::vector<uint8_t>> ArmorDecode(std::span<const uint8_t> input) {
  absl::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  size_t pos = 0;
  // Returns false at end of input; strips "\n" and one "\r" before it.
  auto next_line = [&](absl::string_view& line) -> bool {
    if (pos >= text.size()) return false;
    size_t nl = text.find('\n', pos);
    size_t end = nl == absl::string_view::npos ? text.size() : nl;
    line = text.substr(pos, end - pos);
    pos = nl == absl::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  };
  auto is_blank = [](absl::string_view s) {
    for (char c : s) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  absl::string_view line;
  size_t skipped = 0;
  while (true) {
    if (!next_line(line)) return ArmorError("unexpected end of input before the begin line");
    if (!is_blank(line)) break;
    skipped += line.size() + 1;
    if (skipped > kMaxArmorWhitespace) return ArmorError("too much leading whitespace");
  }
  if (line != kArmorBegin) return ArmorError("invalid first line");
  std::vector<uint8_t> out;
  while (true) {
    if (!next_line(line)) return ArmorError("unexpected end of input");
    if (line == kArmorEnd) break;
    if (line.size() > 64) return ArmorError("line longer than 64 columns");
    if (line.empty()) return ArmorError("empty line in armored data");
    // Padded standard base64, strict: each line decodes on its own.
    if (line.size() % 4 != 0) return ArmorError("malformed base64 line");
    absl::string_view body = line;
    size_t pad = 0;
    while (!body.empty() && body.back() == '=' && pad < 2) {
      body.remove_suffix(1);
      ++pad;
    }
    auto decoded = Base64DecodeCanonical(body);
    if (!decoded.ok()) return ArmorError("malformed base64 line");
    out.insert(out.end(), decoded->begin(), decoded->end());
    if (line.size() < 64) {
      if (!next_line(line)) return ArmorError("unexpected end of input");
      if (line != kArmorEnd) return ArmorError("invalid closing line");
      break;
    }
    if (pad > 0) return ArmorError("padding before the last line");
  }
  absl::string_view trailing = text.substr(pos);
  if (trailing.size() >= kMaxArmorWhitespace) return ArmorError("too much trailing data");
  if (!is_blank(trailing)) return ArmorError("trailing data after the end line");
  return out;
}

}  // namespace hab::age

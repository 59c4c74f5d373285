// Text encodings used by the age v1 format: canonical unpadded base64 for
// header fields, Bech32 for keys, and the ASCII armor wrapper (read only: we
// never write armor). All decoders are strict: they reject anything the age
// specification says a decoder must reject (padding, non-canonical trailing
// bits, characters outside the alphabet, mixed-case Bech32). Errors are
// kInvalidArgument with a message that never includes key material.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hab::age {

// Standard alphabet, no padding (age header stanzas and MAC).
std::string Base64EncodeRaw(std::span<const uint8_t> bytes);

// Rejects '=', bytes outside the alphabet, lengths of 1 mod 4, and encodings
// whose unused trailing bits are not zero (so every value has one encoding).
absl::StatusOr<std::vector<uint8_t>> Base64DecodeCanonical(absl::string_view text);

struct Bech32Data {
  std::string hrp;  // lower-cased
  std::vector<uint8_t> data;  // 8-bit bytes
};

// BIP-173 Bech32 (not Bech32m), without the 90-character limit, as age uses it.
absl::StatusOr<Bech32Data> Bech32Decode(absl::string_view text);
std::string Bech32Encode(absl::string_view hrp, std::span<const uint8_t> data, bool upper);

// Decodes a whole armored file: optional leading whitespace, the begin line,
// padded base64 lines of 64 columns (the last one shorter or full), the end
// line, optional trailing whitespace. LF or CRLF line ends.
absl::StatusOr<std::vector<uint8_t>> ArmorDecode(std::span<const uint8_t> input);

}  // namespace hab::age

#include "nodes/age_stream.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "nodes/age_encoding.h"

namespace hab::age {
namespace {

void MakeNonce(uint64_t counter, bool last, uint8_t nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<uint8_t>(counter >> (8 * i));
  nonce[11] = last ? 1 : 0;
}

absl::Status PayloadError(absl::string_view message) {
  return AgeError(AgeErrorKind::kPayload, absl::StatusCode::kDataLoss,
                  absl::StrCat("age payload: ", message));
}

bool Open(const SecretBytes& key, uint64_t counter, bool last, std::span<const uint8_t> in,
          uint8_t* out, size_t* out_size) {
  uint8_t nonce[12];
  MakeNonce(counter, last, nonce);
  unsigned long long mlen = 0;
  int rc = crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, nullptr, in.data(), in.size(),
                                                     nullptr, 0, nonce, key.data());
  *out_size = static_cast<size_t>(mlen);
  return rc == 0;
}

}  // namespace

size_t SealedSize(size_t plain_size, bool final) {
  if (!final) return plain_size / kChunkSize * kEncChunkSize;
  size_t chunks = plain_size == 0 ? 1 : (plain_size + kChunkSize - 1) / kChunkSize;
  return plain_size + chunks * kTagSize;
}

absl::Status SealChunks(const SecretBytes& payload_key, uint64_t first_counter,
                        std::span<const uint8_t> plain, bool final, std::span<uint8_t> out) {
  if (!final && plain.size() % kChunkSize != 0) {
    return absl::InternalError("age: non-final block is not a whole number of chunks");
  }
  if (out.size() != SealedSize(plain.size(), final)) {
    return absl::InternalError("age: output buffer has the wrong size");
  }
  size_t in_pos = 0, out_pos = 0;
  uint64_t counter = first_counter;
  do {
    size_t n = std::min(kChunkSize, plain.size() - in_pos);
    bool last = final && in_pos + n == plain.size();
    uint8_t nonce[12];
    MakeNonce(counter, last, nonce);
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + out_pos, &clen, plain.data() + in_pos,
                                              n, nullptr, 0, nullptr, nonce, payload_key.data());
    in_pos += n;
    out_pos += static_cast<size_t>(clen);
    ++counter;
    if (last) break;
  } while (in_pos < plain.size());
  return absl::OkStatus();
}

absl::StatusOr<OpenedChunk> OpenChunk(const SecretBytes& payload_key, uint64_t counter,
                                      std::span<const uint8_t> in, bool final_piece,
                                      uint8_t* out) {
  if (in.size() > kEncChunkSize) return absl::InternalError("age: chunk larger than 64 KiB + tag");
  OpenedChunk result;
  if (in.size() < kEncChunkSize) {
    if (!final_piece) return absl::InternalError("age: short chunk inside a block");
    // Only an empty plaintext may end with an empty chunk; anything else is
    // a truncation or an encoder bug that must not be papered over.
    if (counter != 0 && in.size() == kTagSize) return PayloadError("final chunk is empty");
    if (!Open(payload_key, counter, true, in, out, &result.plain_size)) {
      return PayloadError("failed to decrypt and authenticate payload chunk");
    }
    result.last = true;
    return result;
  }
  if (Open(payload_key, counter, false, in, out, &result.plain_size)) return result;
  if (Open(payload_key, counter, true, in, out, &result.plain_size)) {
    result.last = true;
    return result;
  }
  return PayloadError("failed to decrypt and authenticate payload chunk");
}

absl::Status OpenChunks(const SecretBytes& payload_key, uint64_t first_counter,
                        std::span<const uint8_t> cipher, bool final, std::vector<uint8_t>& out) {
  if (cipher.empty()) {
    if (final && first_counter == 0) return PayloadError("no payload chunks");
    if (final) return PayloadError("stream ends without a final chunk");
    return absl::OkStatus();
  }
  size_t pos = 0;
  uint64_t counter = first_counter;
  while (pos < cipher.size()) {
    size_t n = std::min(kEncChunkSize, cipher.size() - pos);
    bool final_piece = final && pos + n == cipher.size();
    size_t base = out.size();
    out.resize(base + kChunkSize);
    auto opened = OpenChunk(payload_key, counter, cipher.subspan(pos, n), final_piece,
                            out.data() + base);
    if (!opened.ok()) {
      out.resize(base);
      return opened.status();
    }
    out.resize(base + opened->plain_size);
    if (opened->last && !final_piece) return PayloadError("trailing data after the final chunk");
    if (!opened->last && final_piece) return PayloadError("stream ends without a final chunk");
    pos += n;
    ++counter;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> EncryptBuffer(std::span<const X25519Recipient> recipients,
                                                   std::span<const uint8_t> plain) {
  HAB_ASSIGN_OR_RETURN(EncryptionHeader header, MakeEncryptionHeader(recipients));
  std::vector<uint8_t> out = std::move(header.bytes);
  size_t base = out.size();
  out.resize(base + SealedSize(plain.size(), true));
  HAB_RETURN_IF_ERROR(SealChunks(header.payload_key, 0, plain, true,
                                 std::span<uint8_t>(out).subspan(base)));
  return out;
}

absl::Status DecryptBuffer(std::span<const uint8_t> input,
                           std::span<const X25519Identity> identities,
                           std::vector<uint8_t>& released, bool armored) {
  released.clear();
  std::vector<uint8_t> dearmored;
  if (armored) {
    auto decoded = ArmorDecode(input);
    if (!decoded.ok()) {
      return AgeError(AgeErrorKind::kArmor, absl::StatusCode::kInvalidArgument,
                      decoded.status().message());
    }
    dearmored = std::move(*decoded);
    input = dearmored;
  }
  HAB_ASSIGN_OR_RETURN(std::optional<size_t> end, FindHeaderEnd(input, /*at_eof=*/true));
  std::span<const uint8_t> header_bytes = input.subspan(0, *end);
  HAB_ASSIGN_OR_RETURN(ParsedHeader header, ParseHeader(header_bytes));
  HAB_ASSIGN_OR_RETURN(SecretBytes file_key, UnwrapFileKey(header, header_bytes, identities));
  std::span<const uint8_t> rest = input.subspan(*end);
  if (rest.size() < kNonceSize) {
    return AgeError(AgeErrorKind::kHeader, absl::StatusCode::kInvalidArgument,
                    "age header: missing or short payload nonce");
  }
  SecretBytes payload_key = PayloadKey(file_key, rest.subspan(0, kNonceSize));
  return OpenChunks(payload_key, 0, rest.subspan(kNonceSize), /*final=*/true, released);
}

}  // namespace hab::age

// age v1 payload: ChaCha20-Poly1305 STREAM over 64 KiB chunks.
//
// Design note. Chunk i is sealed with nonce = 11-byte big-endian i || flag,
// where flag is 1 only on the final chunk. Given the payload key, every chunk
// is independent, so the graph encrypts and decrypts chunks on all cores;
// only the position of the final chunk is sequential knowledge, and the
// callers pass it in (`final`). The spec's rules that a decryptor enforces
// live in OpenChunk and DecryptPayload:
//   - only an empty plaintext may end with an empty final chunk;
//   - a full-size chunk may be the final one (tried as non-final first);
//   - no data may follow the final chunk, and the stream may not end before it.
// Authentication failures are kDataLoss with AgeErrorKind::kPayload.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/secret_bytes.h"
#include "nodes/age_format.h"

namespace hab::age {

inline constexpr size_t kChunkSize = 64 * 1024;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kEncChunkSize = kChunkSize + kTagSize;

// Size of the ciphertext for `plain_size` bytes of chunks (a multiple of
// kChunkSize unless `final`, where the remainder becomes the final chunk and
// an empty plaintext becomes one empty final chunk).
size_t SealedSize(size_t plain_size, bool final);

// Seals chunks counter, counter+1, ... into `out` (SealedSize bytes).
absl::Status SealChunks(const SecretBytes& payload_key, uint64_t first_counter,
                        std::span<const uint8_t> plain, bool final, std::span<uint8_t> out);

struct OpenedChunk {
  size_t plain_size = 0;
  bool last = false;  // carried the final-chunk flag
};

// Opens one chunk (`in` at most kEncChunkSize bytes). `final_piece`: nothing
// follows `in` in the stream. The caller turns `last && !final_piece` (data
// after the end) and `!last && final_piece` (truncated) into payload errors,
// after releasing this chunk's plaintext, as the reference does.
absl::StatusOr<OpenedChunk> OpenChunk(const SecretBytes& payload_key, uint64_t counter,
                                      std::span<const uint8_t> in, bool final_piece,
                                      uint8_t* out);

// Opens consecutive chunks of a block (k * kEncChunkSize bytes, or fewer if
// `final`). Appends plaintext to `out`; on error `out` holds what the chunks
// before the failing one released.
absl::Status OpenChunks(const SecretBytes& payload_key, uint64_t first_counter,
                        std::span<const uint8_t> cipher, bool final, std::vector<uint8_t>& out);

// Whole-buffer helpers (tests, small files, the keygen self-check).
absl::StatusOr<std::vector<uint8_t>> EncryptBuffer(std::span<const X25519Recipient> recipients,
                                                   std::span<const uint8_t> plain);
// Decrypts binary (or, with `armored`, ASCII-armored) input. `released`
// receives every plaintext byte a streaming reader would have handed out, also
// when an error is returned.
absl::Status DecryptBuffer(std::span<const uint8_t> input,
                           std::span<const X25519Identity> identities,
                           std::vector<uint8_t>& released, bool armored = false);

}  // namespace hab::age

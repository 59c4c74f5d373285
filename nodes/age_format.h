// age v1 (C2SP age specification) keys and header, on libsodium.
//
// Design note. We implement exactly the X25519 recipient type: what the
// backup writes and what `age-keygen` makes. The header parser follows the
// spec's grammar strictly (LF only, canonical unpadded base64, 64-column body
// lines, VCHAR arguments) so that a header that another implementation would
// reject is never accepted here. Unknown stanza types are skipped (grease);
// an scrypt stanza must be alone, and since we do not implement passphrases a
// lone scrypt stanza is "no match".
//
// Secrets (identities, file keys, derived keys) are SecretBytes and never
// appear in a Status message. Failure classes are attached to the Status as a
// payload (AgeErrorKindOf) so callers and the test-kit runner can tell a
// header failure from an HMAC or payload failure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/secret_bytes.h"

namespace hab::age {

inline constexpr absl::string_view kVersionLine = "age-encryption.org/v1";
inline constexpr size_t kFileKeySize = 16;
inline constexpr size_t kNonceSize = 16;
// Headers are tiny; cap what we buffer while looking for the MAC line.
inline constexpr size_t kMaxHeaderBytes = 1 << 20;

enum class AgeErrorKind { kNone, kHeader, kNoMatch, kHmac, kPayload, kArmor };
absl::Status AgeError(AgeErrorKind kind, absl::StatusCode code, absl::string_view message);
AgeErrorKind AgeErrorKindOf(const absl::Status& status);

// HKDF-SHA-256 (RFC 5869) built from libsodium's HMAC-SHA-256, which 1.0.18
// lacks. `length` <= 255 * 32.
SecretBytes Hkdf(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                 absl::string_view info, size_t length);

using PublicKey = std::array<uint8_t, 32>;

class X25519Recipient {
 public:
  // Parses "age1..." (lower-case Bech32, 32 bytes).
  static absl::StatusOr<X25519Recipient> Parse(absl::string_view text);
  explicit X25519Recipient(const PublicKey& key) : key_(key) {}
  const PublicKey& key() const { return key_; }
  std::string ToString() const;

 private:
  PublicKey key_;
};

class X25519Identity {
 public:
  static X25519Identity Generate();
  // Parses "AGE-SECRET-KEY-1..." (upper-case Bech32, 32 bytes).
  static absl::StatusOr<X25519Identity> Parse(absl::string_view text);
  X25519Recipient Recipient() const { return X25519Recipient(public_key_); }
  std::string ToString() const;  // the secret: for writing key files only
  const SecretBytes& secret() const { return secret_; }

 private:
  X25519Identity(SecretBytes secret);
  SecretBytes secret_;
  PublicKey public_key_{};
};

// Parses age-keygen identity file contents: '#' comments, blank lines, one
// identity per other line. At least one identity is required.
absl::StatusOr<std::vector<X25519Identity>> ParseIdentities(absl::string_view text);

// Reads an identity file. Refuses files readable or writable by group or
// others (kPermissionDenied naming the file and `chmod 600`).
absl::StatusOr<std::vector<X25519Identity>> ReadIdentityFile(const std::string& path);

// Writes a new identity file with mode 0600; kAlreadyExists if `path` exists.
absl::Status WriteNewIdentityFile(const std::string& path, const X25519Identity& identity);
std::string FormatIdentityFile(const X25519Identity& identity);

struct Stanza {
  std::string type;
  std::vector<std::string> args;
  std::vector<uint8_t> body;
};

struct ParsedHeader {
  std::vector<Stanza> stanzas;
  std::array<uint8_t, 32> mac{};
  size_t mac_input_size = 0;  // bytes covered by the MAC (through "---")
  size_t size = 0;            // header bytes including the MAC line's LF
};

// Returns the header length if `data` holds a whole header (through the MAC
// line), nullopt if more input is needed, or a header failure.
absl::StatusOr<std::optional<size_t>> FindHeaderEnd(std::span<const uint8_t> data, bool at_eof);
absl::StatusOr<ParsedHeader> ParseHeader(std::span<const uint8_t> header);

// Encryption side: a fresh random file key wrapped for every recipient.
struct EncryptionHeader {
  std::vector<uint8_t> bytes;  // header + payload nonce, ready to write
  SecretBytes payload_key;     // 32 bytes, for the STREAM
};
absl::StatusOr<EncryptionHeader> MakeEncryptionHeader(
    std::span<const X25519Recipient> recipients);

// Decryption side: unwraps the file key with any identity, checks the MAC,
// and derives the payload key from the nonce that follows the header.
absl::StatusOr<SecretBytes> UnwrapFileKey(const ParsedHeader& header,
                                          std::span<const uint8_t> header_bytes,
                                          std::span<const X25519Identity> identities);
SecretBytes PayloadKey(const SecretBytes& file_key, std::span<const uint8_t> nonce);

}  // namespace hab::age

#include "nodes/age_format.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/status_macros.h"
#include "engine/unique_fd.h"
#include "nodes/age_encoding.h"

namespace hab::age {
namespace {

constexpr absl::string_view kErrorKindUrl = "hostatlas-backup/age-error-kind";
constexpr absl::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr absl::string_view kRecipientHrp = "age";
constexpr absl::string_view kIdentityHrp = "age-secret-key-";

absl::Status HeaderError(absl::string_view message) {
  return AgeError(AgeErrorKind::kHeader, absl::StatusCode::kInvalidArgument,
                  absl::StrCat("age header: ", message));
}

std::span<const uint8_t> AsBytes(absl::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool IsVchar(char c) { return c >= 0x21 && c <= 0x7e; }

// Splits the header into LF-terminated lines. CR is an ordinary (and thus
// illegal) character, which is how CRLF headers get rejected.
std::vector<absl::string_view> SplitLines(absl::string_view text) {
  std::vector<absl::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == absl::string_view::npos) break;
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

std::array<uint8_t, 32> HeaderMac(const SecretBytes& file_key, std::span<const uint8_t> covered) {
  SecretBytes mac_key = Hkdf(file_key.span(), {}, "header", 32);
  std::array<uint8_t, 32> mac;
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, mac_key.data(), mac_key.size());
  crypto_auth_hmacsha256_update(&st, covered.data(), covered.size());
  crypto_auth_hmacsha256_final(&st, mac.data());
  sodium_memzero(&st, sizeof st);
  return mac;
}

void AppendStanza(std::string& out, const Stanza& s) {
  out += "->";
  out += " " + s.type;
  for (const auto& a : s.args) out += " " + a;
  out += "\n";
  std::string b64 = Base64EncodeRaw(s.body);
  // Body lines are 64 columns; the final line is shorter, possibly empty.
  size_t pos = 0;
  while (b64.size() - pos >= 64) {
    out.append(b64, pos, 64);
    out += "\n";
    pos += 64;
  }
  out.append(b64, pos, std::string::npos);
  out += "\n";
}

}  // namespace

absl::Status AgeError(AgeErrorKind kind, absl::StatusCode code, absl::string_view message) {
  absl::Status st(code, message);
  st.SetPayload(kErrorKindUrl, absl::Cord(std::to_string(static_cast<int>(kind))));
  return st;
}

AgeErrorKind AgeErrorKindOf(const absl::Status& status) {
  if (status.ok()) return AgeErrorKind::kNone;
  auto p = status.GetPayload(kErrorKindUrl);
  if (!p.has_value()) return AgeErrorKind::kNone;
  return static_cast<AgeErrorKind>(std::stoi(std::string(*p)));
}

SecretBytes Hkdf(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                 absl::string_view info, size_t length) {
  EnsureSodium();
  // Extract: PRK = HMAC(salt, IKM). An empty salt is HashLen zero bytes, which
  // HMAC treats the same as an empty key.
  SecretBytes prk(crypto_auth_hmacsha256_BYTES);
  crypto_auth_hmacsha256_state st;
  // libsodium declares the key non-null even when its length is 0.
  static constexpr uint8_t kNoSalt = 0;
  crypto_auth_hmacsha256_init(&st, salt.empty() ? &kNoSalt : salt.data(), salt.size());
  crypto_auth_hmacsha256_update(&st, ikm.data(), ikm.size());
  crypto_auth_hmacsha256_final(&st, prk.data());
  // Expand: T(i) = HMAC(PRK, T(i-1) | info | i).
  SecretBytes out(length);
  SecretBytes t(crypto_auth_hmacsha256_BYTES);
  size_t done = 0;
  for (uint8_t i = 1; done < length; ++i) {
    crypto_auth_hmacsha256_init(&st, prk.data(), prk.size());
    if (i > 1) crypto_auth_hmacsha256_update(&st, t.data(), t.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const uint8_t*>(info.data()), info.size());
    crypto_auth_hmacsha256_update(&st, &i, 1);
    crypto_auth_hmacsha256_final(&st, t.data());
    size_t n = std::min(length - done, t.size());
    std::memcpy(out.data() + done, t.data(), n);
    done += n;
  }
  sodium_memzero(&st, sizeof st);
  return out;
}

absl::StatusOr<X25519Recipient> X25519Recipient::Parse(absl::string_view text) {
  auto decoded = Bech32Decode(text);
  if (!decoded.ok() || decoded->hrp != kRecipientHrp || decoded->data.size() != 32 ||
      text != absl::AsciiStrToLower(text)) {
    return absl::InvalidArgumentError(
        "not a valid age recipient (expected \"age1\" followed by 58 Bech32 characters)");
  }
  PublicKey key;
  std::memcpy(key.data(), decoded->data.data(), 32);
  return X25519Recipient(key);
}

std::string X25519Recipient::ToString() const {
  return Bech32Encode(kRecipientHrp, key_, /*upper=*/false);
}

X25519Identity::X25519Identity(SecretBytes secret) : secret_(std::move(secret)) {
  crypto_scalarmult_base(public_key_.data(), secret_.data());
}

X25519Identity X25519Identity::Generate() {
  SecretBytes secret(32);
  randombytes_buf(secret.data(), secret.size());
  return X25519Identity(std::move(secret));
}

absl::StatusOr<X25519Identity> X25519Identity::Parse(absl::string_view text) {
  auto decoded = Bech32Decode(text);
  if (!decoded.ok() || decoded->hrp != kIdentityHrp || decoded->data.size() != 32 ||
      text != absl::AsciiStrToUpper(text)) {
    if (decoded.ok()) sodium_memzero(decoded->data.data(), decoded->data.size());
    return absl::InvalidArgumentError(
        "not a valid age identity (expected \"AGE-SECRET-KEY-1\" followed by Bech32)");
  }
  SecretBytes secret(decoded->data);
  sodium_memzero(decoded->data.data(), decoded->data.size());
  return X25519Identity(std::move(secret));
}

std::string X25519Identity::ToString() const {
  return Bech32Encode(kIdentityHrp, secret_.span(), /*upper=*/true);
}

absl::StatusOr<std::vector<X25519Identity>> ParseIdentities(absl::string_view text) {
  std::vector<X25519Identity> out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripSuffix(line, "\r");
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    auto id = X25519Identity::Parse(trimmed);
    if (!id.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", id.status().message()));
    }
    out.push_back(std::move(*id));
  }
  if (out.empty()) return absl::InvalidArgumentError("no identities found");
  return out;
}

absl::StatusOr<std::vector<X25519Identity>> ReadIdentityFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    return absl::Status(err == ENOENT ? absl::StatusCode::kNotFound
                                      : absl::StatusCode::kPermissionDenied,
                        absl::StrCat("identity file ", path, ": ", std::strerror(err)));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return absl::InternalError(absl::StrCat("identity file ", path, ": fstat: ", std::strerror(errno)));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "identity file %s is accessible by group or others (mode %04o); it holds a private key. "
        "hint: chmod 600 %s",
        path, st.st_mode & 07777, path));
  }
  SecretBytes buf(static_cast<size_t>(std::min<off_t>(st.st_size, 1 << 20)) + 1);
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("identity file ", path, ": read: ", std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  auto ids = ParseIdentities(absl::string_view(reinterpret_cast<const char*>(buf.data()), got));
  if (!ids.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("identity file ", path, ": ", ids.status().message()));
  }
  return ids;
}

std::string FormatIdentityFile(const X25519Identity& identity) {
  char when[32];
  std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return absl::StrCat("# created: ", when, "\n# public key: ", identity.Recipient().ToString(), "\n",
                      identity.ToString(), "\n");
}

absl::Status WriteNewIdentityFile(const std::string& path, const X25519Identity& identity) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    int err = errno;
    if (err == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(path, " already exists; refusing to overwrite a key"));
    }
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", path, ": ", std::strerror(err)));
  }
  std::string text = FormatIdentityFile(identity);
  size_t done = 0;
  absl::Status st;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(errno)));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (st.ok() && ::fsync(fd.get()) != 0) {
    st = absl::InternalError(absl::StrCat("fsync ", path, ": ", std::strerror(errno)));
  }
  sodium_memzero(text.data(), text.size());
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

absl::StatusOr<std::optional<size_t>> FindHeaderEnd(std::span<const uint8_t> data, bool at_eof) {
  absl::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t nl = text.find('\n', line_start);
    if (nl == absl::string_view::npos) break;
    if (text.substr(line_start, 3) == "---") return std::optional<size_t>(nl + 1);
    line_start = nl + 1;
  }
  if (data.size() > kMaxHeaderBytes) return HeaderError("header too large");
  if (at_eof) return HeaderError("unexpected end of file in header");
  return std::optional<size_t>();
}

absl::StatusOr<ParsedHeader> ParseHeader(std::span<const uint8_t> header) {
  absl::string_view text(reinterpret_cast<const char*>(header.data()), header.size());
  std::vector<absl::string_view> lines = SplitLines(text);
  if (lines.empty() || lines[0] != kVersionLine) return HeaderError("unsupported version line");
  ParsedHeader out;
  size_t offset = lines[0].size() + 1;
  size_t i = 1;
  while (true) {
    if (i >= lines.size()) return HeaderError("missing MAC line");
    absl::string_view line = lines[i];
    if (line.substr(0, 3) == "---") {
      if (line.size() < 4 || line[3] != ' ') return HeaderError("malformed MAC line");
      auto mac = Base64DecodeCanonical(line.substr(4));
      if (!mac.ok() || mac->size() != 32) return HeaderError("malformed MAC");
      std::memcpy(out.mac.data(), mac->data(), 32);
      out.mac_input_size = offset + 3;
      out.size = offset + line.size() + 1;
      break;
    }
    if (line.substr(0, 3) != "-> ") return HeaderError("malformed stanza line");
    Stanza stanza;
    std::vector<absl::string_view> parts = absl::StrSplit(line.substr(3), ' ');
    for (absl::string_view p : parts) {
      if (p.empty()) return HeaderError("empty stanza argument");
      for (char c : p) {
        if (!IsVchar(c)) return HeaderError("invalid character in stanza argument");
      }
    }
    stanza.type = std::string(parts[0]);
    for (size_t k = 1; k < parts.size(); ++k) stanza.args.emplace_back(parts[k]);
    offset += line.size() + 1;
    ++i;
    std::string body_b64;
    while (true) {
      if (i >= lines.size()) return HeaderError("unexpected end of header in stanza body");
      absl::string_view body_line = lines[i];
      if (body_line.size() > 64) return HeaderError("stanza body line longer than 64 columns");
      body_b64.append(body_line.data(), body_line.size());
      offset += body_line.size() + 1;
      ++i;
      if (body_line.size() < 64) break;  // the final, short (possibly empty) line
    }
    auto body = Base64DecodeCanonical(body_b64);
    if (!body.ok()) return HeaderError("malformed stanza body");
    stanza.body = std::move(*body);
    out.stanzas.push_back(std::move(stanza));
  }
  if (out.stanzas.empty()) return HeaderError("no recipient stanzas");
  if (out.size != header.size()) return HeaderError("trailing bytes after the MAC line");
  return out;
}

absl::StatusOr<EncryptionHeader> MakeEncryptionHeader(std::span<const X25519Recipient> recipients) {
  EnsureSodium();
  if (recipients.empty()) return absl::InvalidArgumentError("age: no recipients");
  SecretBytes file_key(kFileKeySize);
  randombytes_buf(file_key.data(), file_key.size());
  std::string text = absl::StrCat(kVersionLine, "\n");
  for (const X25519Recipient& r : recipients) {
    SecretBytes eph(32);
    randombytes_buf(eph.data(), eph.size());
    PublicKey share;
    crypto_scalarmult_base(share.data(), eph.data());
    SecretBytes shared(32);
    if (crypto_scalarmult(shared.data(), eph.data(), r.key().data()) != 0) {
      return absl::InvalidArgumentError("age: recipient is a low-order point");
    }
    std::vector<uint8_t> salt(share.begin(), share.end());
    salt.insert(salt.end(), r.key().begin(), r.key().end());
    SecretBytes wrap_key = Hkdf(shared.span(), salt, kX25519Label, 32);
    Stanza s{.type = "X25519", .args = {Base64EncodeRaw(share)}, .body = std::vector<uint8_t>(32)};
    static constexpr uint8_t kZeroNonce[12] = {};
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(s.body.data(), &clen, file_key.data(), file_key.size(),
                                              nullptr, 0, nullptr, kZeroNonce, wrap_key.data());
    AppendStanza(text, s);
  }
  text += "---";
  auto mac = HeaderMac(file_key, AsBytes(text));
  text += " " + Base64EncodeRaw(mac) + "\n";
  EncryptionHeader out;
  out.bytes.assign(text.begin(), text.end());
  uint8_t nonce[kNonceSize];
  randombytes_buf(nonce, sizeof nonce);
  out.bytes.insert(out.bytes.end(), nonce, nonce + kNonceSize);
  out.payload_key = PayloadKey(file_key, nonce);
  return out;
}

absl::StatusOr<SecretBytes> UnwrapFileKey(const ParsedHeader& header,
                                          std::span<const uint8_t> header_bytes,
                                          std::span<const X25519Identity> identities) {
  for (const Stanza& s : header.stanzas) {
    if (s.type == "scrypt" && header.stanzas.size() != 1) {
      return HeaderError("an scrypt stanza must be the only stanza");
    }
  }
  std::optional<SecretBytes> file_key;
  for (const X25519Identity& id : identities) {
    for (const Stanza& s : header.stanzas) {
      if (s.type != "X25519") continue;
      if (s.args.size() != 1) return HeaderError("X25519 stanza needs exactly one argument");
      auto share = Base64DecodeCanonical(s.args[0]);
      if (!share.ok() || share->size() != 32) return HeaderError("malformed X25519 share");
      if (s.body.size() != kFileKeySize + crypto_aead_chacha20poly1305_ietf_ABYTES) {
        return HeaderError("X25519 stanza body has the wrong size");
      }
      SecretBytes shared(32);
      // libsodium returns -1 when the result is all zero: a low-order share.
      if (crypto_scalarmult(shared.data(), id.secret().data(), share->data()) != 0) {
        return HeaderError("X25519 share is a low-order point");
      }
      std::vector<uint8_t> salt(*share);
      PublicKey pub = id.Recipient().key();
      salt.insert(salt.end(), pub.begin(), pub.end());
      SecretBytes wrap_key = Hkdf(shared.span(), salt, kX25519Label, 32);
      SecretBytes key(kFileKeySize);
      static constexpr uint8_t kZeroNonce[12] = {};
      unsigned long long mlen = 0;
      if (crypto_aead_chacha20poly1305_ietf_decrypt(key.data(), &mlen, nullptr, s.body.data(),
                                                    s.body.size(), nullptr, 0, kZeroNonce,
                                                    wrap_key.data()) == 0) {
        file_key = std::move(key);
        break;
      }
    }
    if (file_key.has_value()) break;
  }
  if (!file_key.has_value()) {
    return AgeError(AgeErrorKind::kNoMatch, absl::StatusCode::kPermissionDenied,
                    "age: no identity matched any of the recipients");
  }
  auto mac = HeaderMac(*file_key, header_bytes.subspan(0, header.mac_input_size));
  if (sodium_memcmp(mac.data(), header.mac.data(), mac.size()) != 0) {
    return AgeError(AgeErrorKind::kHmac, absl::StatusCode::kDataLoss,
                    "age: header MAC mismatch (the header was modified)");
  }
  return std::move(*file_key);
}

SecretBytes PayloadKey(const SecretBytes& file_key, std::span<const uint8_t> nonce) {
  return Hkdf(file_key.span(), nonce, "payload", 32);
}

}  // namespace hab::age

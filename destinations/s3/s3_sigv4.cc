#include "destinations/s3/s3_sigv4.h"

#include "engine/sha256.h"

#include <sodium.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hab {
namespace {

std::string Hex(const uint8_t* b, size_t n) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(b), n));
}

void Hmac(absl::string_view key, absl::string_view msg, uint8_t out[32]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const uint8_t*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(&st, sizeof st);
}

// Trim, and collapse inner runs of spaces to one (SigV4 header values).
std::string CanonicalValue(absl::string_view v) {
  v = absl::StripAsciiWhitespace(v);
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string Sha256Hex(absl::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.FinalHex();
}

std::string UriEncode(absl::string_view s, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(enc.begin(), enc.end());
  std::vector<std::string> parts;
  for (const auto& [k, v] : enc) parts.push_back(absl::StrCat(k, "=", v));
  return absl::StrJoin(parts, "&");
}

std::string CanonicalRequest(const SigV4Request& r, std::string* signed_headers) {
  std::map<std::string, std::string> headers;  // sorted by lower-case name
  for (const auto& [name, value] : r.headers) {
    std::string n = absl::AsciiStrToLower(name);
    std::string v = CanonicalValue(value);
    auto it = headers.find(n);
    if (it == headers.end()) {
      headers.emplace(n, v);
    } else {
      it->second += "," + v;
    }
  }
  std::string canon_headers;
  std::vector<std::string> names;
  for (const auto& [n, v] : headers) {
    absl::StrAppend(&canon_headers, n, ":", v, "\n");
    names.push_back(n);
  }
  *signed_headers = absl::StrJoin(names, ";");
  return absl::StrCat(r.method, "\n", UriEncode(r.path, false), "\n", CanonicalQueryString(r.query),
                      "\n", canon_headers, "\n", *signed_headers, "\n", r.payload_hash);
}

std::string StringToSign(absl::string_view canonical_request, absl::string_view amz_date,
                         const SigV4Key& key) {
  absl::string_view date = amz_date.substr(0, 8);
  return absl::StrCat("AWS4-HMAC-SHA256\n", amz_date, "\n", date, "/", key.region, "/", key.service,
                      "/aws4_request\n", Sha256Hex(canonical_request));
}

std::string SignatureHex(absl::string_view string_to_sign, absl::string_view amz_date,
                         const SigV4Key& key) {
  uint8_t k_date[32], k_region[32], k_service[32], k_signing[32], sig[32];
  std::string secret = "AWS4" + key.secret_access_key;
  Hmac(secret, amz_date.substr(0, 8), k_date);
  sodium_memzero(secret.data(), secret.size());
  Hmac(absl::string_view(reinterpret_cast<char*>(k_date), 32), key.region, k_region);
  Hmac(absl::string_view(reinterpret_cast<char*>(k_region), 32), key.service, k_service);
  Hmac(absl::string_view(reinterpret_cast<char*>(k_service), 32), "aws4_request", k_signing);
  Hmac(absl::string_view(reinterpret_cast<char*>(k_signing), 32), string_to_sign, sig);
  sodium_memzero(k_date, 32);
  sodium_memzero(k_region, 32);
  sodium_memzero(k_service, 32);
  sodium_memzero(k_signing, 32);
  return Hex(sig, 32);
}

std::string AuthorizationHeader(const SigV4Request& r, absl::string_view amz_date,
                                const SigV4Key& key) {
  std::string signed_headers;
  std::string creq = CanonicalRequest(r, &signed_headers);
  std::string sts = StringToSign(creq, amz_date, key);
  return absl::StrCat("AWS4-HMAC-SHA256 Credential=", key.access_key_id, "/", amz_date.substr(0, 8),
                      "/", key.region, "/", key.service, "/aws4_request, SignedHeaders=",
                      signed_headers, ", Signature=", SignatureHex(sts, amz_date, key));
}

}  // namespace hab

#include "engine/sha256.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HAB_SHA_NI 1
#else
#define HAB_SHA_NI 0
#endif

#include <cstring>

#include "absl/strings/escaping.h"

namespace hab {
namespace {

alignas(16) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t kInit[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#if HAB_SHA_NI
// The SHA-NI block function (Intel SHA extensions): the state is kept as
// ABEF/CDGH, each sha256rnds2 does two rounds, msg1/msg2 extend the schedule.
// It hashes the same blocks into N states at once: the message schedule is
// computed once, and the N chains of sha256rnds2 (each waiting on its own
// previous result) interleave, so two states cost little more than one.
template <int N>
__attribute__((target("sha,sse4.1,ssse3"))) void BlocksNi(uint32_t* const (&states)[N], const uint8_t* data,
                                                        size_t blocks) {
  const __m128i kShuf = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i s0[N], s1[N];
  for (int n = 0; n < N; ++n) {
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&states[n][0])), 0xB1);
    s1[n] = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&states[n][4])), 0x1B);
    s0[n] = _mm_alignr_epi8(tmp, s1[n], 8);     // ABEF
    s1[n] = _mm_blend_epi16(s1[n], tmp, 0xF0);  // CDGH
  }
  while (blocks--) {
    __m128i abef[N], cdgh[N];
    for (int n = 0; n < N; ++n) abef[n] = s0[n], cdgh[n] = s1[n];
    __m128i w[16];
    for (int i = 0; i < 4; ++i) {
      w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * i)), kShuf);
    }
    for (int g = 4; g < 16; ++g) {
      __m128i t = _mm_sha256msg1_epu32(w[g - 4], w[g - 3]);
      t = _mm_add_epi32(t, _mm_alignr_epi8(w[g - 1], w[g - 2], 4));
      w[g] = _mm_sha256msg2_epu32(t, w[g - 1]);
    }
    for (int g = 0; g < 16; ++g) {
      __m128i msg = _mm_add_epi32(w[g], _mm_load_si128(reinterpret_cast<const __m128i*>(&kK[4 * g])));
      __m128i hi = _mm_shuffle_epi32(msg, 0x0E);
      for (int n = 0; n < N; ++n) s1[n] = _mm_sha256rnds2_epu32(s1[n], s0[n], msg);
      for (int n = 0; n < N; ++n) s0[n] = _mm_sha256rnds2_epu32(s0[n], s1[n], hi);
    }
    for (int n = 0; n < N; ++n) {
      s0[n] = _mm_add_epi32(s0[n], abef[n]);
      s1[n] = _mm_add_epi32(s1[n], cdgh[n]);
    }
    data += 64;
  }
  for (int n = 0; n < N; ++n) {
    __m128i tmp = _mm_shuffle_epi32(s0[n], 0x1B);
    __m128i t1 = _mm_shuffle_epi32(s1[n], 0xB1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&states[n][0]), _mm_blend_epi16(tmp, t1, 0xF0));  // ABCD
    _mm_storeu_si128(reinterpret_cast<__m128i*>(&states[n][4]), _mm_alignr_epi8(t1, tmp, 8));     // EFGH
  }
}

#else
// No SHA-NI on this architecture: Accelerated() is false, so no caller gets here.
template <int N>
void BlocksNi(uint32_t* const (&)[N], const uint8_t*, size_t) {
  __builtin_unreachable();
}
#endif

void BlocksNi(uint32_t* state, const uint8_t* data, size_t blocks) {
  uint32_t* const one[1] = {state};
  BlocksNi<1>(one, data, blocks);
}

}  // namespace

bool Sha256::Accelerated() {
  // CPUID directly: clang 14 (the fuzz builds) does not know
  // __builtin_cpu_supports("sha"). SHA: leaf 7 EBX bit 29; SSE4.1: leaf 1
  // ECX bit 19.
#if HAB_SHA_NI
  static const bool ni = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || (c & (1u << 19)) == 0) return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b & (1u << 29)) != 0;
  }();
  return ni;
#else
  return false;  // libsodium's portable code (arm64 and others)
#endif
}

Sha256::Sha256() : ni_(Accelerated()) {
  if (ni_) {
    std::memcpy(h_, kInit, sizeof h_);
  } else {
    crypto_hash_sha256_init(&sodium_);
  }
}

void Sha256::Update(std::span<const uint8_t> data) {
  if (!ni_) {
    crypto_hash_sha256_update(&sodium_, data.data(), data.size());
    return;
  }
  total_ += data.size();
  if (block_len_ > 0) {
    size_t n = std::min(data.size(), 64 - block_len_);
    if (n > 0) std::memcpy(block_ + block_len_, data.data(), n);
    block_len_ += n;
    data = data.subspan(n);
    if (block_len_ < 64) return;
    BlocksNi(h_, block_, 1);
    block_len_ = 0;
  }
  size_t whole = data.size() / 64;
  if (whole > 0) BlocksNi(h_, data.data(), whole);
  data = data.subspan(whole * 64);
  if (!data.empty()) std::memcpy(block_, data.data(), data.size());  // an empty span may be null
  block_len_ = data.size();
}

void Sha256::UpdateBoth(Sha256& a, Sha256& b, std::span<const uint8_t> data) {
  if (!a.ni_ || !b.ni_ || a.block_len_ != b.block_len_) {
    a.Update(data);
    b.Update(data);
    return;
  }
  // Same offset within a block: the partial blocks differ in content, so
  // each finishes its own; the whole blocks after that are shared.
  size_t head = a.block_len_ == 0 ? 0 : std::min(data.size(), 64 - a.block_len_);
  a.Update(data.subspan(0, head));
  b.Update(data.subspan(0, head));
  data = data.subspan(head);
  if (a.block_len_ != 0) return;  // data ended inside the block
  size_t whole = data.size() / 64;
  if (whole > 0) {
    uint32_t* const two[2] = {a.h_, b.h_};
    BlocksNi<2>(two, data.data(), whole);
    a.total_ += whole * 64;
    b.total_ += whole * 64;
  }
  data = data.subspan(whole * 64);
  a.Update(data);
  b.Update(data);
}

std::array<uint8_t, 32> Sha256::Final() {
  std::array<uint8_t, 32> out;
  if (!ni_) {
    crypto_hash_sha256_final(&sodium_, out.data());
    return out;
  }
  uint64_t bits = total_ * 8;
  uint8_t pad[72] = {0x80};
  size_t pad_len = (block_len_ < 56 ? 56 : 120) - block_len_;
  for (int i = 0; i < 8; ++i) pad[pad_len + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  uint64_t saved = total_;
  Update({pad, pad_len + 8});
  total_ = saved;
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<uint8_t>(h_[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(h_[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(h_[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(h_[i]);
  }
  return out;
}

std::string Sha256::FinalHex() {
  auto d = Final();
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

}  // namespace hab

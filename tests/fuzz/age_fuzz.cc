// libFuzzer target: the age header parser and the whole decryptor, with a
// fixed identity, on arbitrary input. Must never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "nodes/age_format.h"
#include "nodes/age_stream.h"

namespace {
// The test kit's identity, so corpus entries from the kit reach the payload.
constexpr char kIdentity[] = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<hab::age::X25519Identity>* ids = [] {
    auto* v = new std::vector<hab::age::X25519Identity>();
    v->push_back(*hab::age::X25519Identity::Parse(kIdentity));
    return v;
  }();
  std::span<const uint8_t> in(data, size);
  auto end = hab::age::FindHeaderEnd(in, true);
  if (end.ok() && end->has_value()) {
    (void)hab::age::ParseHeader(in.subspan(0, **end));
  }
  std::vector<uint8_t> out;
  (void)hab::age::DecryptBuffer(in, *ids, out, /*armored=*/size > 0 && data[0] == '-');
  return 0;
}

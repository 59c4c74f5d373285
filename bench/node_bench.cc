// Per-node throughput (bytes/s) at 1, 4 and 16 MiB inputs, on one thread;
// the graph spreads these nodes over all cores.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <random>

#include "engine/sha256.h"
#include "nodes/age.h"
#include "nodes/age_stream.h"
#include "nodes/chunker.h"
#include "nodes/zstd.h"

namespace hab {
namespace {

// Semi-compressible data, like logs and code: words from a small vocabulary
// with random numbers, so zstd -3 lands near 3-4x.
std::vector<uint8_t> Data(size_t n) {
  static const char* words[] = {"GET ", "POST ", "/api/v1/", "users ", "200 ", "404 ", "ms ",
                                "error ", "INFO ", "\n", "session=", "id="};
  std::mt19937 rng(42);
  std::vector<uint8_t> out;
  out.reserve(n);
  while (out.size() < n) {
    const char* w = words[rng() % 12];
    out.insert(out.end(), w, w + strlen(w));
    std::string num = std::to_string(rng() % 100000);
    out.insert(out.end(), num.begin(), num.end());
  }
  out.resize(n);
  return out;
}

// Incompressible data (random bytes), like media or already-compressed files.
std::vector<uint8_t> RandomData(size_t n) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

// Second argument: 1 = probe for incompressible chunks (the default), 0 = off.
void BM_ZstdCompress(benchmark::State& state) {
  auto data = Data(static_cast<size_t>(state.range(0)));
  ZstdCompress z(ZstdOptions{.level = 3, .probe_incompressible = state.range(1) != 0}, 1);
  Buffer out;
  for (auto _ : state) {
    if (!z.CompressFrame(data, out).ok()) state.SkipWithError("compress failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ZstdCompress)->ArgsProduct({{1 << 20, 4 << 20, 16 << 20}, {1, 0}})->UseRealTime();

void BM_ZstdCompressIncompressible(benchmark::State& state) {
  auto data = RandomData(static_cast<size_t>(state.range(0)));
  ZstdCompress z(ZstdOptions{.level = static_cast<int>(state.range(2)), .probe_incompressible = state.range(1) != 0}, 1);
  Buffer out;
  for (auto _ : state) {
    if (!z.CompressFrame(data, out).ok()) state.SkipWithError("compress failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ZstdCompressIncompressible)->ArgsProduct({{4 << 20}, {1, 0}, {3, 19}})->UseRealTime();

void BM_ZstdDecompress(benchmark::State& state) {
  auto data = Data(static_cast<size_t>(state.range(0)));
  ZstdCompress z(ZstdOptions{3}, 1);
  Buffer frame;
  (void)z.CompressFrame(data, frame);
  for (auto _ : state) {
    ZstdDecompressor d;
    size_t n = 0;
    (void)d.Feed(frame.span(), [&](std::span<const uint8_t> b) {
      n += b.size();
      return absl::OkStatus();
    });
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ZstdDecompress)->Arg(1 << 20)->Arg(4 << 20)->Arg(16 << 20)->UseRealTime();

void BM_AgeSeal(benchmark::State& state) {
  auto data = Data(static_cast<size_t>(state.range(0)));
  SecretBytes key(32);
  std::vector<uint8_t> out(age::SealedSize(data.size(), true));
  for (auto _ : state) {
    (void)age::SealChunks(key, 0, data, true, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AgeSeal)->Arg(1 << 20)->Arg(4 << 20)->Arg(16 << 20)->ThreadRange(1, 2)->UseRealTime();

void BM_AgeOpen(benchmark::State& state) {
  auto data = Data(static_cast<size_t>(state.range(0)));
  SecretBytes key(32);
  std::vector<uint8_t> sealed(age::SealedSize(data.size(), true));
  (void)age::SealChunks(key, 0, data, true, sealed);
  std::vector<uint8_t> out;
  out.reserve(data.size() + age::kChunkSize);
  for (auto _ : state) {
    out.clear();
    (void)age::OpenChunks(key, 0, sealed, true, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AgeOpen)->Arg(1 << 20)->Arg(4 << 20)->Arg(16 << 20)->ThreadRange(1, 2)->UseRealTime();

class NullEmitter : public Emitter {
 public:
  void Emit(Chunk c) override { benchmark::DoNotOptimize(c.data.data()); }
  void Forward(const ChunkRef&) override {}
};

void BM_Chunker(benchmark::State& state) {
  auto data = Data(static_cast<size_t>(state.range(0)));
  NullEmitter out;
  for (auto _ : state) {
    Chunker c(age::kChunkSize);
    c.Feed(std::span<const uint8_t>(data).subspan(0, data.size() / 2), false, nullptr, out);
    c.Feed(std::span<const uint8_t>(data).subspan(data.size() / 2), true, nullptr, out);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Chunker)->Arg(1 << 20)->Arg(4 << 20)->Arg(16 << 20)->UseRealTime();

// The archive digest and S3's signed payload hash (SHA-NI when present).
void BM_Sha256(benchmark::State& state) {
  auto data = Data(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Sha256 h;
    h.Update(std::span<const uint8_t>(data));
    benchmark::DoNotOptimize(h.Final());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetLabel(Sha256::Accelerated() ? "sha-ni" : "libsodium");
}
BENCHMARK(BM_Sha256)->Arg(1 << 20)->Arg(16 << 20)->UseRealTime();

// S3: each part's payload hash and the archive digest over the same bytes.
// Bytes processed counts the data once; compare with BM_Sha256 x 2.
void BM_Sha256Both(benchmark::State& state) {
  auto data = Data(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Sha256 a, b;
    Sha256::UpdateBoth(a, b, std::span<const uint8_t>(data));
    benchmark::DoNotOptimize(a.Final());
    benchmark::DoNotOptimize(b.Final());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256Both)->Arg(16 << 20)->UseRealTime();

}  // namespace
}  // namespace hab

BENCHMARK_MAIN();

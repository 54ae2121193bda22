//===- PackedGemvBench.cpp - Packed-weight GEMV/GEMM vs f32 BLAS ---------===//
//
// Single-thread GEMV (one token) and GEMM (64 tokens) straight from the bytes
// of each packed layout (PackedKernels.h), next to OpenBLAS cblas_sgemv /
// cblas_sgemm on the f32 matrix of the same shape, for the LLaMA-7B
// projection shapes 4096x4096, 11008x4096 and 4096x11008 (out x in).
//
// Counters:
//   gb_per_s         weight bytes streamed per second (PackedMatrix::bytes()
//                    for packed layouts, 4 out in for f32), in 1e9 B/s
//   bits_per_weight  8 bytes / (out in): the true storage cost
//   speedup_vs_blas  time of the f32 BLAS call on the same shape and token
//                    count (measured once per shape in this process)
//                    divided by the time of this benchmark; > 1 is faster
//
// Weights are random codes, masks and parameters written straight into the
// logical form and packed: no quantization is run.
//
//===----------------------------------------------------------------------===//

#include "s10/Quant/Layout.h"
#include "s10/Quant/PackedKernels.h"

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace s10::quant::layout;

namespace {

struct ShapeDef {
  int64_t out, in;
};
const ShapeDef kShapes[] = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
constexpr int64_t kGemmTokens = 64;

struct LayoutDef {
  const char *name;
  Spec spec;
  double salientFrac; // Bitmap / ChannelBlock
};

Spec makeSpec(Kind kind, unsigned bits, unsigned salientBits, ParamFormat f,
              int64_t block = 0, int64_t nm = 0) {
  Spec s;
  s.kind = kind;
  s.bits = bits;
  s.salientBits = salientBits;
  s.groupSize = 128;
  s.params = f;
  s.block = block;
  s.nmSalient = nm;
  return s;
}

std::vector<LayoutDef> layouts() {
  return {
      {"kbit2_g128_f16", makeSpec(Kind::KBit, 2, 0, ParamFormat::F16), 0},
      {"kbit4_g128_f16", makeSpec(Kind::KBit, 4, 0, ParamFormat::F16), 0},
      {"kbit1_g128_f16", makeSpec(Kind::KBit, 1, 0, ParamFormat::F16), 0},
      {"bitmap20_s4_f16", makeSpec(Kind::Bitmap, 1, 4, ParamFormat::F16), 0.2},
      {"bitmap20_s4_q8", makeSpec(Kind::Bitmap, 1, 4, ParamFormat::Q8), 0.2},
      {"chanblock16_20_s4_f16",
       makeSpec(Kind::ChannelBlock, 1, 4, ParamFormat::F16, 16), 0.2},
      {"nm1of8_s4_f16", makeSpec(Kind::NM, 1, 4, ParamFormat::F16, 8, 1), 0},
  };
}

/// xorshift64*: fast enough to fill 45M codes in well under a second.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }
};

Logical randomLogical(const Spec &s, int64_t out, int64_t in, double frac,
                      uint64_t seed) {
  Rng rng(seed);
  Logical w;
  w.out = out;
  w.in = in;
  w.groupSize = s.groupSize;
  size_t n = size_t(out * in);
  w.codes.resize(n);
  uint32_t threshold = uint32_t(frac * 4294967296.0);
  if (s.mixed()) {
    w.salient.assign(n, 0);
    if (s.kind == Kind::Bitmap) {
      for (size_t k = 0; k < n; ++k)
        w.salient[k] = uint32_t(rng.next() >> 32) < threshold;
    } else if (s.kind == Kind::ChannelBlock) {
      std::vector<uint8_t> chan(size_t(in), 0);
      for (int64_t i = 0; i < out; ++i) {
        if (i % s.block == 0)
          for (auto &c : chan)
            c = uint32_t(rng.next() >> 32) < threshold;
        std::copy(chan.begin(), chan.end(), w.salient.begin() + i * in);
      }
    } else { // NM: nmSalient distinct positions per block of M
      for (int64_t i = 0; i < out; ++i)
        for (int64_t b = 0; b < in / s.block; ++b) {
          int64_t placed = 0;
          while (placed < s.nmSalient) {
            int64_t j = b * s.block + int64_t(rng.next() % uint64_t(s.block));
            if (!w.salient[i * in + j]) {
              w.salient[i * in + j] = 1;
              ++placed;
            }
          }
        }
    }
  }
  for (size_t k = 0; k < n; ++k) {
    unsigned bits = !w.salient.empty() && w.salient[k] ? s.salientBits : s.bits;
    w.codes[k] = uint8_t(rng.next() >> (64 - bits));
  }
  size_t ng = size_t(out * w.groups());
  w.scales.resize(ng);
  w.offsets.resize(ng);
  for (size_t k = 0; k < ng; ++k) {
    w.scales[k] = 0.001f + 0.01f * rng.uniform();
    w.offsets[k] = 0.02f * (rng.uniform() - 0.5f);
  }
  if (s.mixed()) {
    w.salientScales.resize(ng);
    w.salientOffsets.resize(ng);
    for (size_t k = 0; k < ng; ++k) {
      w.salientScales[k] = 0.001f + 0.005f * rng.uniform();
      w.salientOffsets[k] = 0.04f * (rng.uniform() - 0.5f);
    }
  }
  return w;
}

std::string shapeName(const ShapeDef &sh) {
  return std::to_string(sh.out) + "x" + std::to_string(sh.in);
}

/// A packed weight, built on first use and shared by GEMV and GEMM.
struct PackedEntry {
  Spec spec;
  std::vector<uint8_t> bytes;
  PackedMatrix matrix;
};

PackedEntry &packed(const LayoutDef &l, const ShapeDef &sh) {
  static std::map<std::string, std::unique_ptr<PackedEntry>> cache;
  std::string key = std::string(l.name) + "/" + shapeName(sh);
  auto &slot = cache[key];
  if (slot)
    return *slot;
  slot = std::make_unique<PackedEntry>();
  Logical w = randomLogical(l.spec, sh.out, sh.in, l.salientFrac,
                            uint64_t(sh.out * 31 + sh.in));
  slot->spec = l.spec;
  Status st = fit(slot->spec, w);
  if (st.failed() || (st = pack(slot->spec, w, slot->bytes)).failed() ||
      (st = PackedMatrix::create(slot->spec, sh.out, sh.in, slot->bytes.data(),
                                 slot->bytes.size(), true, slot->matrix))
          .failed()) {
    std::fprintf(stderr, "%s: %s\n", key.c_str(), st.message().c_str());
    std::exit(1);
  }
  return *slot;
}

/// The f32 matrix of the current shape (one kept at a time).
const std::vector<float> &denseWeights(const ShapeDef &sh) {
  static std::string current;
  static std::vector<float> w;
  if (current != shapeName(sh)) {
    Rng rng(7);
    w.resize(size_t(sh.out * sh.in));
    for (float &v : w)
      v = 0.02f * (rng.uniform() - 0.5f);
    current = shapeName(sh);
  }
  return w;
}

std::vector<float> randomInput(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(n));
  for (float &v : x)
    v = rng.uniform() - 0.5f;
  return x;
}

void blasCall(const ShapeDef &sh, int64_t tokens, const float *w,
              const float *x, float *y) {
  if (tokens == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(sh.out), int(sh.in), 1.0f, w,
                int(sh.in), x, 1, 0.0f, y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(tokens),
                int(sh.out), int(sh.in), 1.0f, x, int(sh.in), w, int(sh.in),
                0.0f, y, int(sh.out));
}

/// Seconds per f32 BLAS call for a shape and token count: measured once per
/// process (the median of up to 15 calls within about half a second) and
/// reused by every layout.
double blasSeconds(const ShapeDef &sh, int64_t tokens) {
  static std::map<std::string, double> cache;
  std::string key = shapeName(sh) + "/" + std::to_string(tokens);
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second;
  const std::vector<float> &w = denseWeights(sh);
  std::vector<float> x = randomInput(tokens * sh.in, 3);
  std::vector<float> y(size_t(tokens * sh.out));
  blasCall(sh, tokens, w.data(), x.data(), y.data()); // warm up
  using clock = std::chrono::steady_clock;
  std::vector<double> times;
  auto begin = clock::now();
  while (times.size() < 15 &&
         (times.size() < 3 ||
          std::chrono::duration<double>(clock::now() - begin).count() < 0.5)) {
    auto t0 = clock::now();
    blasCall(sh, tokens, w.data(), x.data(), y.data());
    times.push_back(std::chrono::duration<double>(clock::now() - t0).count());
  }
  benchmark::DoNotOptimize(y.data());
  std::sort(times.begin(), times.end());
  return cache[key] = times[times.size() / 2];
}

void setCounters(benchmark::State &state, const ShapeDef &sh, double bytes,
                 int64_t tokens) {
  using benchmark::Counter;
  state.counters["gb_per_s"] =
      Counter(bytes * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["bits_per_weight"] = 8.0 * bytes / double(sh.out * sh.in);
  state.counters["speedup_vs_blas"] =
      Counter(blasSeconds(sh, tokens), Counter::kIsIterationInvariantRate);
  state.counters["tokens"] = double(tokens);
}

void benchBlas(benchmark::State &state, ShapeDef sh, int64_t tokens) {
  const std::vector<float> &w = denseWeights(sh);
  std::vector<float> x = randomInput(tokens * sh.in, 3);
  std::vector<float> y(size_t(tokens * sh.out));
  for (auto _ : state) {
    blasCall(sh, tokens, w.data(), x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  setCounters(state, sh, 4.0 * double(sh.out * sh.in), tokens);
}

void benchPacked(benchmark::State &state, LayoutDef l, ShapeDef sh,
                 int64_t tokens) {
  // Time the BLAS reference before the packed weight takes memory bandwidth
  // and cache: it is cached per shape.
  blasSeconds(sh, tokens);
  const PackedMatrix &m = packed(l, sh).matrix;
  std::vector<float> x = randomInput(tokens * sh.in, 3);
  std::vector<float> y(size_t(tokens * sh.out));
  for (auto _ : state) {
    if (tokens == 1)
      m.gemv(x.data(), y.data());
    else
      m.gemm(x.data(), tokens, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  setCounters(state, sh, double(m.bytes()), tokens);
}

} // namespace

int main(int argc, char **argv) {
  openblas_set_num_threads(1);
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  for (const ShapeDef &sh : kShapes)
    for (int64_t tokens : {int64_t(1), kGemmTokens}) {
      std::string op = tokens == 1 ? "gemv" : "gemm" + std::to_string(tokens);
      benchmark::RegisterBenchmark(
          (op + "/f32_blas/" + shapeName(sh)).c_str(),
          [sh, tokens](benchmark::State &s) { benchBlas(s, sh, tokens); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      for (const LayoutDef &l : layouts())
        benchmark::RegisterBenchmark(
            (op + "/" + l.name + "/" + shapeName(sh)).c_str(),
            [l, sh, tokens](benchmark::State &s) {
              benchPacked(s, l, sh, tokens);
            })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

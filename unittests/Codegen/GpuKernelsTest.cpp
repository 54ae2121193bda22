//===- GpuKernelsTest.cpp - CUDA kernels, compiled and emulated -----------===//
//
// Two checks of the CUDA kernels that need no GPU:
//
// - They compile for sm_80 and sm_90 at the bundled model's and
//   LLaMA-2-7B's shapes: PTX with butterfly shuffles, 128-bit loads, the
//   block size stated, no local memory; ptxas (where the CUDA toolkit is
//   installed) reports no stack frame and no spills.
// - Their SIMT logic is right: each gpu.func is rewritten into a CPU
//   function of (arguments, thread id, block ids), gpu.shuffle into a call
//   to a warp emulator in which the 32 lanes of a warp are 32 threads
//   exchanging values through a barrier, and the result is compiled by the
//   MLIR JIT and launched over the whole grid. The outputs are held against
//   the C++ reference kernels of the packed layouts.
//
//===----------------------------------------------------------------------===//

#include "s10/Codegen/CpuCodegen.h"
#include "s10/Codegen/CudaCodegen.h"
#include "s10/Codegen/GpuKernelBuilder.h"
#include "s10/Quant/GpuCases.h"
#include "s10/Quant/PackedKernels.h"

#include "CodegenTestUtil.h"
#include "GpuEmulator.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

using namespace mlir;
using namespace s10::codegen;
using namespace s10::quant::layout;
using namespace s10::quant::layout::test;
namespace gpucases = s10::quant::gpucases;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

GemvFamily plainFamily(const GemvWeight &w) {
  return {GemvFamily::Kind::Plain, {w}, {}};
}

//===----------------------------------------------------------------------===//
// Emulated kernels against the references
//===----------------------------------------------------------------------===//

/// Every kind the CUDA GEMV serves, every parameter format, rows not a
/// multiple of the warps per block, one group per row or several, and rows
/// of 1280 inputs (40 words: two sweeps of the warp, so the salient rank
/// is carried from one sweep to the next).
TEST(GpuKernels, EmulatedPackedGemv) {
  const ParamFormat f16 = ParamFormat::F16, q8 = ParamFormat::Q8,
                    q8t = ParamFormat::Q8T;
  std::vector<Case> cases;
  for (unsigned b = 1; b <= 8; ++b)
    cases.push_back({"kbit" + std::to_string(b) + (b % 2 ? "_q8" : "_f16"),
                     kbitSpec(b, 0, b % 2 ? q8 : f16),
                     {b == 2 ? 37 : 9, b == 2 ? 1280 : 160, 32}});
  cases.push_back({"kbit4_f16_onegroup", kbitSpec(4, 0, f16), {5, 96, 96}});
  cases.push_back({"kbit2_q8t", kbitSpec(2, 0, q8t), {37, 1280, 128}});
  for (unsigned sb = 2; sb <= 8; ++sb)
    cases.push_back({"bitmap_s" + std::to_string(sb) + "_f16",
                     mixedSpec(Kind::Bitmap, sb, 0, f16),
                     {sb == 4 ? 37 : 11, sb == 4 ? 1280 : 256, 128}});
  cases.push_back(
      {"bitmap_s4_q8", mixedSpec(Kind::Bitmap, 4, 0, q8), {19, 1280, 64}});
  cases.push_back(
      {"bitmap_s3_q8", mixedSpec(Kind::Bitmap, 3, 0, q8), {6, 64, 32}});
  cases.push_back({"chanblock_b1_s3_f16",
                   mixedSpec(Kind::ChannelBlock, 3, 0, f16, 1),
                   {9, 128, 32}});
  cases.push_back({"chanblock_b4_s4_q8",
                   mixedSpec(Kind::ChannelBlock, 4, 0, q8, 4),
                   {19, 1280, 128}});
  cases.push_back({"chanblock_b16_s8_f16",
                   mixedSpec(Kind::ChannelBlock, 8, 0, f16, 16),
                   {37, 192, 64}});
  // N:M: blocks smaller than a warp's word, as wide, and wider (a word
  // inside one block); one and several salient per block.
  cases.push_back(
      {"nm1of8_s4_f16", mixedSpec(Kind::NM, 4, 0, f16, 8, 1), {37, 1280, 128}});
  cases.push_back(
      {"nm2of8_s3_q8", mixedSpec(Kind::NM, 3, 0, q8, 8, 2), {9, 256, 64}});
  cases.push_back(
      {"nm1of4_s4_q8", mixedSpec(Kind::NM, 4, 0, q8, 4, 1), {11, 192, 32}});
  cases.push_back(
      {"nm1of16_s4_q8", mixedSpec(Kind::NM, 4, 0, q8, 16, 1), {19, 512, 256}});
  cases.push_back(
      {"nm1of8_s4_q8t", mixedSpec(Kind::NM, 4, 0, q8t, 8, 1), {19, 512, 256}});
  cases.push_back(
      {"nm3of32_s5_f16", mixedSpec(Kind::NM, 5, 0, f16, 32, 3), {7, 128, 64}});
  cases.push_back(
      {"nm5of64_s4_f16", mixedSpec(Kind::NM, 4, 0, f16, 64, 5), {5, 256, 128}});
  // Rows of 4096 inputs and more: a lane's tile of 128 columns (16-byte
  // loads of each plane), groups as wide or narrower (parameters per Word),
  // 33 tiles (the rank carried into a second sweep of one lane); k-bit
  // codes of 7 bits are read from memory chunk by chunk.
  for (unsigned b : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u})
    cases.push_back({"wide_kbit" + std::to_string(b),
                     kbitSpec(b, 0, b % 2 ? q8t : f16),
                     {3, b == 3 ? 4224 : 4096, b == 3 ? 64 : 128}});
  cases.push_back({"wide_bitmap_s4_f16",
                   mixedSpec(Kind::Bitmap, 4, 0, f16),
                   {5, 4224, 128}});
  cases.push_back(
      {"wide_bitmap_s3_q8", mixedSpec(Kind::Bitmap, 3, 0, q8), {3, 4096, 32}});
  cases.push_back({"wide_chanblock_b4_s4_q8",
                   mixedSpec(Kind::ChannelBlock, 4, 0, q8, 4),
                   {6, 4096, 256}});
  cases.push_back({"wide_nm1of16_s4_q8t",
                   mixedSpec(Kind::NM, 4, 0, q8t, 16, 1),
                   {3, 4096, 256}});
  cases.push_back({"wide_nm2of8_s3_f16",
                   mixedSpec(Kind::NM, 3, 0, f16, 8, 2),
                   {3, 4224, 64}});
  // Ternary: a lane's 32 columns start mid-word in most rows.
  cases.push_back({"ternary_f16", ternarySpec(0, f16), {37, 1280, 128}});
  cases.push_back({"ternary_q8t", ternarySpec(0, q8t), {9, 384, 384}});
  cases.push_back({"ternary_q8", ternarySpec(0, q8), {11, 96, 32}});
  std::vector<Packed> packed(cases.size());
  for (size_t k = 0; k < cases.size(); ++k) {
    makePacked({cases[k].name + "_" + shapeName(cases[k].shape), cases[k].spec,
                cases[k].shape},
               uint32_t(3000 + k), packed[k]);
    if (HasFatalFailure())
      return;
  }
  Emulated emu([&](OpBuilder &b, Location loc) {
    for (const Packed &p : packed)
      ASSERT_TRUE(succeeded(buildGpuGemvKernel(
          b, loc, GemvWeight::makePacked(p.spec, p.out, p.in))));
  });
  if (HasFatalFailure())
    return;
  const int64_t tokens = 2;
  for (size_t k = 0; k < packed.size(); ++k) {
    const Packed &p = packed[k];
    KernelFn fn =
        emu.get(gemvKernelName(GemvWeight::makePacked(p.spec, p.out, p.in)));
    ASSERT_TRUE(fn);
    std::vector<float> x = randomVector(size_t(tokens * p.in), uint32_t(k));
    std::vector<float> y(size_t(tokens * p.out), 12345.0f);
    ASSERT_TRUE(launch(fn, p.bytes.data(), x.data(), y.data(), tokens,
                       ceilDiv(p.out, kGemvWarps), tokens, kGemvWarps * kLanes))
        << p.name << ": lanes diverged at a shuffle";
    std::vector<float> row(size_t(p.in)), ref(size_t(p.out));
    for (int64_t t = 0; t < tokens; ++t) {
      const float *xt = x.data() + t * p.in;
      GemvScratch scratch;
      p.m.prepare(xt, scratch);
      p.m.gemvRows(xt, scratch, ref.data(), 0, p.out);
      for (int64_t r = 0; r < p.out; ++r) {
        p.m.decodeRow(r, row.data());
        double mag = 0;
        for (int64_t j = 0; j < p.in; ++j)
          mag += std::fabs(double(row[j]) * xt[j]);
        EXPECT_NEAR(y[t * p.out + r], ref[r], 1e-5 * mag + 1e-30)
            << p.name << " token " << t << " row " << r;
      }
    }
  }
}

/// The prefill GEMM on (emulated) tensor cores: every kind, rows and
/// tokens that leave a tile part empty, Words past the row (inputs not a
/// multiple of 128), 7-bit codes read chunk by chunk, a second token tile.
/// Against the C++ decode rounded to f16 as the kernel rounds it (the
/// sums of products of the f16 values: 1e-5 of the row's magnitude), and
/// against the reference GEMV within the bound of that rounding (2^-10).
TEST(GpuKernels, EmulatedPackedGemm) {
  const ParamFormat f16 = ParamFormat::F16, q8 = ParamFormat::Q8,
                    q8t = ParamFormat::Q8T;
  std::vector<Case> cases;
  cases.push_back({"kbit2_f16", kbitSpec(2, 0, f16), {37, 640, 128}});
  cases.push_back({"kbit3_q8", kbitSpec(3, 0, q8), {9, 160, 32}});
  cases.push_back({"kbit4_onegroup", kbitSpec(4, 0, f16), {8, 96, 96}});
  cases.push_back({"kbit7_q8t", kbitSpec(7, 0, q8t), {11, 256, 64}});
  cases.push_back(
      {"bitmap_s4_f16", mixedSpec(Kind::Bitmap, 4, 0, f16), {19, 640, 128}});
  cases.push_back(
      {"bitmap_s3_q8", mixedSpec(Kind::Bitmap, 3, 0, q8), {6, 224, 32}});
  cases.push_back({"chanblock_b4_s4_q8",
                   mixedSpec(Kind::ChannelBlock, 4, 0, q8, 4),
                   {12, 384, 128}});
  cases.push_back(
      {"nm1of8_s4_f16", mixedSpec(Kind::NM, 4, 0, f16, 8, 1), {9, 256, 128}});
  cases.push_back({"ternary_f16", ternarySpec(0, f16), {13, 640, 128}});
  cases.push_back({"ternary_q8t", ternarySpec(0, q8t), {5, 96, 96}});
  std::vector<Packed> packed(cases.size());
  for (size_t k = 0; k < cases.size(); ++k) {
    makePacked({cases[k].name + "_" + shapeName(cases[k].shape), cases[k].spec,
                cases[k].shape},
               uint32_t(5000 + k), packed[k]);
    if (HasFatalFailure())
      return;
  }
  Emulated emu([&](OpBuilder &b, Location loc) {
    for (const Packed &p : packed)
      ASSERT_TRUE(succeeded(buildGpuGemmKernel(
          b, loc, plainFamily(GemvWeight::makePacked(p.spec, p.out, p.in)))));
  });
  if (HasFatalFailure())
    return;
  auto roundHalf = [](float v) { return double(halfToFloat(floatToHalf(v))); };
  for (size_t k = 0; k < packed.size(); ++k) {
    const Packed &p = packed[k];
    KernelFn fn = emu.get(gemmKernelName(
        plainFamily(GemvWeight::makePacked(p.spec, p.out, p.in))));
    ASSERT_TRUE(fn);
    // One partial token tile, or (every third case) a full one and a
    // partial second.
    const int64_t tokens = k % 3 == 0 ? kGemmTokens + 6 : 1 + int64_t(k) * 3;
    std::vector<float> x = randomVector(size_t(tokens * p.in), uint32_t(k));
    std::vector<float> y(size_t(tokens * p.out), 12345.0f);
    ASSERT_TRUE(launch(fn, p.bytes.data(), x.data(), y.data(), tokens,
                       ceilDiv(p.out, kGemmRows * kGemvWarps),
                       ceilDiv(tokens, kGemmTokens), kGemvWarps * kLanes))
        << p.name << ": lanes diverged at a shuffle";
    std::vector<float> w(size_t(p.out * p.in)), ref(size_t(p.out));
    for (int64_t r = 0; r < p.out; ++r)
      p.m.decodeRow(r, w.data() + r * p.in);
    int bad = 0;
    for (int64_t t = 0; t < tokens && bad < 5; ++t) {
      const float *xt = x.data() + t * p.in;
      GemvScratch scratch;
      p.m.prepare(xt, scratch);
      p.m.gemvRows(xt, scratch, ref.data(), 0, p.out);
      for (int64_t r = 0; r < p.out; ++r) {
        double sum = 0, mag = 0;
        for (int64_t j = 0; j < p.in; ++j) {
          double prod = roundHalf(w[r * p.in + j]) * roundHalf(xt[j]);
          sum += prod;
          mag += std::fabs(prod);
        }
        float got = y[t * p.out + r];
        bool ok = std::fabs(got - sum) <= 1e-5 * mag + 1e-30 &&
                  std::fabs(double(got) - ref[r]) <= 0x1p-10 * mag + 1e-30;
        EXPECT_TRUE(ok) << p.name << " token " << t << " row " << r << ": "
                        << got << ", f16 sums " << sum << ", GEMV " << ref[r];
        bad += !ok;
      }
    }
  }
}

/// The prefill GEMM twins of the fused GEMVs, with their arguments: the
/// residual add (also in place), gate and up in different layouts with the
/// norm and SwiGLU, the norm (f16 and f32 weights) of packed and dense
/// rows, dense f32 rows, and q, k and v of three layouts with the norm.
/// Against double-precision sums of the f16-rounded weights times the
/// f16-rounded g * x (1e-5 of the magnitude), and against the exact rows
/// within the bound of that rounding (2^-10), through the epilogue.
TEST(GpuKernels, EmulatedFusedGemm) {
  const ParamFormat f16 = ParamFormat::F16, q8t = ParamFormat::Q8T;
  // A weight, its bytes and its exact rows.
  struct W {
    GemvWeight gw;
    std::vector<uint8_t> bytes;
    std::vector<float> rows;
  };
  auto packedW = [&](const std::string &name, Spec spec, Shape shape,
                     uint32_t seed) {
    Packed p;
    makePacked({name + "_" + shapeName(shape), spec, shape}, seed, p);
    W w{GemvWeight::makePacked(p.spec, p.out, p.in), p.bytes,
        std::vector<float>(size_t(p.out * p.in))};
    for (int64_t r = 0; r < p.out; ++r)
      p.m.decodeRow(r, w.rows.data() + r * p.in);
    return w;
  };
  auto denseW = [&](DenseType type, int64_t out, int64_t in, uint32_t seed) {
    W w{GemvWeight::makeDense(type, out, in),
        {},
        randomVector(size_t(out * in), seed)};
    size_t elem = type == DenseType::F16 ? 2 : 4;
    w.bytes.resize(w.rows.size() * elem);
    for (size_t i = 0; i < w.rows.size(); ++i) {
      if (type == DenseType::F16) {
        uint16_t h = floatToHalf(w.rows[i]);
        w.rows[i] = halfToFloat(h);
        std::memcpy(w.bytes.data() + 2 * i, &h, 2);
      } else {
        std::memcpy(w.bytes.data() + 4 * i, &w.rows[i], 4);
      }
    }
    return w;
  };
  struct C {
    std::string name;
    GemvFamily::Kind kind;
    std::vector<W> ws;
    std::optional<GemvNorm> norm;
    int64_t tokens;
  };
  std::vector<C> cases;
  cases.push_back(
      {"add",
       GemvFamily::Kind::Add,
       {packedW("kbit2_q8t", kbitSpec(2, 0, q8t), {37, 1280, 128}, 71)},
       {},
       37});
  cases.push_back(
      {"norm_swiglu",
       GemvFamily::Kind::SwiGLU,
       {packedW("bitmap_s4", mixedSpec(Kind::Bitmap, 4, 0, f16), {19, 640, 128},
                72),
        packedW("ternary", ternarySpec(0, f16), {19, 640, 128}, 73)},
       GemvNorm{DenseType::F16, 1e-5},
       40});
  cases.push_back({"norm_f32",
                   GemvFamily::Kind::Plain,
                   {packedW("kbit3", kbitSpec(3, 0, f16), {9, 256, 64}, 74)},
                   GemvNorm{DenseType::F32, 1e-6},
                   5});
  cases.push_back({"dense_norm",
                   GemvFamily::Kind::Plain,
                   {denseW(DenseType::F16, 21, 256, 75)},
                   GemvNorm{DenseType::F16, 1e-5},
                   33});
  cases.push_back({"dense_f32",
                   GemvFamily::Kind::Plain,
                   {denseW(DenseType::F32, 13, 128, 76)},
                   {},
                   3});
  cases.push_back(
      {"qkv",
       GemvFamily::Kind::Qkv,
       {packedW("kbit2", kbitSpec(2, 0, f16), {16, 384, 128}, 77),
        packedW("bitmap_s3", mixedSpec(Kind::Bitmap, 3, 0, q8t), {8, 384, 64},
                78),
        packedW("ternary_q8t", ternarySpec(0, q8t), {12, 384, 128}, 79)},
       GemvNorm{DenseType::F16, 1e-5},
       20});
  if (HasFatalFailure())
    return;
  auto family = [](const C &c) {
    GemvFamily f{c.kind, {}, c.norm};
    for (const W &w : c.ws)
      f.weights.push_back(w.gw);
    return f;
  };
  Emulated emu([&](OpBuilder &b, Location loc) {
    for (const C &c : cases)
      ASSERT_TRUE(succeeded(buildGpuGemmKernel(b, loc, family(c))));
  });
  if (HasFatalFailure())
    return;
  using P = const void *;
  using Fn4 = void (*)(P, P, P, P, int64_t, int64_t, int64_t, int64_t);
  using Fn5 = void (*)(P, P, P, P, P, int64_t, int64_t, int64_t, int64_t);
  using Fn8 =
      void (*)(P, P, P, P, P, P, P, P, int64_t, int64_t, int64_t, int64_t);
  auto roundHalf = [](float v) { return double(halfToFloat(floatToHalf(v))); };
  for (size_t k = 0; k < cases.size(); ++k) {
    const C &c = cases[k];
    const int64_t in = c.ws[0].gw.in, tokens = c.tokens;
    std::vector<float> x = randomVector(size_t(tokens * in), uint32_t(90 + k));
    for (float &v : x)
      v *= 3.0f;
    // The norm weight as the kernel reads it, and its values.
    std::vector<float> gv(size_t(in), 1.0f);
    std::vector<uint8_t> gBytes;
    if (c.norm) {
      gv = randomVector(size_t(in), uint32_t(95 + k));
      bool h = c.norm->weight == DenseType::F16;
      gBytes.resize(size_t(in) * (h ? 2 : 4));
      for (int64_t j = 0; j < in; ++j) {
        if (h) {
          uint16_t b = floatToHalf(gv[size_t(j)]);
          gv[size_t(j)] = halfToFloat(b);
          std::memcpy(gBytes.data() + 2 * j, &b, 2);
        } else {
          std::memcpy(gBytes.data() + 4 * j, &gv[size_t(j)], 4);
        }
      }
    }
    // Per weight: the f16 sums, their magnitudes and the exact rows.
    struct Ref {
      std::vector<double> f16, mag, exact;
    };
    std::vector<Ref> refs(c.ws.size());
    for (size_t wi = 0; wi < c.ws.size(); ++wi) {
      const W &w = c.ws[wi];
      int64_t out = w.gw.out;
      Ref &rf = refs[wi];
      rf.f16.assign(size_t(tokens * out), 0);
      rf.mag = rf.exact = rf.f16;
      for (int64_t t = 0; t < tokens; ++t) {
        const float *xt = x.data() + t * in;
        double inv = 1;
        if (c.norm) {
          // The mean in f32 and the root in double, as the kernels.
          float ss = 0;
          for (int64_t j = 0; j < in; ++j)
            ss += xt[j] * xt[j];
          inv = 1 / std::sqrt(double(ss / float(in) + float(c.norm->eps)));
        }
        for (int64_t r = 0; r < out; ++r) {
          double s = 0, m = 0, e = 0;
          for (int64_t j = 0; j < in; ++j) {
            float gx = c.norm ? gv[size_t(j)] * xt[j] : xt[j];
            float wv = w.rows[size_t(r * in + j)];
            double prod = roundHalf(wv) * roundHalf(gx);
            s += prod;
            m += std::fabs(prod);
            e += double(wv) * double(gx);
          }
          size_t at = size_t(t * out + r);
          rf.f16[at] = s * inv;
          rf.mag[at] = m * inv;
          rf.exact[at] = e * inv;
        }
      }
    }
    const int64_t out0 = c.ws[0].gw.out;
    int64_t rows = 0;
    for (const W &w : c.ws)
      rows += c.kind == GemvFamily::Kind::Qkv ? w.gw.out : 0;
    rows = c.kind == GemvFamily::Kind::Qkv ? rows : out0;
    std::vector<std::vector<float>> ys;
    for (const W &w : c.ws)
      ys.emplace_back(size_t(tokens * w.gw.out), 12345.f);
    std::vector<float> r = randomVector(ys[0].size(), uint32_t(99 + k));
    const void *gp = gBytes.empty() ? nullptr : gBytes.data();
    std::string name = gemmKernelName(family(c));
    auto launchIt =
        [&](const std::function<void(int64_t, int64_t, int64_t)> &lane) {
          ASSERT_TRUE(launchLanes(lane, ceilDiv(rows, kGemmRows * kGemvWarps),
                                  ceilDiv(tokens, kGemmTokens),
                                  kGemvWarps * kLanes))
              << c.name << ": lanes diverged at a shuffle";
        };
    switch (c.kind) {
    case GemvFamily::Kind::Add: {
      // In place: y is r.
      ys[0] = r;
      auto fn = emu.get<Fn4>(name);
      ASSERT_TRUE(fn);
      launchIt([&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
        fn(c.ws[0].bytes.data(), x.data(), ys[0].data(), ys[0].data(), tokens,
           tid, bx, by);
      });
      break;
    }
    case GemvFamily::Kind::SwiGLU: {
      auto fn = emu.get<Fn5>(name);
      ASSERT_TRUE(fn);
      launchIt([&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
        fn(c.ws[0].bytes.data(), c.ws[1].bytes.data(), gp, x.data(),
           ys[0].data(), tokens, tid, bx, by);
      });
      break;
    }
    case GemvFamily::Kind::Plain: {
      if (c.norm) {
        auto fn = emu.get<Fn4>(name);
        ASSERT_TRUE(fn);
        launchIt([&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          fn(c.ws[0].bytes.data(), gp, x.data(), ys[0].data(), tokens, tid, bx,
             by);
        });
      } else {
        KernelFn fn = emu.get(name);
        ASSERT_TRUE(fn);
        launchIt([&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          fn(c.ws[0].bytes.data(), x.data(), ys[0].data(), tokens, tid, bx, by);
        });
      }
      break;
    }
    case GemvFamily::Kind::Qkv: {
      auto fn = emu.get<Fn8>(name);
      ASSERT_TRUE(fn);
      launchIt([&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
        fn(c.ws[0].bytes.data(), c.ws[1].bytes.data(), c.ws[2].bytes.data(), gp,
           x.data(), ys[0].data(), ys[1].data(), ys[2].data(), tokens, tid, bx,
           by);
      });
      break;
    }
    }
    if (HasFatalFailure())
      return;
    int bad = 0;
    auto expect = [&](double got, double want, double tol, double exact,
                      double bound, const std::string &what) {
      bool ok = std::fabs(got - want) <= tol + 1e-30 &&
                std::fabs(got - exact) <= bound + 1e-30;
      if (!ok && bad++ < 5)
        ADD_FAILURE() << c.name << " " << what << ": " << got << ", f16 sums "
                      << want << ", exact " << exact;
    };
    for (size_t wi = 0; wi < ys.size(); ++wi) {
      if (c.kind == GemvFamily::Kind::SwiGLU && wi > 0)
        break;
      for (size_t i = 0; i < ys[wi].size(); ++i) {
        double got = ys[wi][i];
        const Ref &a = refs[wi];
        std::string what =
            "y" + std::to_string(wi) + "[" + std::to_string(i) + "]";
        if (c.kind == GemvFamily::Kind::SwiGLU) {
          const Ref &u = refs[1];
          auto silu = [](double v) { return v / (1 + std::exp(-v)); };
          double want = silu(a.f16[i]) * u.f16[i];
          double exact = silu(a.exact[i]) * u.exact[i];
          double scale = 1.1 * a.mag[i] * std::fabs(u.f16[i]) +
                         std::fabs(silu(a.f16[i])) * u.mag[i];
          expect(got, want, 1e-5 * scale + 1e-6 * std::fabs(want), exact,
                 0x1p-10 * 1.1 * scale + 1e-5 * std::fabs(want), what);
        } else if (c.kind == GemvFamily::Kind::Add) {
          expect(got, a.f16[i] + r[i], 1e-5 * a.mag[i] + 1e-6 * std::fabs(r[i]),
                 a.exact[i] + r[i], 0x1p-10 * a.mag[i] + 1e-6 * std::fabs(r[i]),
                 what);
        } else {
          expect(got, a.f16[i], 1e-5 * a.mag[i], a.exact[i], 0x1p-10 * a.mag[i],
                 what);
        }
      }
    }
  }
}

TEST(GpuKernels, EmulatedDenseGemv) {
  struct C {
    DenseType type;
    int64_t out, in;
  };
  std::vector<C> cases = {{DenseType::F16, 37, 1280},
                          {DenseType::F32, 19, 64},
                          {DenseType::F16, 6, 8}};
  Emulated emu([&](OpBuilder &b, Location loc) {
    for (const C &c : cases)
      ASSERT_TRUE(succeeded(buildGpuGemvKernel(
          b, loc, GemvWeight::makeDense(c.type, c.out, c.in))));
  });
  if (HasFatalFailure())
    return;
  uint32_t seed = 11;
  const int64_t tokens = 3;
  for (const C &c : cases) {
    GemvWeight w = GemvWeight::makeDense(c.type, c.out, c.in);
    KernelFn fn = emu.get(gemvKernelName(w));
    ASSERT_TRUE(fn);
    std::vector<float> dense = randomVector(size_t(c.out * c.in), seed++);
    std::vector<uint8_t> bytes(w.bytes());
    for (size_t i = 0; i < dense.size(); ++i) {
      if (c.type == DenseType::F16) {
        uint16_t h = floatToHalf(dense[i]);
        dense[i] = halfToFloat(h);
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      } else {
        std::memcpy(bytes.data() + 4 * i, &dense[i], 4);
      }
    }
    std::vector<float> x = randomVector(size_t(tokens * c.in), seed++);
    std::vector<float> y(size_t(tokens * c.out), 12345.0f);
    ASSERT_TRUE(launch(fn, bytes.data(), x.data(), y.data(), tokens,
                       ceilDiv(c.out, kGemvWarps), tokens,
                       kGemvWarps * kLanes));
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t i = 0; i < c.out; ++i) {
        double ref = 0, mag = 0;
        for (int64_t j = 0; j < c.in; ++j) {
          double p = double(dense[i * c.in + j]) * x[t * c.in + j];
          ref += p;
          mag += std::fabs(p);
        }
        EXPECT_NEAR(y[t * c.out + i], ref, 1e-5 * mag + 1e-30)
            << gemvKernelName(w) << " token " << t << " row " << i;
      }
  }
}

/// The reference kernel's rows of `p` for `tokens` rows of x, and the sums
/// of |w x| (the error scale).
void referenceRows(const Packed &p, const std::vector<float> &x, int64_t tokens,
                   std::vector<double> &ref, std::vector<double> &mag) {
  ref.assign(size_t(tokens * p.out), 0);
  mag.assign(ref.size(), 0);
  std::vector<float> row(size_t(p.in)), r(size_t(p.out));
  for (int64_t t = 0; t < tokens; ++t) {
    const float *xt = x.data() + t * p.in;
    GemvScratch scratch;
    p.m.prepare(xt, scratch);
    p.m.gemvRows(xt, scratch, r.data(), 0, p.out);
    for (int64_t i = 0; i < p.out; ++i) {
      p.m.decodeRow(i, row.data());
      ref[size_t(t * p.out + i)] = r[size_t(i)];
      for (int64_t j = 0; j < p.in; ++j)
        mag[size_t(t * p.out + i)] += std::fabs(double(row[j]) * xt[j]);
    }
  }
}

/// The fused GEMVs: the residual add in the epilogue (y = W x + r, also
/// in place, y == r) and gate, up and SwiGLU in one kernel, with gate and
/// up in different layouts, against the reference kernels.
TEST(GpuKernels, EmulatedFusedGemv) {
  const ParamFormat f16 = ParamFormat::F16, q8t = ParamFormat::Q8T;
  struct P {
    std::string name;
    Spec spec;
  };
  std::vector<P> specs = {{"kbit2_q8t", kbitSpec(2, 0, q8t)},
                          {"bitmap_s4_f16", mixedSpec(Kind::Bitmap, 4, 0, f16)},
                          {"ternary_f16", ternarySpec(0, f16)},
                          {"kbit3_f16", kbitSpec(3, 0, f16)}};
  // Pairs of weights of one shape: (gate, up) for SwiGLU, the first for Add.
  struct F {
    size_t gate, up;
    Shape shape;
  };
  std::vector<F> fused = {
      {0, 1, {37, 1280, 128}}, {2, 2, {11, 384, 128}}, {3, 0, {9, 256, 64}}};
  std::vector<std::array<Packed, 2>> packed(fused.size());
  for (size_t k = 0; k < fused.size(); ++k)
    for (int i = 0; i < 2; ++i) {
      const P &p = specs[i ? fused[k].up : fused[k].gate];
      makePacked(
          {p.name + "_" + shapeName(fused[k].shape), p.spec, fused[k].shape},
          uint32_t(5000 + 2 * k + size_t(i)), packed[k][size_t(i)]);
      if (HasFatalFailure())
        return;
    }
  auto weight = [](const Packed &p) {
    return GemvWeight::makePacked(p.spec, p.out, p.in);
  };
  Emulated emu([&](OpBuilder &b, Location loc) {
    for (const auto &pair : packed) {
      ASSERT_TRUE(succeeded(buildGpuGemvAddKernel(b, loc, weight(pair[0]))));
      ASSERT_TRUE(succeeded(
          buildGpuGemvSwiGLUKernel(b, loc, weight(pair[0]), weight(pair[1]))));
    }
  });
  if (HasFatalFailure())
    return;
  using AddFn = void (*)(const void *, const void *, const void *, void *,
                         int64_t, int64_t, int64_t, int64_t);
  using SwiGLUFn = AddFn;
  const int64_t tokens = 2;
  auto reference = [&](const Packed &p, const std::vector<float> &x,
                       std::vector<double> &ref, std::vector<double> &mag) {
    referenceRows(p, x, tokens, ref, mag);
  };
  for (size_t k = 0; k < packed.size(); ++k) {
    const Packed &g = packed[k][0], &u = packed[k][1];
    std::vector<float> x =
        randomVector(size_t(tokens * g.in), uint32_t(70 + k));
    std::vector<double> gRef, gMag, uRef, uMag;
    reference(g, x, gRef, gMag);
    reference(u, x, uRef, uMag);
    // Residual add, into a separate y and in place.
    auto add = emu.get<AddFn>(gemvAddKernelName(weight(g)));
    ASSERT_TRUE(add);
    std::vector<float> r =
        randomVector(size_t(tokens * g.out), uint32_t(80 + k));
    for (bool inPlace : {false, true}) {
      std::vector<float> y =
          inPlace ? r : std::vector<float>(r.size(), 12345.f);
      ASSERT_TRUE(launchLanes(
          [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
            add(g.bytes.data(), x.data(), inPlace ? y.data() : r.data(),
                y.data(), tokens, tid, bx, by);
          },
          ceilDiv(g.out, kGemvWarps), tokens, kGemvWarps * kLanes));
      for (size_t i = 0; i < y.size(); ++i)
        EXPECT_NEAR(y[i], gRef[i] + r[i],
                    1e-5 * gMag[i] + 1e-6 * std::fabs(r[i]))
            << g.name << " add, in place " << inPlace << ", element " << i;
    }
    // Gate, up and SwiGLU: silu(g) * u = g / (1 + e^-g) * u.
    auto swiglu = emu.get<SwiGLUFn>(gemvSwiGLUKernelName(weight(g), weight(u)));
    ASSERT_TRUE(swiglu);
    std::vector<float> y(size_t(tokens * g.out), 12345.f);
    ASSERT_TRUE(launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          swiglu(g.bytes.data(), u.bytes.data(), x.data(), y.data(), tokens,
                 tid, bx, by);
        },
        ceilDiv(g.out, kGemvWarps), tokens, kGemvWarps * kLanes));
    for (size_t i = 0; i < y.size(); ++i) {
      double gv = gRef[i], uv = uRef[i];
      double sig = 1 / (1 + std::exp(-gv));
      double want = gv * sig * uv;
      // silu' is at most 1.1 in magnitude.
      double tol = 1e-5 * (1.1 * gMag[i] * std::fabs(uv) +
                           std::fabs(gv * sig) * uMag[i]) +
                   1e-6 * std::fabs(want);
      EXPECT_NEAR(y[i], want, tol)
          << g.name << " x " << u.name << " swiglu, element " << i;
    }
  }
}

/// RMSNorm computed inside the GEMV (f16 and f32 norm weights, packed and
/// dense rows, alone and with gate, up and SwiGLU) against the reference
/// rows of the normalized input.
TEST(GpuKernels, EmulatedNormGemv) {
  const ParamFormat f16 = ParamFormat::F16, q8t = ParamFormat::Q8T;
  struct C {
    std::string name;
    Spec spec;
    Shape shape;
    DenseType normType;
  };
  std::vector<C> cases = {
      {"kbit2_q8t", kbitSpec(2, 0, q8t), {37, 1280, 128}, DenseType::F16},
      {"bitmap_s4_f16",
       mixedSpec(Kind::Bitmap, 4, 0, f16),
       {11, 256, 128},
       DenseType::F32},
      {"ternary_f16", ternarySpec(0, f16), {9, 384, 128}, DenseType::F16}};
  std::vector<Packed> packed(cases.size());
  for (size_t k = 0; k < cases.size(); ++k) {
    makePacked({cases[k].name + "_" + shapeName(cases[k].shape), cases[k].spec,
                cases[k].shape},
               uint32_t(6000 + k), packed[k]);
    if (HasFatalFailure())
      return;
  }
  // q, k and v in one launch: three layouts, q's rows not k's and v's, rows
  // of 4096 (16-byte tiles).
  std::vector<Case> qkvCases = {
      {"qkv_q_bitmap_s4_f16",
       mixedSpec(Kind::Bitmap, 4, 0, f16),
       {37, 4096, 128}},
      {"qkv_k_kbit2_q8t", kbitSpec(2, 0, q8t), {19, 4096, 128}},
      {"qkv_v_ternary_f16", ternarySpec(0, f16), {19, 4096, 128}}};
  std::vector<Packed> qkv(3);
  for (size_t k = 0; k < 3; ++k) {
    makePacked(qkvCases[k], uint32_t(6100 + k), qkv[k]);
    if (HasFatalFailure())
      return;
  }
  const double eps = 1e-5;
  auto weight = [](const Packed &p) {
    return GemvWeight::makePacked(p.spec, p.out, p.in);
  };
  Emulated emu([&](OpBuilder &b, Location loc) {
    for (size_t k = 0; k < packed.size(); ++k) {
      GemvNorm n{cases[k].normType, eps};
      ASSERT_TRUE(
          succeeded(buildGpuNormGemvKernel(b, loc, weight(packed[k]), n)));
      ASSERT_TRUE(succeeded(buildGpuGemvSwiGLUKernel(b, loc, weight(packed[k]),
                                                     weight(packed[k]), n)));
    }
    // A dense f16 head.
    ASSERT_TRUE(succeeded(buildGpuNormGemvKernel(
        b, loc, GemvWeight::makeDense(DenseType::F16, 19, 64),
        GemvNorm{DenseType::F16, eps})));
    ASSERT_TRUE(succeeded(
        buildGpuNormGemvQkvKernel(b, loc, weight(qkv[0]), weight(qkv[1]),
                                  weight(qkv[2]), {DenseType::F16, eps})));
  });
  if (HasFatalFailure())
    return;
  using NormFn = void (*)(const void *, const void *, const void *, void *,
                          int64_t, int64_t, int64_t, int64_t);
  using NormSwiGLUFn =
      void (*)(const void *, const void *, const void *, const void *, void *,
               int64_t, int64_t, int64_t, int64_t);
  const int64_t tokens = 2;
  // The norm weight as the kernel reads it, and its float values.
  auto normWeight = [](int64_t n, DenseType t, uint32_t seed,
                       std::vector<float> &g, std::vector<uint8_t> &bytes) {
    g = randomVector(size_t(n), seed);
    bytes.resize(size_t(n) * (t == DenseType::F16 ? 2 : 4));
    for (size_t j = 0; j < g.size(); ++j) {
      if (t == DenseType::F16) {
        uint16_t h = floatToHalf(g[j]);
        g[j] = halfToFloat(h);
        std::memcpy(bytes.data() + 2 * j, &h, 2);
      } else {
        std::memcpy(bytes.data() + 4 * j, &g[j], 4);
      }
    }
  };
  // x normalized as the RMSNorm kernels compute it (f32 sum of squares,
  // the root in double).
  auto normalize = [&](const std::vector<float> &x, int64_t in,
                       const std::vector<float> &g) {
    std::vector<float> n(x.size());
    for (int64_t t = 0; t < tokens; ++t) {
      double ss = 0;
      for (int64_t j = 0; j < in; ++j)
        ss += double(x[size_t(t * in + j)]) * x[size_t(t * in + j)];
      double inv = 1.0 / std::sqrt(ss / double(in) + eps);
      for (int64_t j = 0; j < in; ++j)
        n[size_t(t * in + j)] =
            float(double(g[size_t(j)]) * x[size_t(t * in + j)] * inv);
    }
    return n;
  };
  for (size_t k = 0; k < packed.size(); ++k) {
    const Packed &p = packed[k];
    GemvNorm nrm{cases[k].normType, eps};
    std::vector<float> g;
    std::vector<uint8_t> gBytes;
    normWeight(p.in, nrm.weight, uint32_t(90 + k), g, gBytes);
    // Inputs far from unit scale, so that a missing 1 / rms shows.
    std::vector<float> x =
        randomVector(size_t(tokens * p.in), uint32_t(95 + k));
    for (float &v : x)
      v *= 7.0f;
    std::vector<float> n = normalize(x, p.in, g);
    std::vector<double> ref, mag;
    referenceRows(p, n, tokens, ref, mag);
    auto fn = emu.get<NormFn>(gemvNormKernelName(weight(p), nrm));
    ASSERT_TRUE(fn);
    std::vector<float> y(ref.size(), 12345.f);
    ASSERT_TRUE(launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          fn(p.bytes.data(), gBytes.data(), x.data(), y.data(), tokens, tid, bx,
             by);
        },
        ceilDiv(p.out, kGemvWarps), tokens, kGemvWarps * kLanes));
    for (size_t i = 0; i < y.size(); ++i)
      EXPECT_NEAR(y[i], ref[i], 1e-5 * mag[i] + 1e-30)
          << p.name << " norm gemv, element " << i;
    auto sw =
        emu.get<NormSwiGLUFn>(gemvSwiGLUKernelName(weight(p), weight(p), nrm));
    ASSERT_TRUE(sw);
    std::vector<float> ys(ref.size(), 12345.f);
    ASSERT_TRUE(launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          sw(p.bytes.data(), p.bytes.data(), gBytes.data(), x.data(), ys.data(),
             tokens, tid, bx, by);
        },
        ceilDiv(p.out, kGemvWarps), tokens, kGemvWarps * kLanes));
    for (size_t i = 0; i < ys.size(); ++i) {
      double v = ref[i], sig = 1 / (1 + std::exp(-v));
      double tol = 1e-5 * (1.1 * std::fabs(v) + std::fabs(v * sig)) * mag[i] +
                   1e-6 * std::fabs(v * sig * v);
      EXPECT_NEAR(ys[i], v * sig * v, tol)
          << p.name << " norm swiglu, element " << i;
    }
  }
  // q, k and v: each output the rows of its weight, nothing written past
  // them.
  {
    using QkvFn = void (*)(const void *, const void *, const void *,
                           const void *, const void *, void *, void *, void *,
                           int64_t, int64_t, int64_t, int64_t);
    GemvNorm nrm{DenseType::F16, eps};
    std::vector<float> g;
    std::vector<uint8_t> gBytes;
    normWeight(4096, nrm.weight, 91, g, gBytes);
    std::vector<float> x = randomVector(size_t(tokens * 4096), 96);
    for (float &v : x)
      v *= 7.0f;
    std::vector<float> n = normalize(x, 4096, g);
    auto fn = emu.get<QkvFn>(
        gemvQkvKernelName(weight(qkv[0]), weight(qkv[1]), weight(qkv[2]), nrm));
    ASSERT_TRUE(fn);
    std::vector<float> ys[3];
    for (int k = 0; k < 3; ++k)
      ys[k].assign(size_t(tokens * qkv[k].out) + 1, 12345.f);
    int64_t rows = qkv[0].out + qkv[1].out + qkv[2].out;
    ASSERT_TRUE(launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          fn(qkv[0].bytes.data(), qkv[1].bytes.data(), qkv[2].bytes.data(),
             gBytes.data(), x.data(), ys[0].data(), ys[1].data(), ys[2].data(),
             tokens, tid, bx, by);
        },
        ceilDiv(rows, kGemvWarps), tokens, kGemvWarps * kLanes));
    for (int k = 0; k < 3; ++k) {
      std::vector<double> ref, mag;
      referenceRows(qkv[size_t(k)], n, tokens, ref, mag);
      EXPECT_EQ(ys[k].back(), 12345.f) << qkv[size_t(k)].name;
      for (size_t i = 0; i < ref.size(); ++i)
        EXPECT_NEAR(ys[k][i], ref[i], 1e-5 * mag[i] + 1e-30)
            << qkv[size_t(k)].name << " in the q, k, v launch, element " << i;
    }
  }
  // The dense head: double-precision rows of the normalized input.
  {
    GemvWeight w = GemvWeight::makeDense(DenseType::F16, 19, 64);
    std::vector<float> dense = randomVector(size_t(19 * 64), 97);
    std::vector<uint8_t> bytes(w.bytes());
    for (size_t i = 0; i < dense.size(); ++i) {
      uint16_t h = floatToHalf(dense[i]);
      dense[i] = halfToFloat(h);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
    std::vector<float> g;
    std::vector<uint8_t> gBytes;
    normWeight(64, DenseType::F16, 98, g, gBytes);
    std::vector<float> x = randomVector(size_t(tokens * 64), 99);
    std::vector<float> n = normalize(x, 64, g);
    auto fn =
        emu.get<NormFn>(gemvNormKernelName(w, GemvNorm{DenseType::F16, eps}));
    ASSERT_TRUE(fn);
    std::vector<float> y(size_t(tokens * 19), 12345.f);
    ASSERT_TRUE(launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          fn(bytes.data(), gBytes.data(), x.data(), y.data(), tokens, tid, bx,
             by);
        },
        ceilDiv(19, kGemvWarps), tokens, kGemvWarps * kLanes));
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t i = 0; i < 19; ++i) {
        double ref = 0, mag = 0;
        for (int64_t j = 0; j < 64; ++j) {
          double pr = double(dense[size_t(i * 64 + j)]) * n[size_t(t * 64 + j)];
          ref += pr;
          mag += std::fabs(pr);
        }
        EXPECT_NEAR(y[size_t(t * 19 + i)], ref, 1e-5 * mag + 1e-30)
            << "dense norm gemv token " << t << " row " << i;
      }
  }
}

TEST(GpuKernels, EmulatedRMSNormAndElementwise) {
  const int64_t rows = 7, n = 1000;
  struct C {
    int64_t width;
    DenseType type;
  };
  std::vector<C> cases = {{384, DenseType::F16}, {100, DenseType::F32}};
  Emulated emu([&](OpBuilder &b, Location loc) {
    for (const C &c : cases)
      ASSERT_TRUE(
          succeeded(buildGpuRMSNormKernel(b, loc, c.width, 1e-5, c.type)));
    buildGpuBinaryKernel(b, loc, BinaryKind::Add);
    buildGpuBinaryKernel(b, loc, BinaryKind::SwiGLU);
  });
  if (HasFatalFailure())
    return;
  for (const C &c : cases) {
    KernelFn fn = emu.get(rmsNormKernelName(c.width, 1e-5, c.type));
    ASSERT_TRUE(fn);
    std::vector<float> x = randomVector(size_t(rows * c.width), 21);
    std::vector<float> g = randomVector(size_t(c.width), 22);
    std::vector<uint8_t> wb(size_t(c.width) *
                            (c.type == DenseType::F16 ? 2 : 4));
    for (int64_t j = 0; j < c.width; ++j) {
      if (c.type == DenseType::F16) {
        uint16_t h = floatToHalf(g[j]);
        g[j] = halfToFloat(h);
        std::memcpy(wb.data() + 2 * j, &h, 2);
      } else {
        std::memcpy(wb.data() + 4 * j, &g[j], 4);
      }
    }
    std::vector<float> y(size_t(rows * c.width), 12345.0f);
    ASSERT_TRUE(launch(fn, x.data(), wb.data(), y.data(), rows,
                       ceilDiv(rows, kGemvWarps), 1, kGemvWarps * kLanes));
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0;
      for (int64_t j = 0; j < c.width; ++j)
        ss += double(x[r * c.width + j]) * x[r * c.width + j];
      double inv = 1.0 / std::sqrt(ss / double(c.width) + 1e-5);
      for (int64_t j = 0; j < c.width; ++j) {
        double want = double(g[j]) * x[r * c.width + j] * inv;
        EXPECT_NEAR(y[r * c.width + j], want, 2e-6 * std::fabs(want) + 1e-30)
            << "width " << c.width << " row " << r << " column " << j;
      }
    }
  }
  std::vector<float> a = randomVector(size_t(n), 31),
                     bv = randomVector(size_t(n), 32);
  for (BinaryKind kind : {BinaryKind::Add, BinaryKind::SwiGLU}) {
    KernelFn fn = emu.get(binaryKernelName(kind));
    ASSERT_TRUE(fn);
    // One element past the end must stay untouched.
    std::vector<float> y(size_t(n + 1), 12345.0f);
    ASSERT_TRUE(launch(fn, a.data(), bv.data(), y.data(), n,
                       ceilDiv(n, kBinaryBlock), 1, kBinaryBlock));
    for (int64_t i = 0; i < n; ++i) {
      double want = kind == BinaryKind::Add
                        ? double(a[i]) + bv[i]
                        : a[i] / (1.0 + std::exp(-double(a[i]))) * bv[i];
      EXPECT_NEAR(y[i], want, 1e-6 * std::fabs(want) + 1e-7)
          << binaryKernelName(kind) << " element " << i;
    }
    EXPECT_EQ(y[n], 12345.0f);
  }
}

TEST(GpuKernels, EmulatedEmbeddingRotaryAttention) {
  const int64_t vocab = 50, hidden = 96;
  const int64_t heads = 4, kvHeads = 2, dim = 40, maxCtx = 16;
  const float scale = 1.0f / std::sqrt(float(dim));
  Emulated emu([&](OpBuilder &b, Location loc) {
    ASSERT_TRUE(succeeded(
        buildGpuEmbeddingKernel(b, loc, vocab, hidden, DenseType::F16)));
    ASSERT_TRUE(succeeded(buildGpuRotaryKernel(b, loc, heads, dim)));
    ASSERT_TRUE(
        succeeded(buildGpuAttentionKernel(b, loc, heads, kvHeads, dim, scale)));
    ASSERT_TRUE(succeeded(buildGpuKvAppendKernel(b, loc, kvHeads * dim)));
    ASSERT_TRUE(
        succeeded(buildGpuRopeAppendKernel(b, loc, heads, kvHeads, dim)));
  });
  if (HasFatalFailure())
    return;

  // Embedding: rows of an f16 table, exactly.
  {
    auto fn = emu.get(embeddingKernelName(vocab, hidden, DenseType::F16));
    ASSERT_TRUE(fn);
    std::vector<float> table = randomVector(size_t(vocab * hidden), 41);
    std::vector<uint16_t> half(table.size());
    for (size_t k = 0; k < table.size(); ++k)
      half[k] = floatToHalf(table[k]);
    std::vector<int32_t> ids = {3, 0, 49, 7, 3};
    std::vector<float> y(ids.size() * size_t(hidden) + 1, 12345.0f);
    ASSERT_TRUE(launch(fn, half.data(), ids.data(), y.data(),
                       int64_t(ids.size()), int64_t(ids.size()), 1,
                       kBinaryBlock));
    for (size_t t = 0; t < ids.size(); ++t)
      for (int64_t j = 0; j < hidden; ++j)
        EXPECT_EQ(y[t * size_t(hidden) + size_t(j)],
                  halfToFloat(half[size_t(ids[t] * hidden + j)]))
            << "token " << t << " column " << j;
    EXPECT_EQ(y.back(), 12345.0f);
  }

  // Rotary: the CPU kernels' arithmetic, so bit for bit; in place too.
  const int64_t tokens = 3, pos0 = 5, half = dim / 2;
  std::vector<float> cs = gpucases::rotaryTable(dim, maxCtx);
  {
    using RotaryFn = void (*)(const void *, const void *, void *, int64_t,
                              const int64_t *, int64_t, int64_t, int64_t);
    auto fn = emu.get<RotaryFn>(rotaryKernelName(heads, dim));
    ASSERT_TRUE(fn);
    std::vector<float> x = randomVector(size_t(tokens * heads * dim), 42);
    std::vector<float> y(x.size(), 12345.0f), inPlace = x;
    int64_t pairs = tokens * heads * half;
    for (float *out : {y.data(), inPlace.data()}) {
      const float *src = out == y.data() ? x.data() : inPlace.data();
      ASSERT_TRUE(launchLanes(
          [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
            fn(src, cs.data(), out, tokens, &pos0, tid, bx, by);
          },
          ceilDiv(pairs, kBinaryBlock), 1, kBinaryBlock));
    }
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < half; ++i) {
          int64_t p = pos0 + t, at = t * heads * dim + h * dim + i;
          float c = cs[size_t((p * half + i) * 2)],
                s = cs[size_t((p * half + i) * 2 + 1)];
          float x1 = x[size_t(at)], x2 = x[size_t(at + half)];
          EXPECT_EQ(y[size_t(at)], x1 * c - x2 * s);
          EXPECT_EQ(y[size_t(at + half)], x2 * c + x1 * s);
        }
    EXPECT_EQ(y, inPlace);
  }

  // Rotary fused into the KV append: q rotated in place and k rotated into
  // the key cache bit for bit as the rotary kernel does, v copied, every
  // other cache row untouched.
  {
    using RopeFn =
        void (*)(void *, const void *, const void *, const void *, void *,
                 int64_t, const int64_t *, int64_t, int64_t, int64_t, int64_t);
    auto fn = emu.get<RopeFn>(ropeAppendKernelName(heads, kvHeads, dim));
    ASSERT_TRUE(fn);
    const int64_t kvW = kvHeads * dim;
    std::vector<float> q0 = randomVector(size_t(tokens * heads * dim), 45);
    std::vector<float> k = randomVector(size_t(tokens * kvW), 46);
    std::vector<float> v = randomVector(size_t(tokens * kvW), 47);
    std::vector<float> q = q0, kv(size_t(2 * maxCtx * kvW), 777.0f);
    int64_t units = tokens * (heads * half + kvHeads * half + kvW);
    ASSERT_TRUE(launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          fn(q.data(), k.data(), v.data(), cs.data(), kv.data(), tokens, &pos0,
             maxCtx, tid, bx, by);
        },
        ceilDiv(units, kBinaryBlock), 1, kBinaryBlock));
    auto rotated = [&](const std::vector<float> &x, int64_t hs, int64_t t,
                       int64_t col) {
      int64_t h = col / dim, i = col % dim % half, p = pos0 + t;
      int64_t lo = t * hs * dim + h * dim + i;
      float c = cs[size_t((p * half + i) * 2)],
            sn = cs[size_t((p * half + i) * 2 + 1)];
      float x1 = x[size_t(lo)], x2 = x[size_t(lo + half)];
      return col % dim < half ? x1 * c - x2 * sn : x2 * c + x1 * sn;
    };
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t col = 0; col < heads * dim; ++col)
        EXPECT_EQ(q[size_t(t * heads * dim + col)], rotated(q0, heads, t, col))
            << "q token " << t << " column " << col;
      for (int64_t col = 0; col < kvW; ++col) {
        EXPECT_EQ(kv[size_t((pos0 + t) * kvW + col)],
                  rotated(k, kvHeads, t, col))
            << "k token " << t << " column " << col;
        EXPECT_EQ(kv[size_t((maxCtx + pos0 + t) * kvW + col)],
                  v[size_t(t * kvW + col)])
            << "v token " << t << " column " << col;
      }
    }
    for (int64_t p = 0; p < 2 * maxCtx; ++p)
      if (p % maxCtx < pos0 || p % maxCtx >= pos0 + tokens) {
        for (int64_t col = 0; col < kvW; ++col)
          EXPECT_EQ(kv[size_t(p * kvW + col)], 777.0f) << "row " << p;
      }
  }

  // Attention: causal grouped-query attention over the cache, against a
  // double-precision softmax; out == q as the plan may ask.
  {
    using AttnFn =
        void (*)(const void *, const void *, void *, void *, int64_t,
                 const int64_t *, int64_t, int64_t, int64_t, int64_t);
    auto fn = emu.get<AttnFn>(attentionKernelName(heads, kvHeads, dim, scale));
    ASSERT_TRUE(fn);
    const int64_t qW = heads * dim, kvW = kvHeads * dim;
    std::vector<float> q = randomVector(size_t(tokens * qW), 43);
    std::vector<float> kv = randomVector(size_t(2 * maxCtx * kvW), 44);
    std::vector<float> scratch(size_t(tokens * heads * maxCtx), NAN);
    std::vector<float> out = q;
    ASSERT_TRUE(launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          fn(out.data(), kv.data(), out.data(), scratch.data(), tokens, &pos0,
             maxCtx, tid, bx, by);
        },
        ceilDiv(heads, kGemvWarps), tokens, kGemvWarps * kLanes));
    std::vector<float> want, mag;
    gpucases::attentionReference(q.data(), kv.data(), tokens, heads, kvHeads,
                                 dim, pos0, maxCtx, scale, want, mag);
    for (size_t k = 0; k < want.size(); ++k)
      EXPECT_NEAR(out[k], want[k], 1e-5 * mag[k]) << "element " << k;
  }
  // KV append: the chunk's rows land at their positions, nothing else moves.
  {
    using AppendFn =
        void (*)(const void *, const void *, void *, int64_t, const int64_t *,
                 int64_t, int64_t, int64_t, int64_t);
    auto fn = emu.get<AppendFn>(kvAppendKernelName(kvHeads * dim));
    ASSERT_TRUE(fn);
    const int64_t kvW = kvHeads * dim;
    std::vector<float> k = randomVector(size_t(tokens * kvW), 45);
    std::vector<float> v = randomVector(size_t(tokens * kvW), 46);
    std::vector<float> kv = randomVector(size_t(2 * maxCtx * kvW), 47);
    std::vector<float> want = kv;
    for (int64_t e = 0; e < tokens * kvW; ++e) {
      want[size_t(pos0 * kvW + e)] = k[size_t(e)];
      want[size_t((maxCtx + pos0) * kvW + e)] = v[size_t(e)];
    }
    ASSERT_TRUE(launchLanes(
        [&](int64_t tid, int64_t bx, int64_t by) S10_CALLS_JIT {
          fn(k.data(), v.data(), kv.data(), tokens, &pos0, maxCtx, tid, bx, by);
        },
        ceilDiv(tokens * kvW, kBinaryBlock), 1, kBinaryBlock));
    EXPECT_EQ(kv, want);
  }
}

TEST(GpuKernels, RefusedWeights) {
  std::string why;
  Spec nm = mixedSpec(Kind::NM, 4, 32, ParamFormat::F16, 8, 1);
  nm.salientCount = 8 * 64 / 8;
  EXPECT_TRUE(
      succeeded(checkGpuGemvWeight(GemvWeight::makePacked(nm, 8, 64), why)))
      << why;
  Spec k2 = kbitSpec(2, 128, ParamFormat::F16);
  EXPECT_TRUE(
      failed(checkGpuGemvWeight(GemvWeight::makePacked(k2, 8, 200), why)));
  EXPECT_NE(why.find("multiple of 32"), std::string::npos) << why;
  Spec k2g = kbitSpec(2, 48, ParamFormat::F16);
  EXPECT_TRUE(
      failed(checkGpuGemvWeight(GemvWeight::makePacked(k2g, 8, 256), why)));
  EXPECT_NE(why.find("groups"), std::string::npos) << why;
  EXPECT_TRUE(failed(checkGpuGemvWeight(
      GemvWeight::makeDense(DenseType::F16, 8, 64, /*inOut=*/true), why)));
  EXPECT_TRUE(
      succeeded(checkGpuGemvWeight(GemvWeight::makePacked(k2, 8, 256), why)));
}

//===----------------------------------------------------------------------===//
// PTX for both chips
//===----------------------------------------------------------------------===//

/// The Squeeze10 default layout (bitmap, 4 salient bits, groups of 128,
/// fp16 parameters, about 20 % salient) at a shape.
GemvWeight defaultLayout(int64_t out, int64_t in) {
  Spec s = mixedSpec(Kind::Bitmap, 4, 128, ParamFormat::F16);
  s.salientCount = out * in / 5;
  return GemvWeight::makePacked(s, out, in);
}

/// Every GEMV of the bundled model and of LLaMA-2-7B (Squeeze10 default and
/// 2-bit GPTQ layouts, the fp16 lm_head; the 7B's fused GEMVs), RMSNorm,
/// Add and SwiGLU.
void populateModelKernels(OpBuilder &b, Location loc) {
  std::vector<GemvWeight> ws;
  for (auto [out, in] :
       std::vector<std::pair<int64_t, int64_t>>{{384, 384},
                                                {128, 384},
                                                {1024, 384},
                                                {384, 1024}, // llama-12m
                                                {4096, 4096},
                                                {11008, 4096},
                                                {4096, 11008}}) { // LLaMA-2-7B
    ws.push_back(defaultLayout(out, in));
    ws.push_back(
        GemvWeight::makePacked(kbitSpec(2, 128, ParamFormat::F16), out, in));
  }
  ws.push_back(GemvWeight::makeDense(DenseType::F16, 4096, 384));
  ws.push_back(GemvWeight::makeDense(DenseType::F16, 32000, 4096));
  for (const GemvWeight &w : ws)
    ASSERT_TRUE(succeeded(buildGpuGemvKernel(b, loc, w)));
  // The fused launches of LLaMA-2-7B: o and down with the residual add,
  // gate and up with SwiGLU, at both layouts.
  for (size_t k : {8, 9, 12, 13})
    ASSERT_TRUE(succeeded(buildGpuGemvAddKernel(b, loc, ws[k])));
  for (size_t k : {10, 11})
    ASSERT_TRUE(succeeded(buildGpuGemvSwiGLUKernel(b, loc, ws[k], ws[k])));
  // With the RMSNorm inside: q, k, v, gate/up with SwiGLU and the head.
  GemvNorm norm{DenseType::F16, 1e-5};
  for (size_t k : {8, 9})
    ASSERT_TRUE(succeeded(buildGpuNormGemvKernel(b, loc, ws[k], norm)));
  for (size_t k : {10, 11})
    ASSERT_TRUE(
        succeeded(buildGpuGemvSwiGLUKernel(b, loc, ws[k], ws[k], norm)));
  ASSERT_TRUE(succeeded(buildGpuNormGemvKernel(b, loc, ws[15], norm)));
  // q, k and v of the norm in one launch, at both layouts.
  for (size_t k : {8, 9})
    ASSERT_TRUE(succeeded(
        buildGpuNormGemvQkvKernel(b, loc, ws[k], ws[k], ws[k], norm)));
  // The prefill GEMMs of LLaMA-2-7B at both layouts and at the ternary
  // one, and of the bundled model's q.
  for (size_t k : {0, 8, 9, 10, 11, 12, 13})
    ASSERT_TRUE(succeeded(buildGpuGemmKernel(b, loc, plainFamily(ws[k]))));
  ASSERT_TRUE(succeeded(buildGpuGemmKernel(
      b, loc,
      plainFamily(GemvWeight::makePacked(ternarySpec(128, ParamFormat::Q8T),
                                         4096, 4096)))));
  // The 7B's fused GEMM twins at both layouts: q, k and v with the norm,
  // the norm with gate, up and SwiGLU, down with the residual add.
  for (size_t k : {0, 1}) {
    GemvNorm n{DenseType::F16, 1e-5};
    const GemvWeight &sq = ws[8 + k], &gu = ws[10 + k], &dn = ws[12 + k];
    ASSERT_TRUE(succeeded(
        buildGpuGemmKernel(b, loc, {GemvFamily::Kind::Qkv, {sq, sq, sq}, n})));
    ASSERT_TRUE(succeeded(
        buildGpuGemmKernel(b, loc, {GemvFamily::Kind::SwiGLU, {gu, gu}, n})));
    ASSERT_TRUE(succeeded(
        buildGpuGemmKernel(b, loc, {GemvFamily::Kind::Add, {dn}, {}})));
  }
  for (int64_t width : {384, 4096})
    ASSERT_TRUE(
        succeeded(buildGpuRMSNormKernel(b, loc, width, 1e-5, DenseType::F16)));
  buildGpuBinaryKernel(b, loc, BinaryKind::Add);
  buildGpuBinaryKernel(b, loc, BinaryKind::SwiGLU);
  // Embedding, rotary and attention of both models.
  ASSERT_TRUE(
      succeeded(buildGpuEmbeddingKernel(b, loc, 4096, 384, DenseType::F16)));
  ASSERT_TRUE(
      succeeded(buildGpuEmbeddingKernel(b, loc, 32000, 4096, DenseType::F16)));
  ASSERT_TRUE(succeeded(buildGpuRotaryKernel(b, loc, 6, 64)));
  ASSERT_TRUE(succeeded(buildGpuRotaryKernel(b, loc, 32, 128)));
  ASSERT_TRUE(succeeded(buildGpuRopeAppendKernel(b, loc, 6, 2, 64)));
  ASSERT_TRUE(succeeded(buildGpuRopeAppendKernel(b, loc, 32, 32, 128)));
  ASSERT_TRUE(succeeded(buildGpuAttentionKernel(b, loc, 6, 2, 64, 0.125f)));
  ASSERT_TRUE(succeeded(
      buildGpuAttentionKernel(b, loc, 32, 32, 128, 0.08838834764831845f)));
}

/// GEMVs (fused or not), RMSNorms and attentions run 128 threads per block;
/// Add, SwiGLU, the embeddings and rotaries 256.
/// Prefill GEMMs: 8 plain, 2 with the add (up to 168 registers), 2 of q,
/// k and v and 2 of gate and up (255).
constexpr int kGemms168 = 10, kGemms255 = 4, kGemms = kGemms168 + kGemms255;
constexpr int kBlock128 = 7 * 2 + 2 + 4 + 2 + 5 + 2 + 2 + 2 + kGemms,
              kBlock256 = 2 + 2 + 2 + 2;
constexpr int kModelKernels = kBlock128 + kBlock256;

std::string compileModelKernels(StringRef chip, bool ptx) {
  auto ctx = makeContext();
  Location loc = UnknownLoc::get(ctx.get());
  gpu::GPUModuleOp gm;
  OwningOpRef<ModuleOp> holder = createKernelModule(loc, gm);
  OpBuilder b = OpBuilder::atBlockEnd(gm.getBody());
  populateModelKernels(b, loc);
  std::string out, error;
  EXPECT_TRUE(succeeded(compileCudaKernels(*holder, chip, ptx, out, error)))
      << error;
  return out;
}

int count(const std::string &s, const std::string &what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos;
       at = s.find(what, at + 1))
    ++n;
  return n;
}

/// The PTX of the kernel whose entry line matches `name` (a regex).
std::string entryText(const std::string &ptx, const std::string &name) {
  std::smatch m;
  if (!std::regex_search(ptx, m, std::regex("\\.entry " + name + "\\(")))
    return "";
  size_t begin = size_t(m.position(0));
  size_t end = ptx.find(".entry ", begin + 1);
  return ptx.substr(begin, end == std::string::npos ? end : end - begin);
}

class GpuKernelsChip : public ::testing::TestWithParam<const char *> {};

TEST_P(GpuKernelsChip, PtxOfModelKernels) {
  std::string chip = GetParam();
  std::string ptx = compileModelKernels(chip, /*ptx=*/true);
  ASSERT_FALSE(ptx.empty());
  EXPECT_NE(ptx.find(".target " + chip), std::string::npos);
  EXPECT_EQ(count(ptx, ".entry "), kModelKernels);
  EXPECT_EQ(count(ptx, ".maxntid 128, 1, 1"), kBlock128);
  EXPECT_EQ(count(ptx, ".maxntid 256, 1, 1"), kBlock256);
  // Launch bounds of 128 registers a thread.
  EXPECT_EQ(count(ptx, ".minnctapersm 4"), kBlock128 - kGemms);
  EXPECT_EQ(count(ptx, ".minnctapersm 3"), kGemms168);
  EXPECT_EQ(count(ptx, ".minnctapersm 2"), kBlock256 + kGemms255);
  // Warp sums (5 per GEMV and RMSNorm, 10 per attention) and the
  // salient-rank scans.
  EXPECT_GE(count(ptx, "shfl.sync.bfly.b32"), 5 * kBlock128);
  EXPECT_EQ(count(ptx, "bar.warp.sync"), 2);
  EXPECT_GE(count(ptx, "shfl.sync.up.b32"), 5 * 7);
  EXPECT_EQ(ptx.find(".local"), std::string::npos);
  // Packed planes as 32-bit words, x and the dense rows as 128-bit loads;
  // no byte loads anywhere.
  EXPECT_GT(count(ptx, "ld.global.nc.v4.b32"), 0);
  // (But the q8t parameters of the ternary GEMM: the row's four
  // super-scale bytes and a byte per group.)
  std::string q8t = entryText(ptx, "s10_gemm_ternary_k2_g128_q8t_4096x4096");
  EXPECT_LE(count(q8t, "ld.global.b8"), 5);
  EXPECT_EQ(count(ptx, "ld.global.b8") - count(q8t, "ld.global.b8"), 0);
  EXPECT_EQ(count(ptx, "ld.global.nc.b8"), 0);
  EXPECT_EQ(count(ptx, "ld.global.u8"), 0);
  // The 7B rows give every lane a tile of 128 columns: each plane (the
  // bitmap's signs and mask, 2-bit codes as two) as 16-byte loads beside
  // x's eight per Word; no 32-bit load of a plane (the bitmap's one is its
  // row's salient offset, the add kernel's other the residual).
  for (auto [name, scalar] : std::vector<std::pair<std::string, int>>{
           {"s10_gemv_bitmap_k1_s4_g128_f16_n[0-9]+_4096x4096", 1},
           {"s10_gemv_kbit_k2_g128_f16_4096x4096", 0},
           {"s10_gemv_bitmap_k1_s4_g128_f16_n[0-9]+_4096x11008_add", 2}}) {
    std::string k = entryText(ptx, name);
    ASSERT_FALSE(k.empty()) << name;
    EXPECT_GE(count(k, "ld.global.v4.b32") + count(k, "ld.global.nc.v4.b32"),
              10)
        << name;
    EXPECT_EQ(count(k, "ld.global.nc.b32") + count(k, "ld.global.b32"), scalar)
        << name << "\n"
        << k;
  }
  // The GEMMs multiply on tensor cores (8 k-steps of each token tile per
  // step of 128 columns),
  // x in 16-byte loads.
  EXPECT_GE(count(ptx, "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"),
            8 * (kGemmTokens / 16) * kGemms);
  for (const char *name : {"s10_gemm_bitmap_k1_s4_g128_f16_n[0-9]+_4096x4096",
                           "s10_gemm_kbit_k2_g128_f16_11008x4096",
                           "s10_gemm_ternary_k2_g128_q8t_4096x4096"}) {
    std::string k = entryText(ptx, name);
    ASSERT_FALSE(k.empty()) << name;
    EXPECT_EQ(count(k, "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"),
              8 * (kGemmTokens / 16))
        << name;
    EXPECT_GE(count(k, "ld.global.v4.f32") + count(k, "ld.global.nc.v4.f32") +
                  count(k, "ld.global.v4.b32") +
                  count(k, "ld.global.nc.v4.b32"),
              kGemmTokens)
        << name;
  }
  // The attention reads q, k and v rows in 16-byte loads and writes its
  // output rows 16 bytes at a time.
  std::string att = entryText(ptx, "s10_attention_h32_kv32_d128_s[0-9p]+");
  ASSERT_FALSE(att.empty());
  EXPECT_GE(count(att, "ld.global.v4.b32") + count(att, "ld.global.nc.v4.b32"),
            3);
  EXPECT_GE(count(att, "st.global.v4.b32"), 1);
}

TEST_P(GpuKernelsChip, PtxasReportsNoSpills) {
  std::string toolkit = findCudaToolkit();
  if (toolkit.empty())
    GTEST_SKIP() << "no CUDA toolkit (ptxas) on this machine";
  std::string chip = GetParam();
  std::string ptx = compileModelKernels(chip, /*ptx=*/true);
  llvm::SmallString<128> in, log;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("s10-gpu", "ptx", in));
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("s10-gpu", "log", log));
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    ASSERT_FALSE(ec);
    os << ptx;
  }
  std::string ptxas = toolkit + "/bin/ptxas";
  std::string arch = "-arch=" + chip;
  llvm::SmallVector<llvm::StringRef> args = {ptxas, "-v", arch,
                                             in,    "-o", "/dev/null"};
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(log), llvm::StringRef(log)};
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects);
  auto text = llvm::MemoryBuffer::getFile(log);
  llvm::sys::fs::remove(in);
  llvm::sys::fs::remove(log);
  ASSERT_TRUE(bool(text));
  std::string report = (*text)->getBuffer().str();
  ASSERT_EQ(rc, 0) << report;
  EXPECT_EQ(count(report, "Compiling entry function"), kModelKernels) << report;
  EXPECT_EQ(count(report,
                  "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill "
                  "loads"),
            kModelKernels)
      << report;
}

INSTANTIATE_TEST_SUITE_P(Chips, GpuKernelsChip,
                         ::testing::Values("sm_80", "sm_90"));

} // namespace

//===- KernelsTest.cpp - Generated CPU kernels against the references -----===//
//
// Builds kernels for random packed matrices of every layout kind, lowers
// them, compiles them into one shared object per test, loads it and calls
// the kernels: decoding must be bit-exact against PackedMatrix::decodeRow,
// GEMV close to PackedMatrix::gemvRows, and the dense and elementwise
// kernels close to straightforward loops.
//
//===----------------------------------------------------------------------===//

#include "s10/Codegen/CpuCodegen.h"
#include "s10/Codegen/KernelBuilder.h"
#include "s10/Quant/PackedKernels.h"
#include "s10rt/Format.h"

#include "Gemm.h"

#include "CodegenTestUtil.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <dlfcn.h>
#include <functional>
#include <random>
#include <set>

using namespace mlir;
using namespace s10::codegen;
using namespace s10::quant::layout;
using namespace s10::quant::layout::test;

namespace {

// The builders' key-cache block is the artifact format's.
static_assert(kAttendKeyBlock == s10rt::format::kAttendKeyBlock);

using GemvFn = void (*)(const uint8_t *, const float *, float *, int64_t,
                        int64_t);
using DecodeFn = void (*)(const uint8_t *, float *, int64_t);
using RMSNormFn = void (*)(const float *, const uint8_t *, float *);
using BinaryFn = void (*)(const float *, const float *, float *, int64_t);
using GemmBlockFn = void (*)(const float *, int64_t, const float *, int64_t,
                             float *, int64_t, int64_t, int64_t, int64_t);

/// A context with the kernel dialects and translations.
std::unique_ptr<MLIRContext> makeContext() {
  DialectRegistry registry;
  registerKernelDialects(registry);
  registry.insert<LLVM::LLVMDialect>();
  registerKernelTranslations(registry);
  auto ctx = std::make_unique<MLIRContext>(registry);
  ctx->loadAllAvailableDialects();
  return ctx;
}

/// A shared object compiled from a module of kernels and loaded.
class Library {
public:
  /// `populate` builds the kernels into the module's body.
  Library(const std::function<void(OpBuilder &, Location)> &populate,
          StringRef cpu = "native") {
    load(populate, cpu);
  }
  ~Library() {
    if (handle_)
      dlclose(handle_);
  }
  bool loaded() const { return handle_ != nullptr; }
  template <typename Fn> Fn get(const std::string &name) const {
    void *p = handle_ ? dlsym(handle_, name.c_str()) : nullptr;
    EXPECT_NE(p, nullptr) << "missing symbol " << name;
    return reinterpret_cast<Fn>(p);
  }

private:
  void load(const std::function<void(OpBuilder &, Location)> &populate,
            StringRef cpu) {
    ctx_ = makeContext();
    Location loc = UnknownLoc::get(ctx_.get());
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
    OpBuilder b = OpBuilder::atBlockEnd(module->getBody());
    populate(b, loc);
    ASSERT_TRUE(succeeded(module->verify()));
    std::string error, so;
    ASSERT_TRUE(succeeded(lowerKernelsToLLVM(*module, error))) << error;
    ASSERT_TRUE(succeeded(emitSharedObject(*module, cpu, so, error))) << error;
    ASSERT_GE(so.size(), 4u);
    ASSERT_EQ(so.substr(0, 4), "\x7f"
                               "ELF");
    llvm::SmallString<128> path;
    ASSERT_FALSE(
        llvm::sys::fs::createTemporaryFile("s10-kernels-test", "so", path));
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(path, ec);
      ASSERT_FALSE(ec);
      os << so;
    }
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    llvm::sys::fs::remove(path);
    ASSERT_NE(handle_, nullptr) << dlerror();
  }

  std::unique_ptr<MLIRContext> ctx_;
  void *handle_ = nullptr;
};

/// Every kind and parameter format on ragged shapes: out not a multiple of
/// 8 or 16, in not a multiple of the group, groups of 16, 64, 128 and the
/// whole row, and groups that do not start on a byte (7, 12, 20).
std::vector<Case> packedCases() {
  std::vector<Case> cases;
  auto add = [&](const std::string &name, Spec s, Shape sh) {
    cases.push_back({name + "_" + shapeName(sh), s, sh});
  };
  const ParamFormat f16 = ParamFormat::F16, q8 = ParamFormat::Q8,
                    q8t = ParamFormat::Q8T;
  for (unsigned b = 1; b <= 8; ++b) {
    std::string n = "kbit" + std::to_string(b);
    add(n + "_f16", kbitSpec(b, 0, f16), {37, 100, 16});
    add(n + "_q8", kbitSpec(b, 0, q8), {19, 300, 64});
  }
  add("kbit3_f16", kbitSpec(3, 0, f16), {13, 260, 128});
  add("kbit4_f16", kbitSpec(4, 0, f16), {9, 77, 77});
  add("kbit5_q8", kbitSpec(5, 0, q8), {7, 60, 20});
  add("kbit2_f16", kbitSpec(2, 0, f16), {5, 50, 7});
  add("kbit1_q8", kbitSpec(1, 0, q8), {3, 1, 1});
  // One super-scale pair for the whole tensor.
  add("kbit2_q8t", kbitSpec(2, 0, q8t), {19, 300, 64});
  add("kbit3_q8t", kbitSpec(3, 0, q8t), {13, 260, 128});
  add("bitmap_s4_q8t", mixedSpec(Kind::Bitmap, 4, 0, q8t), {9, 77, 77});
  add("nm1of8_s4_q8t", mixedSpec(Kind::NM, 4, 0, q8t, 8, 1), {19, 320, 64});
  // Ternary: chunks that start mid-byte and cross words and rows, groups
  // that do not start on a chunk (12), whole rows.
  add("ternary_f16", ternarySpec(0, f16), {37, 96, 16});
  add("ternary_q8", ternarySpec(0, q8), {19, 320, 64});
  add("ternary_q8t", ternarySpec(0, q8t), {13, 384, 128});
  add("ternary_f16", ternarySpec(0, f16), {7, 48, 12});
  add("ternary_q8t", ternarySpec(0, q8t), {5, 40, 40});
  for (unsigned sb = 2; sb <= 8; ++sb) {
    std::string n = "bitmap_s" + std::to_string(sb);
    add(n + "_f16", mixedSpec(Kind::Bitmap, sb, 0, f16), {37, 100, 16});
    add(n + "_q8", mixedSpec(Kind::Bitmap, sb, 0, q8), {19, 300, 64});
  }
  add("bitmap_s4_f16", mixedSpec(Kind::Bitmap, 4, 0, f16), {13, 260, 128});
  add("bitmap_s4_q8", mixedSpec(Kind::Bitmap, 4, 0, q8), {9, 77, 77});
  add("bitmap_s5_f16", mixedSpec(Kind::Bitmap, 5, 0, f16), {7, 60, 20});
  add("bitmap_s8_q8", mixedSpec(Kind::Bitmap, 8, 0, q8), {6, 45, 7});
  add("chanblock_b1_s3_f16", mixedSpec(Kind::ChannelBlock, 3, 0, f16, 1),
      {9, 100, 16});
  add("chanblock_b4_s2_q8", mixedSpec(Kind::ChannelBlock, 2, 0, q8, 4),
      {19, 300, 64});
  add("chanblock_b4_s4_f16", mixedSpec(Kind::ChannelBlock, 4, 0, f16, 4),
      {13, 260, 128});
  add("chanblock_b5_s8_q8", mixedSpec(Kind::ChannelBlock, 8, 0, q8, 5),
      {11, 77, 77});
  add("chanblock_b16_s5_f16", mixedSpec(Kind::ChannelBlock, 5, 0, f16, 16),
      {37, 60, 20});
  add("nm1of8_s4_f16", mixedSpec(Kind::NM, 4, 0, f16, 8, 1), {37, 96, 16});
  add("nm1of8_s2_q8", mixedSpec(Kind::NM, 2, 0, q8, 8, 1), {19, 320, 64});
  add("nm2of16_s3_f16", mixedSpec(Kind::NM, 3, 0, f16, 16, 2), {13, 272, 128});
  add("nm2of16_s8_q8", mixedSpec(Kind::NM, 8, 0, q8, 16, 2), {9, 48, 48});
  add("nm1of2_s6_f16", mixedSpec(Kind::NM, 6, 0, f16, 2, 1), {7, 50, 12});
  add("nm3of4_s7_q8", mixedSpec(Kind::NM, 7, 0, q8, 4, 3), {5, 36, 20});
  // Rows with no salient weight and rows of nothing else.
  cases.push_back({"bitmap_s4_f16_none",
                   mixedSpec(Kind::Bitmap, 4, 0, f16),
                   {11, 200, 64},
                   0.0});
  cases.push_back({"bitmap_s3_q8_all",
                   mixedSpec(Kind::Bitmap, 3, 0, q8),
                   {11, 200, 64},
                   1.0});
  cases.push_back({"bitmap_s6_f16_all",
                   mixedSpec(Kind::Bitmap, 6, 0, f16),
                   {5, 130, 130},
                   1.0});
  return cases;
}

/// The GEMVs of `w` that differ by CPU: the default, masked sums (AVX-512)
/// and code tables (AVX2, AVX-512), each once; only those this CPU runs.
std::vector<GemvWeight> gemvVariants(GemvWeight w) {
  std::vector<GemvWeight> out;
  std::vector<std::string> names;
  bool avx512 = __builtin_cpu_supports("avx512f"),
       avx2 = __builtin_cpu_supports("avx2");
  for (auto [a2, a512] :
       {std::pair{false, false}, {false, true}, {true, false}, {true, true}}) {
    if ((a2 && !avx2) || (a512 && !avx512))
      continue;
    w.avx2 = a2;
    w.avx512 = a512;
    std::string n = gemvKernelName(w);
    if (llvm::is_contained(names, n))
      continue;
    names.push_back(n);
    out.push_back(w);
  }
  return out;
}

/// |y - ref| within 1e-5 of the row's magnitude sum |w| |x|.
void expectGemvClose(const Packed &p, const std::vector<float> &x,
                     const float *y, const float *ref, int64_t r0, int64_t r1) {
  std::vector<float> row(static_cast<size_t>(p.in));
  for (int64_t r = r0; r < r1; ++r) {
    p.m.decodeRow(r, row.data());
    double mag = 0;
    for (int64_t j = 0; j < p.in; ++j)
      mag += std::fabs(double(row[j]) * double(x[j]));
    EXPECT_NEAR(y[r], ref[r - r0], 1e-5 * mag + 1e-30)
        << p.name << " row " << r << " of [" << r0 << ", " << r1 << ")";
  }
}

TEST(CodegenKernels, PackedDecodeAndGemv) {
  std::vector<Case> cases = packedCases();
  std::vector<Packed> packed(cases.size());
  for (size_t k = 0; k < cases.size(); ++k) {
    makePacked(cases[k], uint32_t(1000 + k), packed[k]);
    if (HasFatalFailure())
      return;
  }
  Library lib([&](OpBuilder &b, Location loc) {
    for (const Packed &p : packed) {
      GemvWeight w = GemvWeight::makePacked(p.spec, p.out, p.in);
      ASSERT_TRUE(succeeded(buildDecodeKernel(b, loc, w)));
      for (const GemvWeight &v : gemvVariants(w))
        ASSERT_TRUE(succeeded(buildGemvKernel(b, loc, v)));
    }
  });
  ASSERT_TRUE(lib.loaded());
  for (size_t k = 0; k < packed.size(); ++k) {
    const Packed &p = packed[k];
    GemvWeight w = GemvWeight::makePacked(p.spec, p.out, p.in);
    auto decode = lib.get<DecodeFn>(decodeKernelName(w));
    auto gemv = lib.get<GemvFn>(gemvKernelName(w));
    ASSERT_TRUE(decode && gemv);
    std::vector<std::pair<std::string, GemvFn>> gemvs;
    for (const GemvWeight &v : gemvVariants(w)) {
      gemvs.push_back({gemvKernelName(v), lib.get<GemvFn>(gemvKernelName(v))});
      ASSERT_TRUE(gemvs.back().second) << gemvs.back().first;
    }
    std::vector<float> want(size_t(p.in)), got(size_t(p.in));
    for (int64_t r = 0; r < p.out; ++r) {
      p.m.decodeRow(r, want.data());
      std::fill(got.begin(), got.end(), -1.0f);
      decode(p.bytes.data(), got.data(), r);
      EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * 4), 0)
          << p.name << ": row " << r << " differs";
    }
    std::vector<float> x = randomVector(size_t(p.in), uint32_t(77 + k));
    GemvScratch scratch;
    p.m.prepare(x.data(), scratch);
    for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, p.out},
                          {p.out / 3, p.out - 1},
                          {p.out - 1, p.out}}) {
      if (r1 <= r0)
        continue;
      std::vector<float> ref(size_t(r1 - r0));
      p.m.gemvRows(x.data(), scratch, ref.data(), r0, r1);
      // Rows outside [r0, r1) stay untouched.
      for (auto [name, fn] : gemvs) {
        SCOPED_TRACE(name);
        std::vector<float> y(size_t(p.out), 12345.0f);
        fn(p.bytes.data(), x.data(), y.data(), r0, r1);
        expectGemvClose(p, x, y.data(), ref.data(), r0, r1);
        for (int64_t r = 0; r < p.out; ++r) {
          if (r >= r0 && r < r1)
            continue;
          EXPECT_EQ(y[r], 12345.0f) << p.name << " wrote row " << r;
        }
      }
    }
    // The lookup-table kernels the Gemv kernel calls, run directly on a
    // shared table buffer, give its results exactly.
    if (!usesLut(w))
      continue;
    using PrepareFn = void (*)(const float *, float *);
    auto prepare = lib.get<PrepareFn>(gemvLutPrepareKernelName(w));
    auto lutGemv = lib.get<GemvFn>(gemvLutKernelName(w));
    ASSERT_TRUE(prepare && lutGemv);
    std::vector<float> lut(size_t(gemvLutFloats(w)), NAN);
    prepare(x.data(), lut.data());
    std::vector<float> want2(size_t(p.out)), got2(size_t(p.out), 12345.0f);
    gemv(p.bytes.data(), x.data(), want2.data(), 0, p.out);
    lutGemv(p.bytes.data(), lut.data(), got2.data(), 1, p.out);
    EXPECT_EQ(got2[0], 12345.0f) << p.name;
    EXPECT_EQ(
        std::memcmp(want2.data() + 1, got2.data() + 1, size_t(p.out - 1) * 4),
        0)
        << p.name;
  }
}

TEST(CodegenKernels, DenseGemv) {
  struct DenseCase {
    DenseType type;
    bool inOut;
    int64_t out, in;
  };
  std::vector<DenseCase> cases = {{DenseType::F16, false, 37, 100},
                                  {DenseType::F32, false, 19, 16},
                                  {DenseType::F16, true, 37, 100},
                                  {DenseType::F32, true, 70, 33},
                                  {DenseType::F16, false, 1, 1}};
  Library lib([&](OpBuilder &b, Location loc) {
    for (const DenseCase &c : cases)
      ASSERT_TRUE(succeeded(buildGemvKernel(
          b, loc, GemvWeight::makeDense(c.type, c.out, c.in, c.inOut))));
  });
  ASSERT_TRUE(lib.loaded());
  uint32_t seed = 5;
  for (const DenseCase &c : cases) {
    GemvWeight w = GemvWeight::makeDense(c.type, c.out, c.in, c.inOut);
    auto gemv = lib.get<GemvFn>(gemvKernelName(w));
    ASSERT_TRUE(gemv);
    std::vector<float> dense = randomVector(size_t(c.out * c.in), seed++);
    std::vector<uint8_t> bytes(w.bytes());
    for (int64_t i = 0; i < c.out; ++i)
      for (int64_t j = 0; j < c.in; ++j) {
        float &v = dense[i * c.in + j];
        size_t at = size_t(c.inOut ? j * c.out + i : i * c.in + j);
        if (c.type == DenseType::F16) {
          uint16_t h = floatToHalf(v);
          v = halfToFloat(h);
          std::memcpy(bytes.data() + 2 * at, &h, 2);
        } else {
          std::memcpy(bytes.data() + 4 * at, &v, 4);
        }
      }
    std::vector<float> x = randomVector(size_t(c.in), seed++);
    for (auto [r0, r1] :
         {std::pair<int64_t, int64_t>{0, c.out}, {c.out / 3, c.out}}) {
      std::vector<float> y(size_t(c.out), 12345.0f);
      gemv(bytes.data(), x.data(), y.data(), r0, r1);
      for (int64_t i = 0; i < c.out; ++i) {
        if (i < r0 || i >= r1) {
          EXPECT_EQ(y[i], 12345.0f);
          continue;
        }
        double ref = 0, mag = 0;
        for (int64_t j = 0; j < c.in; ++j) {
          ref += double(dense[i * c.in + j]) * x[j];
          mag += std::fabs(double(dense[i * c.in + j]) * x[j]);
        }
        EXPECT_NEAR(y[i], ref, 1e-5 * mag + 1e-30)
            << gemvKernelName(w) << " row " << i;
      }
    }
  }
}

TEST(CodegenKernels, RMSNormRow) {
  struct NormCase {
    int64_t width;
    double eps;
    DenseType type;
  };
  std::vector<NormCase> cases = {{384, 1e-5, DenseType::F16},
                                 {100, 1e-6, DenseType::F32},
                                 {7, 1e-5, DenseType::F16}};
  Library lib([&](OpBuilder &b, Location loc) {
    for (const NormCase &c : cases)
      buildRMSNormRowKernel(b, loc, c.width, c.eps, c.type);
  });
  ASSERT_TRUE(lib.loaded());
  uint32_t seed = 9;
  for (const NormCase &c : cases) {
    auto fn = lib.get<RMSNormFn>(rmsNormKernelName(c.width, c.eps, c.type));
    ASSERT_TRUE(fn);
    std::vector<float> x = randomVector(size_t(c.width), seed++);
    std::vector<float> wf = randomVector(size_t(c.width), seed++);
    std::vector<uint8_t> wb(size_t(c.width) *
                            (c.type == DenseType::F16 ? 2 : 4));
    for (int64_t i = 0; i < c.width; ++i) {
      if (c.type == DenseType::F16) {
        uint16_t h = floatToHalf(wf[i]);
        wf[i] = halfToFloat(h);
        std::memcpy(wb.data() + 2 * i, &h, 2);
      } else {
        std::memcpy(wb.data() + 4 * i, &wf[i], 4);
      }
    }
    std::vector<float> y(size_t(c.width));
    fn(x.data(), wb.data(), y.data());
    double ss = 0;
    for (float v : x)
      ss += double(v) * v;
    double inv = 1.0 / std::sqrt(ss / double(c.width) + c.eps);
    for (int64_t i = 0; i < c.width; ++i) {
      double ref = double(x[i]) * inv * wf[i];
      EXPECT_NEAR(y[i], ref, 1e-6 * std::fabs(ref) + 1e-30)
          << rmsNormKernelName(c.width, c.eps, c.type) << " at " << i;
    }
  }
}

/// a * b rounded to f32 on its own (no fused multiply-add).
float product(float a, float b) {
  volatile float p = a * b;
  return p;
}

TEST(CodegenKernels, Embedding) {
  // f16 tables with zero, subnormals, the largest value, Inf and NaN; f32;
  // widths with and without a tail of the 8-lane loop.
  struct EmbCase {
    int64_t vocab, hidden;
    DenseType type;
  };
  std::vector<EmbCase> cases = {{50, 384, DenseType::F16},
                                {7, 13, DenseType::F16},
                                {9, 20, DenseType::F32}};
  Library lib([&](OpBuilder &b, Location loc) {
    for (const EmbCase &c : cases)
      buildEmbeddingKernel(b, loc, c.vocab, c.hidden, c.type);
  });
  ASSERT_TRUE(lib.loaded());
  using EmbeddingFn =
      void (*)(const uint8_t *, const int32_t *, float *, int64_t);
  const uint16_t specials[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x7bff,
                               0x7c00, 0xfc00, 0x7e01, 0x3c00, 0xc500};
  for (const EmbCase &c : cases) {
    auto fn =
        lib.get<EmbeddingFn>(embeddingKernelName(c.vocab, c.hidden, c.type));
    ASSERT_TRUE(fn);
    bool f16 = c.type == DenseType::F16;
    size_t n = size_t(c.vocab * c.hidden);
    std::vector<float> want(n);
    std::vector<uint8_t> table(n * (f16 ? 2 : 4));
    std::vector<float> r = randomVector(n, uint32_t(c.hidden));
    for (size_t k = 0; k < n; ++k) {
      if (f16) {
        uint16_t h = k % 7 == 3 ? specials[k % 10] : floatToHalf(r[k]);
        std::memcpy(table.data() + 2 * k, &h, 2);
        want[k] = halfToFloat(h);
      } else {
        std::memcpy(table.data() + 4 * k, &r[k], 4);
        want[k] = r[k];
      }
    }
    std::vector<int32_t> ids = {int32_t(c.vocab - 1), 0, 3, 3, 1};
    std::vector<float> y(ids.size() * size_t(c.hidden) + 1, 12345.0f);
    fn(table.data(), ids.data(), y.data(), int64_t(ids.size()));
    for (size_t t = 0; t < ids.size(); ++t)
      EXPECT_EQ(std::memcmp(y.data() + t * size_t(c.hidden),
                            want.data() + size_t(ids[t] * c.hidden),
                            size_t(c.hidden) * 4),
                0)
          << embeddingKernelName(c.vocab, c.hidden, c.type) << " token " << t;
    EXPECT_EQ(y.back(), 12345.0f);
  }
}

TEST(CodegenKernels, Rotary) {
  // Half widths with and without a tail of the 8-lane loop; in place too.
  struct RotCase {
    int64_t heads, dim;
  };
  std::vector<RotCase> cases = {{6, 64}, {3, 6}, {2, 36}};
  Library lib([&](OpBuilder &b, Location loc) {
    for (const RotCase &c : cases)
      buildRotaryKernel(b, loc, c.heads, c.dim);
  });
  ASSERT_TRUE(lib.loaded());
  using RotaryFn =
      void (*)(const float *, const float *, const float *, float *, int64_t);
  for (const RotCase &c : cases) {
    auto fn = lib.get<RotaryFn>(rotaryKernelName(c.heads, c.dim));
    ASSERT_TRUE(fn);
    const int64_t tokens = 5, half = c.dim / 2, w = c.heads * c.dim;
    std::vector<float> x = randomVector(size_t(tokens * w), 3);
    std::vector<float> cs = randomVector(size_t(tokens * half), 4);
    std::vector<float> sn = randomVector(size_t(tokens * half), 5);
    std::vector<float> want(x.size());
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t h = 0; h < c.heads; ++h)
        for (int64_t i = 0; i < half; ++i) {
          size_t a1 = size_t(t * w + h * c.dim + i), a2 = a1 + size_t(half);
          float co = cs[size_t(t * half + i)], si = sn[size_t(t * half + i)];
          want[a1] = product(x[a1], co) - product(x[a2], si);
          want[a2] = product(x[a2], co) + product(x[a1], si);
        }
    std::vector<float> y(x.size(), 12345.0f);
    fn(x.data(), cs.data(), sn.data(), y.data(), tokens);
    EXPECT_EQ(std::memcmp(y.data(), want.data(), y.size() * 4), 0)
        << rotaryKernelName(c.heads, c.dim);
    fn(x.data(), cs.data(), sn.data(), x.data(), tokens);
    EXPECT_EQ(std::memcmp(x.data(), want.data(), x.size() * 4), 0)
        << rotaryKernelName(c.heads, c.dim) << " in place";
  }
}

TEST(CodegenKernels, Attend) {
  // Head widths with and without a tail of the 16-lane loops; rows that
  // share positions (inc 0, decode of grouped heads) and causal rows (inc
  // 1); positions across key blocks; out over q.
  struct AttCase {
    int64_t dim, kvWidth, rows, n0, inc;
    float scale;
  };
  std::vector<AttCase> cases = {{64, 128, 3, 1, 0, 0.125f},
                                {64, 128, 3, 70, 0, 0.125f},
                                {20, 60, 4, 126, 1, 0.3f},
                                {64, 64, 5, 60, 1, 0.125f}};
  Library lib([&](OpBuilder &b, Location loc) {
    std::set<std::string> built;
    for (const AttCase &c : cases)
      if (built.insert(attendKernelName(c.dim, c.kvWidth, c.scale)).second)
        buildAttendKernel(b, loc, c.dim, c.kvWidth, c.scale);
  });
  ASSERT_TRUE(lib.loaded());
  using AttendFn =
      void (*)(const float *, const float *, const float *, float *, float *,
               int64_t, int64_t, int64_t, int64_t);
  const int64_t kb = kAttendKeyBlock;
  uint32_t seed = 40;
  for (const AttCase &c : cases) {
    SCOPED_TRACE(attendKernelName(c.dim, c.kvWidth, c.scale) + " n0 " +
                 std::to_string(c.n0));
    auto fn = lib.get<AttendFn>(attendKernelName(c.dim, c.kvWidth, c.scale));
    ASSERT_TRUE(fn);
    int64_t n = c.n0 + (c.rows - 1) * c.inc, blocks = (n + kb - 1) / kb;
    // The head's channels start at channel `off` of the cache rows.
    int64_t off = c.kvWidth - c.dim, qStride = c.dim + 3;
    std::vector<float> keys =
        randomVector(size_t(blocks * kb * c.kvWidth), seed++);
    std::vector<float> vals = randomVector(size_t(n * c.kvWidth), seed++);
    std::vector<float> q = randomVector(size_t(c.rows * qStride), seed++);
    auto key = [&](int64_t j, int64_t ch) {
      return keys[size_t(j / kb * kb * c.kvWidth + (off + ch) * kb + j % kb)];
    };
    std::vector<double> want(size_t(c.rows * c.dim));
    for (int64_t r = 0; r < c.rows; ++r) {
      int64_t nr = c.n0 + r * c.inc;
      std::vector<double> p(static_cast<size_t>(nr));
      double m = -INFINITY, sum = 0;
      for (int64_t j = 0; j < nr; ++j) {
        double d = 0;
        for (int64_t ch = 0; ch < c.dim; ++ch)
          d += double(q[size_t(r * qStride + ch)]) * key(j, ch);
        p[size_t(j)] = d * c.scale;
        m = std::max(m, p[size_t(j)]);
      }
      for (double &x : p) {
        x = std::exp(x - m);
        sum += x;
      }
      for (int64_t ch = 0; ch < c.dim; ++ch) {
        double o = 0;
        for (int64_t j = 0; j < nr; ++j)
          o += p[size_t(j)] * vals[size_t(j * c.kvWidth + off + ch)];
        want[size_t(r * c.dim + ch)] = o / sum;
      }
    }
    std::vector<float> scores(size_t(blocks * kb), NAN);
    std::vector<float> out(q.size(), 12345.0f);
    for (bool inPlace : {false, true}) {
      std::vector<float> qIn = q;
      float *dst = inPlace ? qIn.data() : out.data();
      fn(qIn.data(), keys.data() + off * kb, vals.data() + off, dst,
         scores.data(), c.rows, qStride, c.n0, c.inc);
      for (int64_t r = 0; r < c.rows; ++r) {
        for (int64_t ch = 0; ch < c.dim; ++ch)
          EXPECT_NEAR(dst[r * qStride + ch], want[size_t(r * c.dim + ch)], 2e-6)
              << "row " << r << " channel " << ch
              << (inPlace ? " in place" : "");
        // The gaps between rows stay untouched.
        for (int64_t ch = c.dim; ch < qStride && r + 1 < c.rows; ++ch)
          EXPECT_EQ(dst[r * qStride + ch],
                    inPlace ? q[size_t(r * qStride + ch)] : 12345.0f);
      }
    }
  }
}

TEST(CodegenKernels, Binary) {
  Library lib([&](OpBuilder &b, Location loc) {
    buildBinaryKernel(b, loc, BinaryKind::Add);
    buildBinaryKernel(b, loc, BinaryKind::SwiGLU);
  });
  ASSERT_TRUE(lib.loaded());
  auto add = lib.get<BinaryFn>(binaryKernelName(BinaryKind::Add));
  auto swiglu = lib.get<BinaryFn>(binaryKernelName(BinaryKind::SwiGLU));
  ASSERT_TRUE(add && swiglu);
  for (int64_t n : {0, 1, 7, 8, 100, 1001}) {
    std::vector<float> a = randomVector(size_t(n), uint32_t(n + 1));
    std::vector<float> bv = randomVector(size_t(n), uint32_t(n + 2));
    for (int64_t i = 0; i < n; ++i)
      a[i] *= 8.0f; // exp over a wide range
    if (n > 3) {
      a[0] = -100.0f; // exp(100) overflows: silu is -0
      a[1] = 100.0f;
      a[2] = 0.0f;
    }
    std::vector<float> y(size_t(n) + 1, 7.0f);
    add(a.data(), bv.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(y[i], a[i] + bv[i]);
    EXPECT_EQ(y[n], 7.0f) << "wrote past n";
    swiglu(a.data(), bv.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      double ref = double(a[i]) / (1.0 + std::exp(-double(a[i]))) * bv[i];
      EXPECT_NEAR(y[i], ref, 1e-6 * std::fabs(ref) + 1e-30)
          << "swiglu(" << a[i] << ", " << bv[i] << ")";
    }
    EXPECT_EQ(y[n], 7.0f) << "wrote past n";
  }
}

/// Builds every kernel of a GEMM table.
std::function<void(OpBuilder &, Location)>
gemmTableBuilder(const GemmKernelTable &t) {
  return [t](OpBuilder &b, Location loc) {
    for (int r = 1; r <= t.mr; ++r)
      for (int v = 1; v <= t.nv; ++v)
        for (bool masked : {false, true})
          buildGemmBlockKernel(b, loc, r, v, t.vec, masked);
  };
}

/// Every GEMM micro-kernel of both tables on ragged blocks: bit-exact
/// against one std::fma chain per element in increasing k (what the
/// runtime's AVX-512 / AVX2 kernels compute), close to a double-precision
/// product, and nothing written outside the block.
TEST(CodegenKernels, GemmBlock) {
  std::mt19937 rng(77);
  auto uniform = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  };
  for (bool avx512 : {true, false}) {
    if (avx512 && !__builtin_cpu_supports("avx512f"))
      continue;
    GemmKernelTable t = gemmKernelTable(avx512);
    SCOPED_TRACE(avx512 ? "avx512" : "avx2");
    Library lib(gemmTableBuilder(t), avx512 ? "x86-64-v4" : "x86-64-v3");
    ASSERT_TRUE(lib.loaded());
    for (int r = 1; r <= t.mr; ++r)
      for (int v = 1; v <= t.nv; ++v)
        for (bool masked : {false, true}) {
          std::string name = gemmBlockKernelName(r, v, t.vec, masked);
          auto fn = lib.get<GemmBlockFn>(name);
          ASSERT_TRUE(fn);
          for (int iter = 0; iter < 4; ++iter) {
            int64_t depth = iter == 0 ? 1 : iter == 1 ? 300 : uniform(1, 300);
            int64_t tail = masked ? (iter == 0 ? 1 : uniform(1, t.vec)) : t.vec;
            int64_t cols = int64_t(v - 1) * t.vec + tail;
            int64_t width = int64_t(v) * t.vec;
            int64_t ldx = depth + uniform(0, 5), ldp = width + uniform(0, 9),
                    ldy = width + uniform(1, 9);
            bool accumulate = iter % 2;
            SCOPED_TRACE(name + " depth " + std::to_string(depth) + " tail " +
                         std::to_string(tail) + " accumulate " +
                         std::to_string(accumulate));
            std::vector<float> x = randomVector(size_t(r * ldx), rng());
            std::vector<float> p = randomVector(size_t(depth * ldp), rng());
            std::vector<float> y0 = randomVector(size_t(r * ldy), rng());
            std::vector<float> y = y0;
            fn(x.data(), ldx, p.data(), ldp, y.data(), ldy, depth,
               accumulate ? 1 : 0, tail);
            for (int64_t i = 0; i < r; ++i)
              for (int64_t c = 0; c < ldy; ++c) {
                float got = y[i * ldy + c];
                if (c >= cols) {
                  ASSERT_EQ(got, y0[i * ldy + c])
                      << "wrote row " << i << " column " << c;
                  continue;
                }
                float chain = accumulate ? y0[i * ldy + c] : 0.0f;
                double ref = accumulate ? y0[i * ldy + c] : 0.0;
                double mag = std::fabs(ref);
                for (int64_t k = 0; k < depth; ++k) {
                  float a = x[i * ldx + k], bk = p[k * ldp + c];
                  chain = std::fma(a, bk, chain);
                  ref += double(a) * bk;
                  mag += std::fabs(double(a) * bk);
                }
                ASSERT_EQ(got, chain) << "row " << i << " column " << c;
                ASSERT_NEAR(got, ref, 1e-5 * mag + 1e-30)
                    << "row " << i << " column " << c;
              }
          }
        }
  }
}

/// The runtime's GEMM driver over each generated table gives the same bits
/// as over its own AVX-512 / AVX2 micro-kernels: both run one fused
/// multiply-add chain per element in increasing k, whatever the blocking.
TEST(CodegenKernels, GemmTableInRuntimeDriver) {
  std::string isa = s10rt::gemm::isa();
  if (isa == "generic")
    GTEST_SKIP() << "the runtime's built-in kernels do not fuse";
  std::mt19937 rng(5);
  auto uniform = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  };
  for (bool avx512 : {true, false}) {
    if (avx512 && !__builtin_cpu_supports("avx512f"))
      continue;
    GemmKernelTable t = gemmKernelTable(avx512);
    SCOPED_TRACE(avx512 ? "avx512" : "avx2");
    Library lib(gemmTableBuilder(t), avx512 ? "x86-64-v4" : "x86-64-v3");
    ASSERT_TRUE(lib.loaded());
    std::vector<s10rt::gemm::Kernel> table;
    for (int r = 1; r <= t.mr; ++r)
      for (int v = 1; v <= t.nv; ++v)
        for (bool masked : {false, true})
          table.push_back(lib.get<s10rt::gemm::Kernel>(
              gemmBlockKernelName(r, v, t.vec, masked)));
    s10rt::gemm::KernelSet set{"generated", t.mr, t.vec,
                               t.nv,        t.kc, table.data()};
    for (int iter = 0; iter < 12; ++iter) {
      int64_t rows = uniform(1, 40), cols = uniform(1, 150),
              depth = uniform(1, 600);
      int64_t ldx = depth + uniform(0, 3), ldp = cols + uniform(0, 3),
              ldy = cols + uniform(0, 3);
      bool accumulate = iter % 2;
      std::vector<float> x = randomVector(size_t(rows * ldx), rng());
      std::vector<float> p = randomVector(size_t(depth * ldp), rng());
      std::vector<float> y0 = randomVector(size_t(rows * ldy), rng());
      std::vector<float> mine = y0, theirs = y0;
      s10rt::gemm::multiply(x.data(), ldx, p.data(), ldp, mine.data(), ldy,
                            rows, cols, depth, accumulate, &set);
      s10rt::gemm::multiply(x.data(), ldx, p.data(), ldp, theirs.data(), ldy,
                            rows, cols, depth, accumulate);
      ASSERT_EQ(mine, theirs) << rows << " x " << cols << " x " << depth
                              << " accumulate " << accumulate << " on " << isa;
    }
  }
}

/// The kernels need no F16C, AVX or library call: the baseline x86-64 build
/// links with --no-undefined and decodes bit-exactly too. The newer CPU
/// levels only compile here (the test machine may lack them).
TEST(CodegenKernels, CpuLevels) {
  Case c{"bitmap_s4_f16",
         mixedSpec(Kind::Bitmap, 4, 0, ParamFormat::F16),
         {21, 200, 64}};
  Packed p;
  makePacked(c, 3, p);
  GemvWeight w = GemvWeight::makePacked(p.spec, p.out, p.in);
  GemvWeight dense = GemvWeight::makeDense(DenseType::F16, 3, 40);
  auto populate = [&](OpBuilder &b, Location loc) {
    ASSERT_TRUE(succeeded(buildDecodeKernel(b, loc, w)));
    ASSERT_TRUE(succeeded(buildGemvKernel(b, loc, w)));
    ASSERT_TRUE(succeeded(buildGemvKernel(b, loc, dense)));
    buildRMSNormRowKernel(b, loc, 10, 1e-5, DenseType::F16);
    buildBinaryKernel(b, loc, BinaryKind::SwiGLU);
  };
  Library base(populate, "x86-64");
  ASSERT_TRUE(base.loaded());
  auto decode = base.get<DecodeFn>(decodeKernelName(w));
  ASSERT_TRUE(decode);
  std::vector<float> want(size_t(p.in)), got(size_t(p.in));
  for (int64_t r = 0; r < p.out; ++r) {
    p.m.decodeRow(r, want.data());
    decode(p.bytes.data(), got.data(), r);
    EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * 4), 0);
  }
  // Without F16C, f16 values go through the integer expansion: subnormal,
  // zero, negative and largest weights against a one-hot x.
  auto gemv = base.get<GemvFn>(gemvKernelName(dense));
  ASSERT_TRUE(gemv);
  const uint16_t halves[] = {0x0001, 0x03ff, 0x8000, 0xc500, 0x7bff, 0x3555};
  std::vector<uint16_t> wd(size_t(dense.out * dense.in));
  for (size_t k = 0; k < wd.size(); ++k)
    wd[k] = halves[k % 6];
  for (int64_t j = 0; j < dense.in; ++j) {
    std::vector<float> x(size_t(dense.in), 0.0f), y(size_t(dense.out));
    x[size_t(j)] = 1.0f;
    gemv(reinterpret_cast<const uint8_t *>(wd.data()), x.data(), y.data(), 0,
         dense.out);
    for (int64_t i = 0; i < dense.out; ++i)
      EXPECT_EQ(y[size_t(i)], halfToFloat(wd[size_t(i * dense.in + j)]))
          << "row " << i << " column " << j;
  }
  for (const char *cpu : {"x86-64-v3", "x86-64-v4"}) {
    auto ctx = makeContext();
    Location loc = UnknownLoc::get(ctx.get());
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
    OpBuilder b = OpBuilder::atBlockEnd(module->getBody());
    populate(b, loc);
    std::string error, so;
    ASSERT_TRUE(succeeded(lowerKernelsToLLVM(*module, error))) << error;
    ASSERT_TRUE(succeeded(emitSharedObject(*module, cpu, so, error)))
        << cpu << ": " << error;
    EXPECT_EQ(so.substr(0, 4), "\x7f"
                               "ELF");
  }
}

TEST(CodegenKernels, Errors) {
  auto ctx = makeContext();
  Location loc = UnknownLoc::get(ctx.get());
  std::string messages;
  ScopedDiagnosticHandler handler(ctx.get(), [&](Diagnostic &d) {
    messages += d.str() + "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b = OpBuilder::atBlockEnd(module->getBody());
  // A layout the packer refuses: NM needs the input to be a multiple of M.
  Spec bad = mixedSpec(Kind::NM, 4, 8, ParamFormat::F16, 8, 1);
  EXPECT_TRUE(
      failed(buildGemvKernel(b, loc, GemvWeight::makePacked(bad, 4, 12))));
  EXPECT_NE(messages.find("multiple of M"), std::string::npos) << messages;
  EXPECT_TRUE(failed(
      buildDecodeKernel(b, loc, GemvWeight::makeDense(DenseType::F16, 4, 4))));
  std::string reason;
  EXPECT_TRUE(failed(checkGemvWeight(
      GemvWeight::makePacked(kbitSpec(4, 128, ParamFormat::F16), 2, 1 << 20),
      reason)));
  EXPECT_NE(reason.find("stack"), std::string::npos) << reason;

  buildBinaryKernel(b, loc, BinaryKind::Add);
  std::string error, so;
  ASSERT_TRUE(succeeded(lowerKernelsToLLVM(*module, error))) << error;
  EXPECT_TRUE(failed(emitSharedObject(*module, "no-such-cpu", so, error)));
  EXPECT_NE(error.find("no-such-cpu"), std::string::npos) << error;
}

} // namespace
